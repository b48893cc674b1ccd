import BlksnapObjectStore
import Foundation
import Testing

/// ``S3MultipartWriter`` without a gateway: its limits, and the refusals that need no request.
@Suite struct S3MultipartWriterTests {
    /// A client of a port nobody listens on: these tests must make no request.
    static func withBridge(_ body: (S3BlockingBridge) throws -> Void) async throws {
        let configuration = S3Configuration(
            endpoint: try S3Endpoint(url: "http://127.0.0.1:9"), region: "us-east-1",
            credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "secretThatMustNotShow"), retry: .none,
            requestTimeout: .seconds(1))
        try await S3Client.withClient(configuration: configuration) { client in try body(S3BlockingBridge(client: client)) }
    }

    @Test func memoryBoundAndPartSizes() {
        #expect(S3MultipartWriter.memoryBound() == 48 << 20, "(2 + 4) × 8 MiB")
        #expect(S3MultipartWriter.memoryBound(partSize: 5 << 20, parallelism: 1) == 15 << 20)
        #expect(S3MultipartWriter.partSize(forObjectSize: 0) == 8 << 20)
        #expect(S3MultipartWriter.partSize(forObjectSize: 10_000 * (8 << 20)) == 8 << 20, "78.1 GiB fits 8 MiB parts exactly")
        #expect(S3MultipartWriter.partSize(forObjectSize: 10_000 * (8 << 20) + 1) == 9 << 20)
        let terabyte = S3MultipartWriter.partSize(forObjectSize: 1 << 40)
        #expect(terabyte == 105 << 20 && UInt64(terabyte) * 10_000 >= 1 << 40)
        #expect(S3MultipartWriter.partSize(forObjectSize: 1, atLeast: 1) == 5 << 20, "never under S3's 5 MiB")
    }

    @Test func refusesPartSizesAndParallelismS3CannotTake() async throws {
        try await Self.withBridge { bridge in
            for partSize in [0, (5 << 20) - 1, (5 << 30) + 1] {
                let error = #expect(throws: S3StreamError.self) {
                    try S3MultipartWriter(bridge: bridge, bucket: "b", key: "k", partSize: partSize)
                }
                #expect(error?.kind == .invalidArgument)
                #expect(error?.description.contains("s3://b/k") == true && error?.description.contains("Remedy: pass a part size") == true)
            }
            let error = #expect(throws: S3StreamError.self) { try S3MultipartWriter(bridge: bridge, bucket: "b", key: "k", parallelism: 0) }
            #expect(error?.kind == .invalidArgument)
            _ = try S3MultipartWriter(bridge: bridge, bucket: "b", key: "k", partSize: 5 << 20, parallelism: 1)
        }
    }

    /// A write past 10,000 parts is refused before any request, and closes the writer.
    @Test func refusesObjectsLargerThanTenThousandParts() async throws {
        try await Self.withBridge { bridge in
            let writer = try S3MultipartWriter(bridge: bridge, bucket: "b", key: "big", partSize: 5 << 20)
            #expect(writer.maximumObjectSize == 10_000 * (5 << 20))
            let byte: [UInt8] = [1]
            let error = #expect(throws: S3StreamError.self) {
                try byte.withUnsafeBytes { try writer.write($0, at: writer.maximumObjectSize) }
            }
            #expect(error?.kind == .objectTooLarge)
            #expect(error?.description.contains("S3MultipartWriter.partSize(forObjectSize:)") == true)
            let overflow = #expect(throws: S3StreamError.self) {
                try byte.withUnsafeBytes { try writer.write($0, at: .max) }
            }
            #expect(overflow?.kind == .closed, "the failure closed the writer")
            #expect(throws: S3StreamError.self) { try writer.finish() }
            writer.abort()
            writer.abort()
            #expect(writer.uploadID == nil)
        }
    }

    /// An empty write neither extends the object nor sends anything; a closed writer refuses
    /// writes and a second finish.
    @Test func abortedWriterIsClosed() async throws {
        try await Self.withBridge { bridge in
            let writer = try S3MultipartWriter(bridge: bridge, bucket: "b", key: "k", partSize: 5 << 20)
            try [UInt8]().withUnsafeBytes { try writer.write($0, at: 123) }
            try [UInt8](repeating: 7, count: 1000).withUnsafeBytes { try writer.write($0, at: 10) }
            writer.abort()
            let error = #expect(throws: S3StreamError.self) { try [UInt8]([1]).withUnsafeBytes { try writer.write($0, at: 0) } }
            #expect(error?.kind == .closed && error?.message.contains("abort()") == true)
            #expect(throws: S3StreamError.self) { try writer.finish() }
        }
    }
}
