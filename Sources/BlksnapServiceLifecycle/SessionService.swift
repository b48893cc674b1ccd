import BlksnapKit
import Logging
import ServiceLifecycle
import Synchronization

/// A `Session` as a swift-service-lifecycle `Service`, for a daemon's `ServiceGroup`.
///
/// It lives in a product of its own, `BlksnapServiceLifecycle`, so a program linking
/// only BlksnapKit does not carry swift-service-lifecycle and swift-async-algorithms.
///
/// ```swift
/// let service = SessionService(Session(kernel: kernel, configuration: configuration, storage: storage))
/// let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
///
/// ``run()`` runs the session (the async `Session.run()`) until a graceful shutdown,
/// the task's cancellation, the snapshot's disappearance or another end of the event
/// loop; either way the snapshot is destroyed and the storage released, in order,
/// before it returns. A service runs its session once.
public final class SessionService: Service, Sendable {
    /// Stops the session from anywhere, as a graceful shutdown does.
    public let stopHandle: SessionStopHandle
    private let session: Mutex<Session?>
    private let reason = Mutex<SessionEndReason?>(nil)
    private let logger: Logger

    /// Takes over `session` (not started yet); from now on only the service uses it.
    ///
    /// - Parameters:
    ///   - session: the session to run, not started yet.
    ///   - logger: receives the service's start and end at `.info`; default:
    ///     no output.
    public init(_ session: sending Session,
                logger: Logger = Logger(label: "blksnap.session-service", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.stopHandle = session.stopHandle
        self.session = Mutex(session)
        self.logger = logger
    }

    /// Why the session's event loop ended, once ``run()`` returned.
    public var endReason: SessionEndReason? { reason.withLock { $0 } }

    /// Runs the session to its end and tears it down; a graceful shutdown or the
    /// task's cancellation ends it.
    ///
    /// - Throws: ``SessionError`` from setup or teardown; `SessionError` stage
    ///   `.open` with `EALREADY` when called a second time.
    public func run() async throws {
        guard let session = self.session.withLock({ $0.take() }) else {
            throw SessionError(.open, errno: .alreadyInProcess, "this SessionService has run its session already")
        }
        let handle = stopHandle
        logger.info("session service starting")
        let ended = try await withGracefulShutdownHandler {
            try await session.run()
        } onGracefulShutdown: {
            handle.requestStop()
        }
        reason.withLock { $0 = ended }
        logger.info("session service ended", metadata: ["reason": "\(ended)"])
    }
}
