import BlksnapObjectStore
import Foundation
import Testing

/// Retries without a gateway: a port nobody listens on refuses every attempt (AHC keeps
/// trying to connect until the connect timeout, 1 s here, then the client retries). No timing
/// is asserted: with the whole package's tests on 2 cores it took 52 s once.
@Suite struct S3ClientRetryTests {
    @Test func transportFailuresAreRetriedThenReported() async throws {
        let configuration = S3Configuration(
            endpoint: try S3Endpoint(url: "http://127.0.0.1:9"), region: "us-east-1",
            credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "secretThatMustNotShow"),
            retry: S3RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(20), maxDelay: .milliseconds(50)),
            requestTimeout: .seconds(1))
        try await S3Client.withClient(configuration: configuration) { client in
            let error = await #expect(throws: S3Error.self) { try await client.getObject(bucket: "b", key: "k") }
            #expect(error?.code == S3Error.transportCode)
            #expect(error?.attempts == 3)
            #expect(error?.description.contains("3 attempts") == true)
            #expect(error?.description.contains("secretThatMustNotShow") == false)
        }
    }
}

/// Retries of S3's `503 SlowDown` against ``FlakyS3Server``.
@Suite struct S3ClientSlowDownTests {
    static func configuration(port: Int, attempts: Int) throws -> S3Configuration {
        S3Configuration(
            endpoint: try S3Endpoint(url: "http://127.0.0.1:\(port)"), region: "us-east-1",
            credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "secret"),
            retry: S3RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(10), maxDelay: .milliseconds(40)),
            requestTimeout: .seconds(5))
    }

    @Test func slowDownIsRetriedUntilItPasses() async throws {
        let server = try await FlakyS3Server(failures: 2)
        let eTag = try await S3Client.withClient(configuration: try Self.configuration(port: server.port, attempts: 4)) { client in
            try await client.putObject(bucket: "b", key: "k", bytes: [1, 2, 3])
        }
        #expect(eTag == "\"etag3\"", "the third attempt's answer")
        #expect(server.requestCount == 3)
        try await server.close()
    }

    @Test func slowDownBeyondTheAttemptsIsReported() async throws {
        let server = try await FlakyS3Server(failures: 100)
        try await S3Client.withClient(configuration: try Self.configuration(port: server.port, attempts: 3)) { client in
            let error = await #expect(throws: S3Error.self) { try await client.getObject(bucket: "b", key: "k") }
            #expect(error?.code == "SlowDown" && error?.httpStatus == 503)
            #expect(error?.requestID == "r3" && error?.attempts == 3)
            #expect(error?.description.contains("Please reduce your request rate.") == true)
        }
        #expect(server.requestCount == 3)
        try await server.close()
    }
}
