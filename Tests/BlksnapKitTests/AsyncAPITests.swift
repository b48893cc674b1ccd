#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapServiceLifecycle
import BlksnapSimulator
import CBlksnapUAPI
import Logging
import ServiceLifecycle
import SimKernel
import Synchronization
import SystemPackage
import Testing

/// A backend that counts the WAIT_EVENT calls in flight and made, to see whether a
/// waiter thread is still waiting.
private final class WaitCountingKernel: KernelInterface {
    let inner: SimKernelBackend
    let inFlight = Atomic<Int>(0)
    let calls = Atomic<Int>(0)

    init(_ inner: SimKernelBackend) { self.inner = inner }

    func open(_ path: String, flags: Int32) throws(Errno) -> CInt { try inner.open(path, flags: flags) }
    func close(_ fd: CInt) throws(Errno) { try inner.close(fd) }
    func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt {
        guard request == BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT else { return try inner.ioctl(fd, request, argument) }
        calls.add(1, ordering: .relaxed)
        inFlight.add(1, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        return try inner.ioctl(fd, request, argument)
    }
    func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        try inner.pread(fd, into: buffer, at: offsetBytes)
    }
    func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        try inner.pwrite(fd, from: buffer, at: offsetBytes)
    }
    func stat(_ path: String) throws(Errno) -> KernelFileStatus { try inner.stat(path) }
}

/// A storage provider that records, at release, how many snapshots and images the
/// simulator still had (release must come after destroy and the images' removal).
private final class ReleaseRecorder: DifferenceStorageProvider {
    final class Log: Sendable {
        let entries = Mutex<[String]>([])
    }

    let inner: DeviceRangeProvider
    let kernel: SimKernel
    let log: Log

    init(_ inner: DeviceRangeProvider, kernel: SimKernel, log: Log) {
        self.inner = inner
        self.kernel = kernel
        self.log = log
    }

    func nextPortion(minimumSectors: UInt64) throws(StorageError) -> StoragePortion? {
        try inner.nextPortion(minimumSectors: minimumSectors)
    }

    func release() throws(StorageError) {
        let snapshots = kernel.snapshotIDs.count
        let images = kernel.listDevices().filter(\.isImage).count
        log.entries.withLock { $0.append("release snapshots=\(snapshots) images=\(images)") }
        try inner.release()
    }

    var remainingSectors: UInt64? { inner.remainingSectors }
}

/// Waits (bounded) until `condition` holds; false if it never did.
private func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<500 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

@Suite("async API on the simulator")
struct AsyncAPITests {
    @Test("events(of:) yields the creation event, then ends when the snapshot is destroyed")
    func eventsEndOnDestroy() async throws {
        let fixture = try SimSessionFixture.make()
        let control = try Control(kernel: fixture.backend)
        defer { try? control.close() }
        let id = try control.createSnapshot()
        var iterator = control.events(of: id, hz: fixture.kernel.params.current.hz).makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first?.code == 0, "v5 queues low_free_space at creation")
        try control.destroySnapshot(id)
        let next = try await iterator.next()
        #expect(next == nil, "ESRCH ends the sequence")
    }

    @Test("cancelling the task iterating events(of:) ends it and the waiter thread stops waiting")
    func eventsCancellation() async throws {
        let fixture = try SimSessionFixture.make()
        let kernel = WaitCountingKernel(fixture.backend)
        let control = try Control(kernel: kernel)
        defer { try? control.close() }
        let id = try control.createSnapshot()
        defer { try? control.destroySnapshot(id) }
        _ = try control.waitEvent(id, timeoutTicks: 0)  // the creation event: now the queue is empty
        let before = kernel.calls.load(ordering: .relaxed)
        let events = control.events(of: id, hz: fixture.kernel.params.current.hz, pollMilliseconds: 50)
        let task = Task {
            var count = 0
            for try await _ in events { count += 1 }
            return count
        }
        #expect(await eventually { kernel.inFlight.load(ordering: .relaxed) > 0 }, "the waiter is in WAIT_EVENT")
        let clock = ContinuousClock()
        let cancelled = clock.now
        task.cancel()
        let count = try await task.value
        let returned = clock.now - cancelled
        #expect(count == 0)
        #expect(await eventually { kernel.inFlight.load(ordering: .relaxed) == 0 }, "the waiter left WAIT_EVENT")
        let freed = clock.now - cancelled
        let settled = kernel.calls.load(ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(200))
        #expect(kernel.calls.load(ordering: .relaxed) == settled, "no WAIT_EVENT after cancellation")
        #expect(settled > before)
        print("events(of:) cancellation: task returned after \(returned), waiter thread free after ≤ \(freed) (50 ms waits)")
    }

    @Test("cancelling the task running a session tears it down like SIGTERM: no snapshot, image or storage left")
    func sessionCancellation() async throws {
        let fixture = try SimSessionFixture.make()
        let log = ReleaseRecorder.Log()
        let provider = ReleaseRecorder(try DeviceRangeProvider(kernel: fixture.backend, devicePath: fixture.storagePath),
                                       kernel: fixture.kernel, log: log)
        let (events, deliver) = SessionEventStream.make()
        let session = Session(kernel: fixture.backend,
                              configuration: SessionConfiguration(devices: fixture.devices, pollMilliseconds: 20),
                              storage: provider, onEvent: deliver)
        let task = Task { try await session.run() }
        var seen: [SessionEvent] = []
        for await event in events {
            seen.append(event)
            if case .started = event { break }
        }
        #expect(try fixture.collect().count == 1)
        #expect(fixture.kernel.listDevices().filter(\.isImage).count == 1)
        task.cancel()
        let reason = try await task.value
        #expect(reason == .stopped(signal: nil))
        #expect(try fixture.collect().isEmpty)
        #expect(fixture.kernel.listDevices().filter(\.isImage).isEmpty)
        #expect(log.entries.withLock { $0 } == ["release snapshots=0 images=0"])
        var rest: [SessionEvent] = []
        for await event in events { rest.append(event) }
        #expect(rest.last == .ended(reason: .stopped(signal: nil)))
    }

    @Test("a session cancelled before it started still ends with nothing left")
    func sessionCancelledEarly() async throws {
        let fixture = try SimSessionFixture.make()
        let log = ReleaseRecorder.Log()
        let provider = ReleaseRecorder(try DeviceRangeProvider(kernel: fixture.backend, devicePath: fixture.storagePath),
                                       kernel: fixture.kernel, log: log)
        let session = Session(kernel: fixture.backend,
                              configuration: SessionConfiguration(devices: fixture.devices, pollMilliseconds: 20),
                              storage: provider)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await session.run()
        }
        #expect(try await task.value == .stopped(signal: nil))
        #expect(try fixture.collect().isEmpty)
        #expect(fixture.kernel.listDevices().filter(\.isImage).isEmpty)
        #expect(log.entries.withLock { $0 } == ["release snapshots=0 images=0"])
    }

    @Test("a ServiceGroup's graceful shutdown tears a SessionService down the same way")
    func serviceGroupShutdown() async throws {
        let fixture = try SimSessionFixture.make()
        let log = ReleaseRecorder.Log()
        let provider = ReleaseRecorder(try DeviceRangeProvider(kernel: fixture.backend, devicePath: fixture.storagePath),
                                       kernel: fixture.kernel, log: log)
        let (events, deliver) = SessionEventStream.make()
        let service = SessionService(Session(kernel: fixture.backend,
                                             configuration: SessionConfiguration(devices: fixture.devices, pollMilliseconds: 20),
                                             storage: provider, onEvent: deliver))
        let group = ServiceGroup(services: [service],
                                 logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let running = Task { try await group.run() }
        for await event in events {
            if case .started = event { break }
        }
        #expect(try fixture.collect().count == 1)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(service.endReason == .stopped(signal: nil))
        #expect(try fixture.collect().isEmpty)
        #expect(fixture.kernel.listDevices().filter(\.isImage).isEmpty)
        #expect(log.entries.withLock { $0 } == ["release snapshots=0 images=0"])
        await #expect(throws: SessionError.self) { try await service.run() }
    }
}
