import Synchronization

/// Asks a running ``Session`` to end, from any thread (a signal handler's thread, a
/// thread waiting for a child process).
///
/// The first reason given wins. The session notices within one poll interval
/// (``SessionConfiguration/pollMilliseconds``).
public final class SessionStopHandle: Sendable {
    private let reason = Mutex<SessionEndReason?>(nil)

    /// Creates a handle with no stop requested.
    public init() {}

    /// Requests the end of the session (ignored when already requested).
    public func requestStop(_ why: SessionEndReason = .stopped(signal: nil)) {
        reason.withLock { current in
            if current == nil { current = why }
        }
    }

    /// The reason, once a stop was requested.
    public var requestedReason: SessionEndReason? { reason.withLock { $0 } }

    /// Whether a stop was requested.
    public var isStopRequested: Bool { requestedReason != nil }
}
