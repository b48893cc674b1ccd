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

    /// `parties` child tasks (as many as the pool has threads, up to 4) block their pool
    /// threads in `run` at the same time, and the operations they wait for meet inside the
    /// bridge and then make HTTP requests: with the work on the cooperative pool this would
    /// never finish.
    @Test func blockingEveryPoolThreadDoesNotDeadlock() async throws {
        let server = try await FlakyS3Server(failures: 0)
        let configuration = try S3ClientSlowDownTests.configuration(port: server.port, attempts: 1)
        try await S3Client.withClient(configuration: configuration) { client in
            let bridge = S3BlockingBridge(client: client)
            let rendezvous = Rendezvous(parties: Self.parties, timeout: .seconds(600))
            let watchdog = DeadlockWatchdog(timeout: .seconds(1200), "callers blocked in S3BlockingBridge.run never returned")
            defer { watchdog.disarm() }
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for caller in 0..<4 {
                    group.addTask {
                        // Synchronous from here on: this pool thread is blocked until `run` returns.
                        let met = try bridge.run { client in
                            let met = caller < Self.parties ? await rendezvous.arrive() : true
                            try await client.putObject(bucket: "b", key: "k\(caller)", bytes: [UInt8(caller)])
                            return met
                        }
                        for round in 0..<5 {
                            _ = try bridge.run { client in try await client.putObject(bucket: "b", key: "r\(round)", bytes: []) }
                        }
                        return met
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 4)
            #expect(rendezvous.met, "\(Self.parties) callers were blocked in run() at once")
        }
        #expect(server.requestCount == 4 * 6)
        try await server.close()
    }
}
