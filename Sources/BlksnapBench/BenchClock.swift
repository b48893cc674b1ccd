#if canImport(Glibc)
import Glibc
#endif

/// CLOCK_MONOTONIC readings for the measurements.
enum BenchClock {
    /// Now, in nanoseconds.
    static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Runs `body` and returns its wall time in nanoseconds.
    static func measure(_ body: () throws -> Void) rethrows -> UInt64 {
        let start = nanoseconds()
        try body()
        return nanoseconds() - start
    }
}
