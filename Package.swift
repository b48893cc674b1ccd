// swift-tools-version: 6.1
import PackageDescription

/// `BLKSNAP_CORE_ONLY=1` (scripts/sanitize.sh): the manifest keeps the core layers only
/// (UAPI, SimKernel, SimFuse, BlksnapKit, BlksnapSimulator, conformance, their tests), so
/// the sanitizer builds do not compile SwiftNIO, BoringSSL (nio-ssl, crypto) or SQLite.
let coreOnly = Context.environment["BLKSNAP_CORE_ONLY"] == "1"
/// What the core-only manifest leaves out: the servers, backups, CLI, bench and their tests.
let heavyTargets: Set<String> = [
    "BlksnapNBD", "BlksnapBackup", "CZstd", "CZlib", "blksnap-cli", "CBenchSupport", "BlksnapBench", "blksnap-bench",
    "BlksnapCLITests", "BlksnapBackupTests", "BlksnapNBDTests", "BlksnapBenchTests",
    "BlksnapObjectStore", "BlksnapObjectStoreTests", "BlksnapBackupS3", "CephTestSupport",
]
let heavyProducts: Set<String> = ["BlksnapNBD", "BlksnapBackup", "BlksnapObjectStore", "BlksnapBackupS3", "blksnapctl", "blksnap-bench"]
let heavyPackages: Set<String> = [
    "swift-argument-parser", "swift-nio", "swift-nio-ssl", "GRDB.swift", "swift-crypto", "async-http-client",
]

let package = Package(
    name: "blksnap-swift",
    products: [
        .library(name: "BlksnapKit", targets: ["BlksnapKit"]),
        .library(name: "BlksnapDrivers", targets: ["BlksnapDrivers", "BlksnapVAL6", "BlksnapVAL7"]),
        .library(name: "BlksnapServiceLifecycle", targets: ["BlksnapServiceLifecycle"]),
        .library(name: "BlksnapSimulator", targets: ["BlksnapSimulator"]),
        .library(name: "SimKernel", targets: ["SimKernel"]),
        .library(name: "CBlksnapUAPI", targets: ["CBlksnapUAPI"]),
        .library(name: "CVeeamBlkSnapV1UAPI", targets: ["CVeeamBlkSnapV1UAPI"]),
        .library(name: "CVeeamBlksnapUAPI", targets: ["CVeeamBlksnapUAPI"]),
        .library(name: "BlksnapNBD", targets: ["BlksnapNBD"]),
        .library(name: "BlksnapBackup", targets: ["BlksnapBackup"]),
        .library(name: "BlksnapObjectStore", targets: ["BlksnapObjectStore"]),
        .library(name: "BlksnapBackupS3", targets: ["BlksnapBackupS3"]),
        .executable(name: "blksnapctl", targets: ["blksnap-cli"]),
        .executable(name: "blksnap-bench", targets: ["blksnap-bench"]),
        .executable(name: "blksnap-conformance", targets: ["blksnap-conformance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The v5 user API, byte-exact: structs, enums, constants and request numbers.
        .target(name: "CBlksnapUAPI"),
        // The VAL-6.x ("blk_snap" v1) user API, byte-exact: structs, enums, constants and request numbers.
        .target(name: "CVeeamBlkSnapV1UAPI"),
        // The VAL-7.0 ("veeamblksnap" + bdevfilter) user API, byte-exact; reuses v5's kernel names, so never with CBlksnapUAPI in one C file.
        .target(name: "CVeeamBlksnapUAPI"),
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
        // libzstd (Debian: libzstd-dev), for zstd-compressed qcow2 clusters in backups.
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // zlib (Debian: zlib1g-dev), for qcow2's default (raw deflate) compressed clusters.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The kernel side, reimplemented: answers the same requests on the same bytes.
        .target(name: "SimKernel", dependencies: ["CBlksnapUAPI", "CVeeamBlkSnapV1UAPI", "CVeeamBlksnapUAPI"]),
        // SimWire: a SimKernel served over a Unix socket (the server and the wire protocol its client speaks).
        .target(name: "SimWire", dependencies: ["SimKernel"]),
        // The FUSE export of a SimKernel: devices and images as files loop devices can use.
        .target(name: "SimFuse", dependencies: ["SimKernel", "CFuse3"]),
        // The typed Swift API over the ioctls. Links no simulator.
        .target(
            name: "BlksnapKit",
            dependencies: [
                "CBlksnapUAPI", "CUdev",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The VAL-7.0 driver: BlksnapDriver over /dev/veeamblksnap and /dev/bdevfilter.
        .target(
            name: "BlksnapVAL7",
            dependencies: ["BlksnapKit", "CVeeamBlksnapUAPI", .product(name: "SystemPackage", package: "swift-system")]
        ),
        // The VAL-6.x driver: BlksnapDriver over /dev/veeamblksnap (the "blk_snap" v1 API).
        .target(
            name: "BlksnapVAL6",
            dependencies: ["BlksnapKit", "CVeeamBlkSnapV1UAPI", .product(name: "SystemPackage", package: "swift-system")]
        ),
        // The driver of whichever module is loaded: detection plus the v5, VAL-6.x and VAL-7.0 drivers.
        .target(name: "BlksnapDrivers", dependencies: ["BlksnapKit", "BlksnapVAL6", "BlksnapVAL7"]),
        // A Session as a swift-service-lifecycle Service (SessionService), for daemons'
        // ServiceGroups; apart from BlksnapKit so a program on the kit alone links no lifecycle.
        .target(
            name: "BlksnapServiceLifecycle",
            dependencies: [
                "BlksnapKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The simulator as BlksnapKit backends: SimKernel in process, or a client of
        // `blksnapctl sim serve`. For tests, demos and tools' own test suites.
        .target(
            name: "BlksnapSimulator",
            dependencies: [
                "BlksnapKit", "SimKernel", "SimWire", "CBlksnapUAPI", "CVeeamBlkSnapV1UAPI", "CVeeamBlksnapUAPI",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // NBD export of snapshot images (and any NBDExportSource): protocol machine + SwiftNIO server.
        .target(
            name: "BlksnapNBD",
            dependencies: [
                "BlksnapKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Backups of snapshot images as qcow2 v3 chains (writer, reader), their SQLite
        // catalog, the create/verify/restore workflows, and a backup as an NBD export
        // (Serve/, a BlksnapNBD source: the backup layer uses the NBD layer, never the reverse).
        .target(
            name: "BlksnapBackup",
            dependencies: [
                "BlksnapKit", "BlksnapNBD", "CZstd", "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // S3-compatible object storage (AWS S3, Ceph RGW): SigV4 signing, configuration from the
        // AWS environment and files, and an S3 client over async-http-client, for backup repositories.
        .target(
            name: "BlksnapObjectStore",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Backup repositories in S3 buckets: the bucket layout, point manifests, the commit
        // protocol, and the local catalog cache rebuilt from the manifests.
        .target(name: "BlksnapBackupS3", dependencies: ["BlksnapBackup", "BlksnapObjectStore"]),
        // blksnapctl.
        .executableTarget(
            name: "blksnap-cli",
            dependencies: [
                "BlksnapKit", "BlksnapDrivers", "BlksnapSimulator", "BlksnapNBD", "BlksnapBackup", "BlksnapBackupS3", "BlksnapObjectStore",
                "SimKernel", "SimWire", "SimFuse",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The benchmark's measurements (a library so the smoke test can run them in process).
        .target(name: "CBenchSupport"),
        .target(name: "BlksnapBench", dependencies: ["BlksnapKit", "BlksnapSimulator", "BlksnapBackup", "BlksnapBackupS3", "BlksnapObjectStore",
                                               "BlksnapNBD", "SimKernel", "SimWire", "CBenchSupport",
                                               "CBlksnapUAPI", .product(name: "SystemPackage", package: "swift-system")]),
        // blksnap-bench: COW engine and control plane against the I/O they cannot avoid.
        .executableTarget(name: "blksnap-bench", dependencies: ["BlksnapBench"]),
        // The smallest program on BlksnapKit alone: its binary must carry no simulator.
        .executableTarget(name: "blksnap-kit-only", dependencies: ["BlksnapKit"], path: "Tests/Fixtures/KitOnly"),
        // README.md's library example, compiled (its text is checked against README.md by ReadmeExampleTests).
        .executableTarget(name: "blksnap-readme-example", dependencies: ["BlksnapKit"], path: "Tests/Fixtures/ReadmeExample"),
        // The code of the DocC articles (Sources/BlksnapKit/BlksnapKit.docc), compiled: each ```swift
        // block of an article is a marked region of its file here (DocCArticleTests compares them and
        // runs the simulator article's check through this executable).
        .executableTarget(
            name: "blksnap-doc-snippets",
            dependencies: [
                "BlksnapKit", "BlksnapServiceLifecycle", "BlksnapSimulator", "SimKernel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/Fixtures/DocSnippets"
        ),
        // The conformance scenarios: one body of code over any KernelInterface, printing a
        // normalized transcript (a library so a host test can run it in process).
        .target(
            name: "BlksnapConformance",
            dependencies: ["BlksnapKit", "BlksnapDrivers", "BlksnapSimulator", "SimKernel", "CBlksnapUAPI", "CVeeamBlksnapUAPI",
                           .product(name: "SystemPackage", package: "swift-system")]
        ),
        // blksnap-conformance: the scenarios on the real module (--backend kernel) or SimKernel (--backend sim).
        .executableTarget(name: "blksnap-conformance", dependencies: ["BlksnapConformance", "BlksnapKit"]),
        // Examples/: the backup-to-file tool of the Examples package, compiled here too so
        // every build checks it and the tests run it against the simulator.
        .executableTarget(
            name: "blksnap-example-backup", dependencies: ["BlksnapKit", "BlksnapSimulator"],
            path: "Examples/BackupToFile/Sources/backup-to-file"
        ),
        // C-side ABI probe: compiled by the test build, asserts layout with _Static_assert
        // and reports sizes/offsets/request numbers to the Swift tests.
        .target(name: "CBlksnapABIProbe", dependencies: ["CBlksnapUAPI"], path: "Tests/CBlksnapABIProbe"),
        .testTarget(
            name: "CBlksnapUAPITests",
            dependencies: ["CBlksnapUAPI", "CBlksnapABIProbe"]
        ),
        // C-side ABI probes of the two Veeam field-module APIs, as CBlksnapABIProbe for v5.
        .target(name: "CVeeamBlkSnapV1ABIProbe", dependencies: ["CVeeamBlkSnapV1UAPI"], path: "Tests/CVeeamBlkSnapV1ABIProbe"),
        .target(name: "CVeeamBlksnapABIProbe", dependencies: ["CVeeamBlksnapUAPI"], path: "Tests/CVeeamBlksnapABIProbe"),
        .testTarget(
            name: "VeeamUAPITests",
            dependencies: ["CVeeamBlkSnapV1UAPI", "CVeeamBlksnapUAPI", "CVeeamBlkSnapV1ABIProbe", "CVeeamBlksnapABIProbe", "CBlksnapUAPI"]
        ),
        .testTarget(
            name: "BlksnapKitTests",
            dependencies: [
                "BlksnapKit", "BlksnapDrivers", "BlksnapVAL6", "BlksnapVAL7", "BlksnapServiceLifecycle", "BlksnapSimulator",
                "SimKernel", "SimWire", "CBlksnapUAPI", "CVeeamBlkSnapV1UAPI", "CVeeamBlksnapUAPI",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "SimKernelTests",
            dependencies: ["SimKernel", "SimWire", "BlksnapKit", "BlksnapSimulator", "CBlksnapUAPI", "CVeeamBlksnapUAPI", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(name: "SimFuseTests", dependencies: ["SimFuse"]),
        // The Ceph gateway fixture (scripts/ceph.sh and its suite trait), shared by the test
        // targets that need a real S3 service: the object store's and the CLI's.
        .target(name: "CephTestSupport", dependencies: ["BlksnapObjectStore"], path: "Tests/CephTestSupport"),
        .testTarget(
            name: "BlksnapCLITests",
            dependencies: ["blksnap-cli", "BlksnapKit", "BlksnapSimulator", "BlksnapBackup", "SimKernel", "SimFuse", "CephTestSupport"]
        ),
        .testTarget(
            name: "BlksnapBackupTests",
            dependencies: ["BlksnapBackup", "BlksnapKit", "BlksnapNBD", "BlksnapSimulator", "SimKernel"]
        ),
        .testTarget(name: "BlksnapConformanceTests", dependencies: ["BlksnapConformance"]),
        .testTarget(
            name: "BlksnapNBDTests",
            dependencies: ["BlksnapNBD", "BlksnapKit", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(
            name: "BlksnapObjectStoreTests",
            dependencies: [
                "BlksnapObjectStore", "BlksnapBackupS3", "BlksnapBackup", "BlksnapKit", "BlksnapSimulator", "CephTestSupport",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BlksnapBenchTests",
            dependencies: ["BlksnapBench"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

if coreOnly {
    package.targets.removeAll { heavyTargets.contains($0.name) }
    package.products.removeAll { heavyProducts.contains($0.name) }
    package.dependencies.removeAll { dependency in
        guard case .sourceControl(_, let location, _) = dependency.kind else { return false }
        return heavyPackages.contains { location.hasSuffix("/" + $0) }
    }
}
