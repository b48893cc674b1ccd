/// How often and how long ``S3Client`` retries a request that failed in a way that may pass
/// (``S3Error/isRetryable``: 5xx, `SlowDown`, timeouts, lost connections).
///
/// The delay before retry `n` (1-based) is drawn uniformly from `0...min(maxDelay,
/// baseDelay × 2^(n-1))` ("full jitter"), so clients that failed together do not retry
/// together. Every request the client sends can be repeated: each attempt is signed anew and
/// sends the same bytes.
public struct S3RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included (1: no retry).
    public var maxAttempts: Int
    /// The cap of the first retry's delay.
    public var baseDelay: Duration
    /// The largest delay between two attempts.
    public var maxDelay: Duration

    /// 4 attempts, delays capped at 0.2 s, 0.4 s, 0.8 s.
    public static let standard = S3RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(200), maxDelay: .seconds(5))
    /// One attempt: errors come back at once.
    public static let none = S3RetryPolicy(maxAttempts: 1, baseDelay: .zero, maxDelay: .zero)

    /// A policy; `maxAttempts` below 1 counts as 1.
    public init(maxAttempts: Int, baseDelay: Duration, maxDelay: Duration) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The largest delay before retry `retry` (1 for the first retry).
    public func delayCap(beforeRetry retry: Int) -> Duration {
        let doublings = min(max(retry - 1, 0), 30)
        let cap = baseDelay * (1 << doublings)
        return cap < maxDelay ? cap : maxDelay
    }

    /// A delay drawn for retry `retry`, between zero and ``delayCap(beforeRetry:)``.
    public func delay<Generator: RandomNumberGenerator>(beforeRetry retry: Int, using generator: inout Generator) -> Duration {
        let cap = delayCap(beforeRetry: retry)
        let (seconds, attoseconds) = cap.components
        let capNanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        guard capNanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...capNanoseconds, using: &generator))
    }
}
