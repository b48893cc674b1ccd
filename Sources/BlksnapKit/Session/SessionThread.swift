#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// A ``Session`` run on a thread of its own while the caller works on the images: what a
/// backup does. ``start()`` returns once the snapshot is taken (or throws why not, after
/// the session rolled back); the thread then runs the event loop (storage kept ahead of
/// demand) until something stops it (``Session/stopHandle``), tears the session down, and
/// ``join()`` returns how it ended.
///
/// ```swift
/// let thread = SessionThread(session)
/// try thread.start()
/// // … read session.images …
/// session.stopHandle.requestStop(.stopped(signal: nil))
/// let ended = thread.join()
/// ```
///
/// The async ``Session/run()-bxye`` is the same for callers in a task.
public final class SessionThread: @unchecked Sendable {
    /// How the session ended.
    public struct Ended: Sendable {
        /// Why the event loop ended (nil when ``SessionThread/start()`` failed).
        public var reason: SessionEndReason?
        /// The teardown's failure, if any.
        public var teardownError: SessionError?
    }

    private let session: Session
    private let started = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    // Written by the session's thread before it signals; read after the wait.
    private var startError: SessionError?
    private var ended = Ended()

    /// Prepares to run `session` (nothing happens until ``start()``). The session must
    /// not be used by another thread meanwhile, except through its stop handle.
    public init(_ session: Session) {
        self.session = session
    }

    /// Starts the thread; returns once the snapshot is taken.
    ///
    /// - Throws: the ``SessionError`` of ``Session/start()`` (the session rolled back and
    ///   the thread ended).
    public func start() throws(SessionError) {
        DedicatedThread.spawn { [self] in
            do throws(SessionError) {
                try session.start()
            } catch {
                startError = error
                started.signal()
                finished.signal()
                return
            }
            started.signal()
            ended.reason = session.runEventLoop()
            do throws(SessionError) {
                try session.teardown()
            } catch {
                ended.teardownError = error
            }
            finished.signal()
        }
        started.wait()
        if let startError {
            finished.wait()
            throw startError
        }
    }

    /// Waits until the event loop ended and the teardown finished.
    public func join() -> Ended {
        finished.wait()
        return ended
    }
}
