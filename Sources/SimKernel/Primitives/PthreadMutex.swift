#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a pthread mutex, with the `withLock` shape of
/// `Synchronization.Mutex`.
///
/// ThreadSanitizer on Linux reports false races on values guarded by
/// `Synchronization.Mutex` (its futex-based lock is invisible to TSan); the pthread
/// mutex is intercepted, so code run under `scripts/sanitize.sh` uses this type where
/// TSan flagged a `Mutex`.
package final class PthreadMutex<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// Guards `value`.
    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    package func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
