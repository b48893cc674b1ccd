#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import Dispatch
import SimKernel
import Synchronization
import SystemPackage

/// Figure 10 (issue 15): how soon a task iterating `Control.events(of:)` returns once it
/// is cancelled, and how soon the waiting thread leaves `WAIT_EVENT`, on the simulator.
///
/// One snapshot with an empty event queue; each cancellation starts a fresh
/// `for try await` over its events, lets the waiter enter `WAIT_EVENT`, cancels the task
/// at a random point of the bounded wait and measures, on the monotonic clock, from
/// `cancel()` to the task's value and to the moment no `WAIT_EVENT` is in flight.
struct EventCancellationBenchmark {
    /// One repetition: the cancellations' latencies in milliseconds.
    struct Sample {
        /// `task.cancel()` → `await task.value` returned.
        var returnedMilliseconds: [Double]
        /// `task.cancel()` → the waiter thread out of `WAIT_EVENT` (sampled every 1 ms).
        var freedMilliseconds: [Double]
    }

    /// The bound of one wait: `events(of:)`'s default.
    static let pollMilliseconds: UInt64 = 50

    /// Cancellations per repetition.
    let cancellations: Int

    /// Runs one repetition (a new simulator each time).
    func repetition(seed: UInt64) throws(BenchError) -> Sample {
        let outcome = Mutex<Result<Sample, BenchError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let cancellations = self.cancellations
        Task.detached {
            let result: Result<Sample, BenchError>
            do {
                result = .success(try await Self.measure(cancellations: cancellations, seed: seed))
            } catch let error as BenchError {
                result = .failure(error)
            } catch {
                result = .failure(BenchError("events(of:) cancellation: \(error)"))
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }

    private static func measure(cancellations: Int, seed: UInt64) async throws -> Sample {
        let machine = SimMachine()
        defer { machine.shutdown() }
        let kernel = WaitCountingKernel(machine.backend)
        let control = try Control(kernel: kernel)
        defer { try? control.close() }
        let id = try control.createSnapshot()
        defer { try? control.destroySnapshot(id) }
        _ = try control.waitEvent(id, timeoutTicks: 0)  // the creation event: the queue is empty now
        let hz = machine.kernel.params.current.hz
        var random = BenchRandom(seed: seed)
        var sample = Sample(returnedMilliseconds: [], freedMilliseconds: [])
        let clock = ContinuousClock()
        for _ in 0..<cancellations {
            let before = kernel.calls.load(ordering: .acquiring)
            let events = control.events(of: id, hz: hz, pollMilliseconds: pollMilliseconds)
            let task = Task {
                var count = 0
                for try await _ in events { count += 1 }
                return count
            }
            // Until this iterator's waiter is inside WAIT_EVENT.
            while kernel.calls.load(ordering: .acquiring) == before || kernel.inFlight.load(ordering: .acquiring) == 0 {
                try await Task.sleep(for: .microseconds(200))
            }
            try await Task.sleep(for: .microseconds(Int64(random.below(pollMilliseconds * 1000))))
            let cancelled = clock.now
            task.cancel()
            let count = try await task.value
            let returned = clock.now - cancelled
            guard count == 0 else { throw BenchError("events(of:) yielded \(count) events of an empty queue") }
            while kernel.inFlight.load(ordering: .acquiring) > 0 {
                try await Task.sleep(for: .milliseconds(1))
            }
            let freed = clock.now - cancelled
            sample.returnedMilliseconds.append(milliseconds(returned))
            sample.freedMilliseconds.append(milliseconds(freed))
        }
        return sample
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// The simulator backend, counting the `WAIT_EVENT` calls made and in flight.
private final class WaitCountingKernel: KernelInterface {
    let inner: SimKernelBackend
    let inFlight = Atomic<Int>(0)
    let calls = Atomic<Int>(0)

    init(_ inner: SimKernelBackend) { self.inner = inner }

    func open(_ path: String, flags: Int32) throws(Errno) -> CInt { try inner.open(path, flags: flags) }
    func close(_ fd: CInt) throws(Errno) { try inner.close(fd) }
    func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt {
        guard request == BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT else { return try inner.ioctl(fd, request, argument) }
        inFlight.add(1, ordering: .releasing)
        calls.add(1, ordering: .releasing)
        defer { inFlight.subtract(1, ordering: .releasing) }
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
