import BlksnapObjectStore
import Testing

/// The error's wording (cause, meaning, remedy) and its retry classification.
@Suite struct S3ErrorTests {
    @Test func descriptionCarriesCauseMeaningAndRemedy() {
        let error = S3Error(
            code: "SignatureDoesNotMatch", message: "", httpStatus: 403, requestID: "tx1", operation: "PutObject",
            resource: "s3://b/k")
        #expect(error.description.hasPrefix("S3 PutObject s3://b/k: HTTP 403 SignatureDoesNotMatch (request id tx1). Meaning: "))
        #expect(error.description.contains("Remedy: check AWS_SECRET_ACCESS_KEY"))
        #expect(!error.isRetryable)
    }

    @Test func retryClassification() {
        func error(_ code: String, _ status: Int?) -> S3Error { S3Error(code: code, message: "", httpStatus: status, operation: "GetObject") }
        #expect(error("SlowDown", 503).isRetryable)
        #expect(error("InternalError", 500).isRetryable)
        #expect(error("Whatever", 502).isRetryable)
        #expect(error(S3Error.transportCode, nil).isRetryable)
        #expect(!error("NoSuchKey", 404).isRetryable)
        #expect(!error("AccessDenied", 403).isRetryable)
        #expect(!error("EntityTooSmall", 400).isRetryable)
    }

    @Test func retryDelaysGrowAndStayUnderTheCap() {
        let policy = S3RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(100), maxDelay: .milliseconds(500))
        #expect(policy.delayCap(beforeRetry: 1) == .milliseconds(100))
        #expect(policy.delayCap(beforeRetry: 2) == .milliseconds(200))
        #expect(policy.delayCap(beforeRetry: 3) == .milliseconds(400))
        #expect(policy.delayCap(beforeRetry: 4) == .milliseconds(500))
        #expect(policy.delayCap(beforeRetry: 60) == .milliseconds(500))
        var generator = SystemRandomNumberGenerator()
        var seen: Set<Duration> = []
        for _ in 0..<200 {
            let delay = policy.delay(beforeRetry: 3, using: &generator)
            #expect(delay >= .zero && delay <= .milliseconds(400))
            seen.insert(delay)
        }
        #expect(seen.count > 1, "jittered")
        #expect(S3RetryPolicy(maxAttempts: 0, baseDelay: .zero, maxDelay: .zero).maxAttempts == 1)
    }
}
