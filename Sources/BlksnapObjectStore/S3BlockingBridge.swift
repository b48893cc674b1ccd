import Dispatch

/// Runs ``S3Client``'s async operations for synchronous callers: ``run(_:)`` blocks the
/// calling thread until the operation finished and returns its result or rethrows its error.
///
/// The operations run as tasks that prefer a `TaskExecutor` of the bridge's own (private
/// serial `DispatchQueue`s), and the caller waits on a semaphore. Call it from threads outside
/// Swift's cooperative pool (a command's main thread, the backup's own threads): with every
/// pool thread blocked (in ``run(_:)`` or elsewhere), test runs showed operations that did
/// not finish, so some step of a request still needs the pool. Async code should call
/// ``client`` directly.
///
/// The bridge does not own the client: shut it down when done (from a synchronous caller:
/// `try bridge.run { try await $0.shutdown() }`).
public final class S3BlockingBridge: Sendable {
    /// The client the operations run on.
    public let client: S3Client
    private let executor: S3BridgeExecutor

    /// A bridge to `client`.
    public init(client: S3Client) {
        self.client = client
        self.executor = S3BridgeExecutor(label: "blksnap.s3.bridge", lanes: 4)
    }

    /// Runs `operation` on the client off the cooperative pool, blocking the calling thread
    /// until it finished; returns its result or rethrows its error (``S3Error`` for a failed
    /// request). Call it from a thread outside the cooperative pool (see the type's
    /// documentation). Do not call it from inside an operation of the same bridge: await the
    /// client there.
    public func run<Result: Sendable>(_ operation: @escaping @Sendable (S3Client) async throws -> Result) throws -> Result {
        let waiter = Waiter<Result>()
        start(operation) { waiter.finish($0) }
        return try waiter.wait()
    }

    /// Starts `operation` on the client off the cooperative pool and returns at once;
    /// `completion` receives its outcome, on the bridge's executor (it must not block for long).
    /// For callers that keep several requests in flight (``S3MultipartWriter``).
    public func start<Result: Sendable>(
        _ operation: @escaping @Sendable (S3Client) async throws -> Result,
        completion: @escaping @Sendable (Swift.Result<Result, any Error>) -> Void
    ) {
        let (client, executor) = (self.client, self.executor)
        Task(executorPreference: executor) {
            do {
                completion(.success(try await operation(client)))
            } catch {
                completion(.failure(error))
            }
            // The task runs on the executor to its end, even when the bridge is gone by then.
            withExtendedLifetime(executor) {}
        }
    }

    /// One outcome handed from the executor to the blocked caller.
    private final class Waiter<Value: Sendable>: @unchecked Sendable {
        // `outcome` is written once before `semaphore` is signalled and read after the wait:
        // the semaphore orders the two accesses.
        private var outcome: Swift.Result<Value, any Error>?
        private let semaphore = DispatchSemaphore(value: 0)

        func finish(_ result: Swift.Result<Value, any Error>) {
            outcome = result
            semaphore.signal()
        }

        func wait() throws -> Value {
            semaphore.wait()
            guard let outcome else { preconditionFailure("the semaphore is signalled after the outcome is set") }
            return try outcome.get()
        }
    }
}
