// blksnap-readme-example: the library example of README.md, compiled by every build and
// run by Tests/BlksnapKitTests/ReadmeExampleTests.swift. README.md's ```swift block under
// "Library example" is exactly the text between the README-BEGIN and README-END lines
// below (the test compares them), so the README cannot show code that does not build.
//
//   blksnap-readme-example DEVICE STORAGE OUTPUT
//
// Takes a snapshot of the block device DEVICE on the real blksnap v5 module, with
// difference storage on the block device STORAGE, copies the point-in-time image to the
// file OUTPUT while DEVICE stays in use, and destroys the snapshot.
//
// Exit status: 0 when OUTPUT holds the image ("copied N bytes" on standard output);
// 64 when the arguments are not DEVICE STORAGE OUTPUT (usage on standard error); 1 when
// anything fails (one line on standard error, "blksnap-readme-example: " and the error:
// a missing device or storage path, the module not loaded, a refused request).

// README-BEGIN
import BlksnapKit
import Foundation

/// Snapshots `device` (difference storage on the block device `storage`, appended as the
/// kernel asks), copies its image to the file `output`, destroys the snapshot.
func backUp(_ device: String, storage: String, to output: String) async throws -> UInt64 {
    let kernel = LinuxKernel()  // the module; BlksnapSimulator has drop-in simulator backends
    let (events, continuation) = AsyncStream.makeStream(of: SessionEvent.self)
    let session = Session(kernel: kernel, configuration: SessionConfiguration(devices: [device]),
                          storage: try DeviceRangeProvider(kernel: kernel, devicePath: storage),
                          onEvent: { continuation.yield($0) })
    // create, attach, add, append storage, take; then answer the kernel's events
    let running = Task { defer { continuation.finish() }; return try await session.run() }
    var copied: Result<UInt64, any Error>?
    for await case .started(_, let images, _, _) in events where copied == nil {
        copied = Result {
            let image = try SnapshotImageReader(path: images[0].imagePath, kernel: kernel)
            try Data().write(to: URL(fileURLWithPath: output))
            let file = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            defer { try? file.close() }
            try image.forEachBlock(of: image.wholeImage) { _, bytes in try file.write(contentsOf: bytes) }
            return image.capacityBytes
        }
        running.cancel()  // teardown: destroy, wait for the image to vanish, release storage
    }
    _ = try await running.value  // the session's own error, if it failed
    return try copied?.get() ?? 0
}
// README-END

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: blksnap-readme-example DEVICE STORAGE OUTPUT\n".utf8))
    exit(64)
}
do {
    let bytes = try await backUp(arguments[0], storage: arguments[1], to: arguments[2])
    print("copied \(bytes) bytes")
} catch {
    FileHandle.standardError.write(Data("blksnap-readme-example: \(error)\n".utf8))
    exit(1)
}
