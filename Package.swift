// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "blksnap-swift",
    products: [
        .library(name: "BlksnapKit", targets: ["BlksnapKit"]),
        .library(name: "SimKernel", targets: ["SimKernel"]),
        .library(name: "CBlksnapUAPI", targets: ["CBlksnapUAPI"]),
        .library(name: "BlksnapBackup", targets: ["BlksnapBackup"]),
        .executable(name: "blksnapctl", targets: ["blksnap-cli"]),
        .executable(name: "blksnap-bench", targets: ["blksnap-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // The v5 user API, byte-exact: structs, enums, constants and request numbers.
        .target(name: "CBlksnapUAPI"),
        // libudev, for device discovery (Debian: libudev-dev).
        .systemLibrary(
            name: "CUdev",
            pkgConfig: "libudev",
            providers: [.apt(["libudev-dev"])]
        ),
        // libfuse3 (Debian: libfuse3-dev), for exporting simulated devices as files.
        .systemLibrary(
            name: "CFuse3",
            pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]
        ),
        // The kernel side, reimplemented: answers the same requests on the same bytes.
        .target(name: "SimKernel", dependencies: ["CBlksnapUAPI"]),
        // The FUSE export of a SimKernel: devices and images as files loop devices can use.
        .target(name: "SimFuse", dependencies: ["SimKernel", "CFuse3"]),
        // The typed Swift API over the ioctls.
        .target(
            name: "BlksnapKit",
            dependencies: [
                "CBlksnapUAPI", "SimKernel", "CUdev",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Backups of snapshot images as qcow2 v3 chains (writer, reader), their SQLite
        // catalog, and the create/verify/restore workflows.
        .target(
            name: "BlksnapBackup",
            dependencies: [
                "BlksnapKit",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // blksnapctl.
        .executableTarget(
            name: "blksnap-cli",
            dependencies: [
                "BlksnapKit", "BlksnapBackup", "SimKernel", "SimFuse",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The benchmark's measurements (a library so the smoke test can run them in process).
        .target(name: "CBenchSupport"),
        .target(name: "BlksnapBench", dependencies: ["BlksnapKit", "BlksnapBackup", "SimKernel", "CBenchSupport"]),
        // blksnap-bench: COW engine and control plane against the I/O they cannot avoid.
        .executableTarget(name: "blksnap-bench", dependencies: ["BlksnapBench"]),
        // C-side ABI probe: compiled by the test build, asserts layout with _Static_assert
        // and reports sizes/offsets/request numbers to the Swift tests.
        .target(name: "CBlksnapABIProbe", dependencies: ["CBlksnapUAPI"], path: "Tests/CBlksnapABIProbe"),
        .testTarget(
            name: "CBlksnapUAPITests",
            dependencies: ["CBlksnapUAPI", "CBlksnapABIProbe"]
        ),
        .testTarget(
            name: "BlksnapKitTests",
            dependencies: ["BlksnapKit", "CBlksnapUAPI", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(
            name: "SimKernelTests",
            dependencies: ["SimKernel", "BlksnapKit", "CBlksnapUAPI", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(name: "SimFuseTests", dependencies: ["SimFuse"]),
        .testTarget(
            name: "BlksnapCLITests",
            dependencies: ["blksnap-cli", "BlksnapKit", "BlksnapBackup", "SimKernel", "SimFuse"]
        ),
        .testTarget(
            name: "BlksnapBackupTests",
            dependencies: ["BlksnapBackup", "BlksnapKit", "SimKernel"]
        ),
        .testTarget(
            name: "BlksnapBenchTests",
            dependencies: ["BlksnapBench"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
