// The code of the article "Keep storage ahead with a session"
// (Sources/BlksnapKit/BlksnapKit.docc/KeepStorageAheadWithASession.md). Each region between
// `// DOC-BEGIN name` and `// DOC-END name` is one ```swift block of the article, in order;
// DocCArticleTests checks that they are identical. The simulator article's check runs
// withSnapshot(of:storagePath:kernel:_:) on SimKernelBackend.

// DOC-BEGIN make-session
import BlksnapKit
import BlksnapServiceLifecycle
import Logging
import ServiceLifecycle

/// A session for `devices` with difference storage on the block device `storagePath`
/// (all of it), appended 1 GiB at a time and 8 GiB at most.
func makeSession(devices: [String], storagePath: String, kernel: any KernelInterface = LinuxKernel(),
                 onEvent: @escaping @Sendable (SessionEvent) -> Void) throws(StorageError) -> Session {
    let configuration = SessionConfiguration(
        devices: devices,
        stepSectors: 2_097_152,    // 1 GiB per append; also kept ahead of what the kernel asked
        limitSectors: 16_777_216,  // never more than 8 GiB in all
        endOnCorruption: true)     // end at the first corrupted event instead of waiting
    let storage = try DeviceRangeProvider(kernel: kernel, devicePath: storagePath)
    return Session(kernel: kernel, configuration: configuration, storage: storage, onEvent: onEvent)
}
// DOC-END make-session

// DOC-BEGIN file-storage
/// The same with the storage in files preallocated under `directory`, on a filesystem
/// that is not on a snapshotted device (real kernel only: the files are mapped to
/// sectors of the filesystem's block device with FIEMAP).
func makeFileBackedSession(devices: [String], directory: String,
                           onEvent: @escaping @Sendable (SessionEvent) -> Void) throws(StorageError) -> Session {
    let storage = try FileStorageProvider(directory: directory, snapshottedDevices: devices,
                                          limitBytes: 8 << 30)  // removed by release(), after destroy
    return Session(kernel: LinuxKernel(), configuration: SessionConfiguration(devices: devices, stepSectors: 2_097_152),
                   storage: storage, onEvent: onEvent)
}
// DOC-END file-storage

// DOC-BEGIN with-snapshot
/// Runs a session over `devices` until `body` is done with their images, then tears it
/// down in order — destroy, wait for the image nodes to vanish, release the storage —
/// before returning what `body` returned.
func withSnapshot<T>(of devices: [String], storagePath: String, kernel: any KernelInterface = LinuxKernel(),
                     _ body: ([SessionImage]) throws -> T) async throws -> T {
    let (events, continuation) = AsyncStream.makeStream(of: SessionEvent.self)
    let session = try makeSession(devices: devices, storagePath: storagePath, kernel: kernel,
                                  onEvent: { continuation.yield($0) })
    // create, attach, add, first portion, take; then the event loop, on a thread of its own
    let running = Task { defer { continuation.finish() }; return try await session.run() }
    var outcome: Result<T, any Error>?
    for await event in events {  // ends after teardown, or when this task is cancelled
        switch event {
        case .started(_, let images, _, _):
            outcome = Result { try body(images) }  // the session answers the kernel meanwhile
            running.cancel()                       // ends the event loop; teardown follows
        case .limitReached, .corrupted, .warning:
            print("session: \(event)")
        default:
            break
        }
    }
    running.cancel()
    let reason = try await running.value  // after teardown; the session's own error, if any
    if case .corrupted(let device, _) = reason { throw SnapshotCorrupted(device: device) }
    guard let outcome else { throw CancellationError() }  // this task was cancelled before take
    return try outcome.get()
}

/// The snapshot of `device` stopped being a point-in-time copy while in use: what was
/// read from its image cannot be trusted.
struct SnapshotCorrupted: Error {
    var device: String
}
// DOC-END with-snapshot

// DOC-BEGIN session-service
/// A daemon that keeps a snapshot of `devices` until SIGTERM or SIGINT, then tears it down.
func runSnapshotDaemon(devices: [String], storagePath: String, logger: Logger) async throws {
    let session = try makeSession(devices: devices, storagePath: storagePath,
                                  onEvent: { logger.info("\($0)") })
    let service = SessionService(session, logger: logger)
    let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()  // the session's end (snapshot destroyed elsewhere, corruption) ends it too
    logger.info("snapshot session ended: \(service.endReason.map { "\($0)" } ?? "before its event loop")")
}
// DOC-END session-service
