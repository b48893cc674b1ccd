#if canImport(Glibc)
import Glibc
#endif

/// A reader/writer lock: the kernel's `rw_semaphore` (snapshot `rw_lock`, global
/// `snapshots_lock`) and the request-queue freeze of a disk (`bio_queue_enter` is the
/// shared side, `blk_mq_freeze_queue` the exclusive side: a freeze waits for every
/// in-flight I/O and blocks new I/O until the queue is unfrozen).
///
/// Holders may sleep (unlike a spinlock). The lock lives on the heap so that its
/// address stays stable for pthreads.
final class RWSemaphore: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// `down_read` … `up_read` around `body`.
    func withReadLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// `down_write` … `up_write` around `body`.
    func withWriteLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
