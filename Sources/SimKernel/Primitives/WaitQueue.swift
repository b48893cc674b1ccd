#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable: the kernel's spinlock + wait queue pair.
///
/// `withLock` runs a closure under the mutex; `wait(until:)` sleeps on the condition
/// (releasing the mutex) until woken or the deadline passes.
final class WaitQueue: @unchecked Sendable {
    // Accessed only by address (`&mutex`) for the pthread calls, which do their own
    // synchronization: the runtime's exclusivity check on each `&` is pure overhead.
    @exclusivity(unchecked) private var mutex = pthread_mutex_t()
    @exclusivity(unchecked) private var condition = pthread_cond_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `body` holding the mutex.
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }

    /// Sleeps until woken or until `deadline` (CLOCK_MONOTONIC nanoseconds) passes.
    /// Must be called holding the mutex (inside `withLock`). Returns false on timeout.
    func wait(untilMonotonicNanoseconds deadline: UInt64) -> Bool {
        var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(&condition, &mutex, &spec) != ETIMEDOUT
    }

    /// Sleeps until woken. Must be called holding the mutex.
    func wait() { pthread_cond_wait(&condition, &mutex) }

    /// Wakes every sleeper.
    func wakeAll() { pthread_cond_broadcast(&condition) }
}

/// CLOCK_MONOTONIC in nanoseconds (the kernel's `ktime_get()`).
package func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
