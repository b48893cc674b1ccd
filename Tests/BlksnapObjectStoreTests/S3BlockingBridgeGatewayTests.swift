import BlksnapObjectStore
import CephTestSupport
import Foundation
import Testing

extension S3ClientGatewayTests {
    /// Runs `body` with a bridge to a client of the suite's gateway and a new bucket; the body
    /// is synchronous, as the backup code that uses the bridge is, and runs on this test's
    /// pool thread.
    static func withBridge(_ name: String, _ body: (S3BlockingBridge, String) throws -> Void) async throws {
        let gateway = try #require(CephGateway.current, "the suite's trait starts the gateway")
        let bucket = "\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try await S3Client.withClient(configuration: gateway.configuration, logger: logger()) { client in
            try await client.createBucket(bucket)
            try body(S3BlockingBridge(client: client), bucket)
        }
    }

    /// ``S3BlockingBridge`` against the gateway, from callers that block every thread of the
    /// cooperative pool at once (the gateway's suite trait covers nested suites).
    @Suite struct BlockingBridge {
        /// Four concurrent tasks each write a 3-part object with ``S3MultipartWriter`` (which
        /// blocks its pool thread while its parts are in flight) and read it back with
        /// ``S3RangedReader``.
        @Test func writersAndReadersOnEveryPoolThread() async throws {
            let gateway = try #require(CephGateway.current, "the suite's trait starts the gateway")
            let bucket = "bridge-io-\(UInt32.random(in: 0...UInt32.max))"
            try await S3Client.withClient(configuration: gateway.configuration, logger: S3ClientGatewayTests.logger()) { client in
                try await client.createBucket(bucket)
                let bridge = S3BlockingBridge(client: client)
                let watchdog = DeadlockWatchdog(timeout: .seconds(1200), "writers and readers blocked on S3BlockingBridge never returned")
                defer { watchdog.disarm() }
                let matched = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for caller in 0..<4 {
                        group.addTask {
                            var random = SplitMix64(seed: UInt64(caller))
                            let data = random.bytes((12 << 20) + caller)
                            let key = "writer-\(caller)"
                            let writer = try S3MultipartWriter(bridge: bridge, bucket: bucket, key: key, partSize: 5 << 20, parallelism: 2)
                            try data.withUnsafeBytes { bytes in
                                for start in stride(from: 0, to: bytes.count, by: 256 << 10) {
                                    let chunk = UnsafeRawBufferPointer(rebasing: bytes[start..<min(bytes.count, start + (256 << 10))])
                                    try writer.write(chunk, at: UInt64(start))
                                }
                            }
                            let (size, _) = try writer.finish()
                            let reader = try S3RangedReader(bridge: bridge, bucket: bucket, key: key, blockSize: 1 << 20)
                            var back = [UInt8](repeating: 0, count: data.count)
                            let read = try back.withUnsafeMutableBytes { try reader.read(into: $0, at: 0) }
                            return size == UInt64(data.count) && read == data.count && back == data
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(matched == [true, true, true, true])
                #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
            }
        }
    }
}
