import BlksnapObjectStore
import Foundation
import NIOConcurrencyHelpers
import Testing

extension S3ClientGatewayTests {
    /// ``S3RangedReader`` against the gateway, from synchronous code on a pool thread.
    @Suite struct RangedReader {
        /// Puts `bytes` as `key`.
        static func put(_ bridge: S3BlockingBridge, _ bucket: String, _ key: String, _ bytes: [UInt8]) throws {
            try bridge.run { client in _ = try await client.putObject(bucket: bucket, key: key, bytes: bytes) }
        }

        /// Reads `count` bytes at `offset`; what came back.
        static func read(_ reader: S3RangedReader, _ count: Int, at offset: UInt64) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0xEE, count: count)
            let got = try buffer.withUnsafeMutableBytes { try reader.read(into: $0, at: offset) }
            return Array(buffer[0..<got])
        }

        /// 300 random ranges, across blocks and past the end, against the bytes put.
        @Test func randomRangesMatchTheObject() async throws {
            try await S3ClientGatewayTests.withBridge("reader") { bridge, bucket in
                var random = SplitMix64(seed: 11)
                let data = random.bytes((10 << 20) + 123)
                try Self.put(bridge, bucket, "object", data)
                let reader = try S3RangedReader(bridge: bridge, bucket: bucket, key: "object", blockSize: 1 << 20, cachedBlocks: 3)
                #expect(reader.size == UInt64(data.count))
                #expect(reader.eTag?.isEmpty == false)
                for _ in 0..<300 {
                    let offset = Int.random(in: 0..<(data.count + 1000), using: &random)
                    let count = Int.random(in: 0..<(3 << 20), using: &random)
                    let expected = offset >= data.count ? [] : Array(data[offset..<min(data.count, offset + count)])
                    let got = try Self.read(reader, count, at: UInt64(offset))
                    #expect(got == expected, "\(count) B at \(offset)")
                    if got != expected { break }
                }
                #expect(reader.getCount > 0 && reader.cacheHits > 0)
            }
        }

        /// The end of the object: short reads, 0 at and past it; an empty object costs no GET.
        @Test func readsAtTheEndAreShort() async throws {
            try await S3ClientGatewayTests.withBridge("end") { bridge, bucket in
                let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
                try Self.put(bridge, bucket, "small", data)
                try Self.put(bridge, bucket, "empty", [])
                let reader = try S3RangedReader(bridge: bridge, bucket: bucket, key: "small", blockSize: 4096)
                #expect(try Self.read(reader, 1000, at: 4500) == Array(data[4500...]))
                #expect(try Self.read(reader, 10, at: 5000) == [])
                #expect(try Self.read(reader, 10, at: 1 << 40) == [])
                #expect(try Self.read(reader, 0, at: 0) == [])
                #expect(reader.getCount == 1, "only the last block (4096...4999) was fetched")
                #expect(reader.bytesFetched == 5000 - 4096)

                let empty = try S3RangedReader(bridge: bridge, bucket: bucket, key: "empty")
                #expect(empty.size == 0)
                #expect(try Self.read(empty, 100, at: 0) == [])
                #expect(empty.getCount == 0)

                let known = try S3RangedReader(bridge: bridge, bucket: bucket, key: "small", size: 5000, blockSize: 4096)
                #expect(try Self.read(known, 5000, at: 0) == data)
                #expect(known.getCount == 2 && known.bytesFetched == 5000)
            }
        }

        /// Sequential 64 KiB reads cost one GET per 4 MiB block, and re-reading cached blocks none.
        @Test func sequentialReadsCostOneGetPerBlock() async throws {
            try await S3ClientGatewayTests.withBridge("sequential") { bridge, bucket in
                var random = SplitMix64(seed: 12)
                let data = random.bytes((9 << 20) + 1000)
                try Self.put(bridge, bucket, "object", data)
                let reader = try S3RangedReader(bridge: bridge, bucket: bucket, key: "object")
                #expect(reader.blockSize == 4 << 20 && reader.cachedBlocks == 4)
                var copy: [UInt8] = []
                var offset: UInt64 = 0
                while true {
                    let chunk = try Self.read(reader, 64 << 10, at: offset)
                    if chunk.isEmpty { break }
                    copy += chunk
                    offset += UInt64(chunk.count)
                }
                #expect(copy == data)
                #expect(reader.getCount == 3, "blocks 0, 1 and 2 of 4 MiB")
                #expect(reader.bytesFetched == UInt64(data.count))
                _ = try Self.read(reader, 64 << 10, at: 0)
                #expect(reader.getCount == 3, "block 0 is still cached")

                // One cached block: going back and forth between two blocks refetches.
                let narrow = try S3RangedReader(bridge: bridge, bucket: bucket, key: "object", blockSize: 1 << 20, cachedBlocks: 1)
                _ = try Self.read(narrow, 10, at: 0)
                _ = try Self.read(narrow, 10, at: 1 << 20)
                _ = try Self.read(narrow, 10, at: 5)
                #expect(narrow.getCount == 3 && narrow.cacheHits == 0)
            }
        }

        /// Eight ordinary threads (as a restore's workers) read the whole object at once, each
        /// from another block on: every block is fetched once, the others wait for its fetch.
        @Test func concurrentReadersFetchEachBlockOnce() async throws {
            try await S3ClientGatewayTests.withBridge("concurrent") { bridge, bucket in
                var random = SplitMix64(seed: 13)
                let data = random.bytes((6 << 20) + 77)
                try Self.put(bridge, bucket, "object", data)
                let reader = try S3RangedReader(bridge: bridge, bucket: bucket, key: "object", blockSize: 1 << 20, cachedBlocks: 8)
                let mismatches = NIOLockedValueBox([String]())
                DispatchQueue.concurrentPerform(iterations: 8) { thread in
                    let chunk = 64 << 10
                    let chunks = (data.count + chunk - 1) / chunk
                    for step in 0..<chunks {
                        let offset = ((step + thread * 16) % chunks) * chunk
                        do {
                            let got = try Self.read(reader, chunk, at: UInt64(offset))
                            if got[...] != data[offset..<min(data.count, offset + chunk)] {
                                mismatches.withLockedValue { $0.append("thread \(thread) at \(offset)") }
                            }
                        } catch {
                            mismatches.withLockedValue { $0.append("thread \(thread) at \(offset): \(error)") }
                        }
                    }
                }
                #expect(mismatches.withLockedValue { $0 } == [])
                #expect(reader.getCount == 7, "7 blocks, each fetched once")
                #expect(reader.bytesFetched == UInt64(data.count))
            }
        }

        /// A missing key fails at the HEAD; an object replaced under the reader fails its next GET.
        @Test func missingAndChangedObjects() async throws {
            try await S3ClientGatewayTests.withBridge("changed") { bridge, bucket in
                let missing = #expect(throws: S3Error.self) { try S3RangedReader(bridge: bridge, bucket: bucket, key: "nothing") }
                #expect(missing?.code == "NotFound" && missing?.operation == "HeadObject")

                try Self.put(bridge, bucket, "object", [UInt8](repeating: 1, count: 10_000))
                let reader = try S3RangedReader(bridge: bridge, bucket: bucket, key: "object", blockSize: 4096)
                #expect(try Self.read(reader, 10, at: 0) == [UInt8](repeating: 1, count: 10))
                try Self.put(bridge, bucket, "object", [UInt8](repeating: 2, count: 10_000))
                let changed = #expect(throws: S3StreamError.self) { try Self.read(reader, 10, at: 8192) }
                #expect(changed?.kind == .objectChanged)
                #expect(changed?.description.contains("s3://\(bucket)/object") == true)
            }
        }
    }
}
