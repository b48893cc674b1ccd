// swift-tools-version: 6.1
// A backup tool built on BlksnapKit, as an adopter would write it: this package
// depends on blksnap-swift by path (use its URL in your own). The same source is
// compiled by blksnap-swift's own build (target blksnap-example-backup) and run against
// the simulator by its tests.
import PackageDescription

let package = Package(
    name: "blksnap-examples",
    dependencies: [.package(name: "blksnap-swift", path: "..")],
    targets: [
        .executableTarget(
            name: "backup-to-file",
            dependencies: [
                .product(name: "BlksnapKit", package: "blksnap-swift"),
                .product(name: "BlksnapSimulator", package: "blksnap-swift"),
            ],
            path: "BackupToFile/Sources/backup-to-file"
        ),
    ],
    swiftLanguageModes: [.v6]
)
