import BlksnapObjectStore
import Foundation
import Testing

/// ``S3BlockingBridge`` without a gateway: real HTTP exchanges with ``FlakyS3Server`` (which
/// answers `200 OK`), from callers that block every thread of the cooperative pool at once.
@Suite struct S3BlockingBridgeTests {
    /// How many callers block pool threads at once: every thread of the pool (one per core),
    /// at most 4.
    static let parties = min(4, max(2, ProcessInfo.processInfo.activeProcessorCount))

    @Test func returnsResultsAndRethrowsErrors() async throws {
        let server = try await FlakyS3Server(failures: 0)
        let configuration = try S3ClientSlowDownTests.configuration(port: server.port, attempts: 1)
        try await S3Client.withClient(configuration: configuration) { client in
            let bridge = S3BlockingBridge(client: client)
            #expect(try bridge.run { _ in 42 } == 42)
            struct Marker: Error {}
            #expect(throws: Marker.self) { try bridge.run { _ in throw Marker() } }
            let eTag = try bridge.run { client in try await client.putObject(bucket: "b", key: "k", bytes: [1, 2, 3]) }
            #expect(eTag == "\"etag1\"", "the ETag of the server's first answer")
        }
        try await server.close()
    }
}
