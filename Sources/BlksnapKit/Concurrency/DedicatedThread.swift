#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Blocking work off Swift's cooperative pool: each call gets a thread of its own.
///
/// `WAIT_EVENT` sleeps in the kernel, and a session's event loop runs for hours; either
/// would pin one of the pool's few threads (one per core) if run from a task. The async
/// API (``Control/events(of:hz:pollMilliseconds:)``, the async `Session.run()`) runs the
/// blocking calls here and resumes a continuation.
enum DedicatedThread {
    /// Runs `body` on a new detached thread (on the calling thread if none can be made).
    static func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable {  // immutable; handed to exactly one thread
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        pthread_attr_destroy(&attributes)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            body()
        }
    }
}

/// A non-`Sendable` value handed from one thread to another, used by one at a time.
///
/// The sender gives up the value (it was `sending`); the receiver takes it once. This is
/// the ownership transfer Swift's region checker cannot see through a C thread start.
///
/// `@unchecked`: `value` is read and cleared only under `lock`, and whoever takes it is
/// its only user from then on.
final class Handover<Value>: @unchecked Sendable {
    private let lock = Mutex(())
    private var value: Value?

    /// Takes ownership of a value its sender gives up.
    init(_ value: sending Value) { self.value = value }

    /// Wraps a value whose owner is suspended until the receiver is done with it (the
    /// caller's task awaits the thread that uses it): exclusive use, though the checker
    /// cannot prove it.
    init(suspendedOwnerOf value: Value) { self.value = value }

    /// The value, the first time; nil afterwards.
    func take() -> Value? {
        lock.withLock { _ in
            let taken = value
            value = nil
            return taken
        }
    }
}
