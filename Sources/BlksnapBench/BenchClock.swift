#if canImport(Glibc)
import Glibc
#endif

/// Clock readings for the measurements.
///
/// Data-path figures use the calling thread's CPU time (user + system): every
/// simulated and baseline I/O runs synchronously in the calling thread on files whose
/// pages are in memory, so that is the whole cost, and it does not count the time
/// spent waiting for a CPU on a loaded machine. Latencies across threads or processes
/// (socket round trips, process start) use the monotonic wall clock.
enum BenchClock {
    /// CLOCK_MONOTONIC now, in nanoseconds.
    static func nanoseconds() -> UInt64 { read(CLOCK_MONOTONIC) }

    /// CPU time of the calling thread, in nanoseconds.
    static func threadCPUNanoseconds() -> UInt64 { read(CLOCK_THREAD_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Runs `body` and returns the calling thread's CPU time it took, in nanoseconds.
    static func measure(_ body: () throws -> Void) rethrows -> UInt64 {
        let start = threadCPUNanoseconds()
        try body()
        return threadCPUNanoseconds() - start
    }
}
