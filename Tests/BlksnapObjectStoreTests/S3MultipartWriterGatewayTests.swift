@testable import BlksnapObjectStore
import Foundation
import NIOConcurrencyHelpers
import Testing

extension S3ClientGatewayTests {
    /// ``S3MultipartWriter`` against the gateway, from synchronous code on a pool thread (as
    /// the qcow2 writer calls it). Every object is read back whole with GetObject and compared
    /// with a model of the writes; every test checks that no multipart upload stays open.
    @Suite struct MultipartWriter {
        static let partSize = 5 << 20

        /// One write of the plan.
        struct Write {
            var offset: UInt64
            var bytes: [UInt8]
        }

        /// The object `writes` make: holes are zeroes, later writes win.
        static func model(_ writes: [Write]) -> [UInt8] {
            let size = writes.map { $0.offset + UInt64($0.bytes.count) }.max() ?? 0
            var object = [UInt8](repeating: 0, count: Int(size))
            for write in writes { object.replaceSubrange(Int(write.offset)..<(Int(write.offset) + write.bytes.count), with: write.bytes) }
            return object
        }

        /// Sequential writes of random lengths (up to 300 KB) filling `size` bytes, then a
        /// 512-byte header at offset 0, as a qcow2 writer does.
        static func sequentialPlan(size: Int, seed: UInt64) -> [Write] {
            var random = SplitMix64(seed: seed)
            var writes: [Write] = []
            var offset = 0
            while offset < size {
                let length = min(size - offset, Int.random(in: 1...300_000, using: &random))
                writes.append(Write(offset: UInt64(offset), bytes: random.bytes(length)))
                offset += length
            }
            if size > 0 { writes.append(Write(offset: 0, bytes: random.bytes(min(512, size)))) }
            return writes
        }

        /// Writes that keep the writer's contract at random: forward with holes (whole parts
        /// skipped too), rewrites of the current part, rewrites of the first part, a header last.
        static func randomPlan(size: UInt64, partSize: Int, seed: UInt64) -> [Write] {
            var random = SplitMix64(seed: seed)
            let unit = UInt64(partSize)
            var writes: [Write] = []
            var furthest: UInt64 = 0
            while furthest < size {
                let offset: UInt64
                switch Int.random(in: 0..<10, using: &random) {
                case 0:  // inside the first part
                    offset = UInt64.random(in: 0..<unit, using: &random)
                case 1 where furthest > 0:  // back inside the current part
                    let currentStart = (furthest - 1) / unit * unit
                    offset = UInt64.random(in: currentStart..<furthest, using: &random)
                case 2:  // a hole, up to one and a half parts
                    offset = furthest + UInt64.random(in: 1...(unit * 3 / 2), using: &random)
                default:
                    offset = furthest
                }
                var length = Int.random(in: 1...200_000, using: &random)
                if offset < unit && offset + UInt64(length) > unit && furthest > 0 && (furthest - 1) / unit > 1 {
                    length = Int(unit - offset)  // part 2 was sent: stay inside the first part
                }
                writes.append(Write(offset: offset, bytes: random.bytes(length)))
                furthest = max(furthest, offset + UInt64(length))
            }
            writes.append(Write(offset: 0, bytes: random.bytes(512)))
            return writes
        }

        /// Applies `writes` through `writer` and finishes it.
        static func apply(_ writes: [Write], to writer: S3MultipartWriter) throws -> (size: UInt64, eTag: String) {
            for write in writes { try write.bytes.withUnsafeBytes { try writer.write($0, at: write.offset) } }
            return try writer.finish()
        }

        /// The object in the bucket and the open uploads there.
        static func stored(_ bridge: S3BlockingBridge, _ bucket: String, _ key: String) throws -> (bytes: [UInt8], eTag: String, uploads: Int) {
            let object = try bridge.run { client in try await client.getObject(bucket: bucket, key: key) }
            let uploads = try bridge.run { client in try await client.listMultipartUploads(bucket: bucket) }
            return (object.bytes, object.head.eTag, uploads.count)
        }

        /// 0 bytes, 1 byte, under a part, exactly a part, 3.5 parts (5 MiB parts): one PutObject
        /// up to a part, a multipart upload of 4 parts beyond.
        @Test(arguments: [0, 1, 1000, 5 << 20, (5 << 20) * 7 / 2])
        func objectsOfEverySize(size: Int) async throws {
            try await S3ClientGatewayTests.withBridge("writer") { bridge, bucket in
                let writes = Self.sequentialPlan(size: size, seed: UInt64(size))
                let writer = try S3MultipartWriter(bridge: bridge, bucket: bucket, key: "object", partSize: Self.partSize, parallelism: 2)
                let result = try Self.apply(writes, to: writer)
                let stored = try Self.stored(bridge, bucket, "object")
                #expect(result.size == UInt64(size))
                #expect(stored.bytes.count == size)
                #expect(stored.bytes == Self.model(writes), "the object is the writes, the header rewritten last")
                #expect(stored.eTag == result.eTag)
                if size <= Self.partSize {
                    #expect(!result.eTag.contains("-"), "one PutObject: \(result.eTag)")
                } else {
                    #expect(result.eTag.hasSuffix("-4\""), "4 parts: \(result.eTag)")
                }
                #expect(stored.uploads == 0)
                #expect(writer.uploadID == nil)
            }
        }

        /// Holes inside parts, whole parts skipped, rewrites of the current and first parts, in
        /// random orders that keep the contract; parallelism 1 and 3.
        @Test(arguments: [(UInt64(1), 1), (2, 3), (3, 3)])
        func randomWritesWithHoles(seed: UInt64, parallelism: Int) async throws {
            try await S3ClientGatewayTests.withBridge("holes") { bridge, bucket in
                let writes = Self.randomPlan(size: UInt64(Self.partSize) * 4 + 12_345, partSize: Self.partSize, seed: seed)
                let writer = try S3MultipartWriter(
                    bridge: bridge, bucket: bucket, key: "holes", partSize: Self.partSize, parallelism: parallelism)
                let result = try Self.apply(writes, to: writer)
                let expected = Self.model(writes)
                let stored = try Self.stored(bridge, bucket, "holes")
                #expect(result.size == UInt64(expected.count))
                #expect(stored.bytes.count == expected.count)
                #expect(stored.bytes == expected)
                #expect(stored.uploads == 0)
            }
        }

        /// Only a header at 0 and a few bytes far away: the parts between are zeroes.
        @Test func sparseObjectIsZeroes() async throws {
            try await S3ClientGatewayTests.withBridge("sparse") { bridge, bucket in
                let writer = try S3MultipartWriter(bridge: bridge, bucket: bucket, key: "sparse", partSize: Self.partSize)
                let writes = [Write(offset: UInt64(Self.partSize) * 3 + 17, bytes: [9, 9, 9]), Write(offset: 0, bytes: [1, 2, 3, 4])]
                let result = try Self.apply(writes, to: writer)
                let stored = try Self.stored(bridge, bucket, "sparse")
                #expect(result.size == UInt64(Self.partSize) * 3 + 20)
                #expect(stored.bytes == Self.model(writes))
                #expect(result.eTag.hasSuffix("-4\""))
            }
        }

        /// A write into a part already sent throws a programming error; the upload is aborted,
        /// nothing is stored, and the writer is closed.
        @Test func writeIntoSentPartThrowsAndAborts() async throws {
            try await S3ClientGatewayTests.withBridge("sent") { bridge, bucket in
                let writer = try S3MultipartWriter(bridge: bridge, bucket: bucket, key: "sent", partSize: Self.partSize)
                var random = SplitMix64(seed: 9)
                let parts = random.bytes(Self.partSize * 3)
                try parts.withUnsafeBytes { try writer.write($0, at: 0) }  // parts 1 to 3; part 2 goes up
                let uploadID = try #require(writer.uploadID)
                let open = try bridge.run { client in try await client.listMultipartUploads(bucket: bucket) }
                #expect(open.map(\.uploadID) == [uploadID])
                try [UInt8](repeating: 1, count: 100).withUnsafeBytes { try writer.write($0, at: 10) }  // the first part: fine
                let error = #expect(throws: S3StreamError.self) {
                    try [UInt8](repeating: 1, count: 100).withUnsafeBytes { try writer.write($0, at: UInt64(Self.partSize) + 5) }
                }
                #expect(error?.kind == .partAlreadySent)
                #expect(error?.description.contains("reaches part 2") == true && error?.description.contains("s3://\(bucket)/sent") == true)
                #expect(writer.uploadID == nil, "aborted")
                #expect(try bridge.run { client in try await client.listMultipartUploads(bucket: bucket) }.isEmpty)
                let missing = #expect(throws: S3Error.self) { try bridge.run { client in try await client.headObject(bucket: bucket, key: "sent") } }
                #expect(missing?.httpStatus == 404)
                let closed = #expect(throws: S3StreamError.self) { try writer.finish() }
                #expect(closed?.kind == .closed)
                writer.abort()
            }
        }

        /// A part that fails in the background (part 3 of 4) fails the next call; the upload is
        /// aborted and nothing is stored. Meanwhile no more than `parallelism` parts were in
        /// flight, and parts went up while the caller was still writing.
        @Test func failedPartAbortsTheUpload() async throws {
            try await S3ClientGatewayTests.withBridge("failing") { bridge, bucket in
                struct InjectedFailure: Error {}
                let tally = NIOLockedValueBox((inFlight: 0, most: 0, started: [Int]()))
                let writer = try S3MultipartWriter(
                    bridge: bridge, bucket: bucket, key: "failing", partSize: Self.partSize, parallelism: 2
                ) { client, bucket, key, uploadID, partNumber, bytes in
                    tally.withLockedValue {
                        $0.inFlight += 1
                        $0.most = max($0.most, $0.inFlight)
                        $0.started.append(partNumber)
                    }
                    defer { tally.withLockedValue { $0.inFlight -= 1 } }
                    try await Task.sleep(for: .milliseconds(200))
                    if partNumber == 3 { throw InjectedFailure() }
                    return try await client.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: partNumber, bytes: bytes)
                }
                var random = SplitMix64(seed: 3)
                let data = random.bytes(Self.partSize * 4)
                #expect(throws: InjectedFailure.self) {
                    for chunk in stride(from: 0, to: data.count, by: 1 << 20) {
                        try data[chunk..<(chunk + (1 << 20))].withUnsafeBytes { try writer.write($0, at: UInt64(chunk)) }
                    }
                    _ = try writer.finish()
                }
                let tallied = tally.withLockedValue { $0 }
                #expect(tallied.most <= 2, "at most `parallelism` parts in flight")
                #expect(tallied.started.contains(2) && tallied.started.contains(3))
                #expect(writer.uploadID == nil)
                #expect(try bridge.run { client in try await client.listMultipartUploads(bucket: bucket) }.isEmpty)
                let listed = try bridge.run { client in try await client.listAllObjects(bucket: bucket) }
                #expect(listed.isEmpty)
                #expect(throws: S3StreamError.self) { try writer.finish() }
            }
        }

        /// A missing bucket fails the first request (CreateMultipartUpload, or the PutObject of
        /// a small object) with S3's NoSuchBucket and its remedy; nothing is left anywhere.
        @Test func missingBucketFailsWithNoSuchBucket() async throws {
            try await S3ClientGatewayTests.withBridge("exists") { bridge, _ in
                let bucket = "no-such-bucket-\(UInt32.random(in: 0...UInt32.max))"
                let big = try S3MultipartWriter(bridge: bridge, bucket: bucket, key: "k", partSize: Self.partSize)
                let data = [UInt8](repeating: 5, count: Self.partSize + 1)
                try data.withUnsafeBytes { try big.write($0, at: 0) }  // part 2 not yet sent: no request
                let error = #expect(throws: S3Error.self) {
                    try data.withUnsafeBytes { try big.write($0, at: UInt64(Self.partSize) * 2) }
                }
                #expect(error?.code == "NoSuchBucket" && error?.operation == "CreateMultipartUpload")
                #expect(error?.description.contains("Remedy: create it") == true)
                #expect(big.uploadID == nil)

                let small = try S3MultipartWriter(bridge: bridge, bucket: bucket, key: "k", partSize: Self.partSize)
                try data.withUnsafeBytes { try small.write(UnsafeRawBufferPointer(rebasing: $0[0..<100]), at: 0) }
                let put = #expect(throws: S3Error.self) { try small.finish() }
                #expect(put?.code == "NoSuchBucket" && put?.operation == "PutObject")
                let list = #expect(throws: S3Error.self) { try bridge.run { client in try await client.listMultipartUploads(bucket: bucket) } }
                #expect(list?.code == "NoSuchBucket")
            }
        }

        /// abort() after parts went up aborts the upload, twice is harmless, finish() is refused.
        @Test func abortIsIdempotent() async throws {
            try await S3ClientGatewayTests.withBridge("abort") { bridge, bucket in
                let writer = try S3MultipartWriter(bridge: bridge, bucket: bucket, key: "a", partSize: Self.partSize, parallelism: 1)
                let data = [UInt8](repeating: 3, count: Self.partSize * 2 + 10)
                try data.withUnsafeBytes { try writer.write($0, at: 0) }
                #expect(writer.uploadID != nil)
                writer.abort()
                writer.abort()
                #expect(writer.uploadID == nil)
                #expect(try bridge.run { client in try await client.listMultipartUploads(bucket: bucket) }.isEmpty)
                #expect(throws: S3StreamError.self) { try writer.finish() }
                #expect(try bridge.run { client in try await client.listAllObjects(bucket: bucket) }.isEmpty)
            }
        }
    }
}
