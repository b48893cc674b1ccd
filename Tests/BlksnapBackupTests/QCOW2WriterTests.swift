@testable import BlksnapBackup
import Foundation
import Testing

@Suite("qcow2 writer and reader against qemu-img")
struct QCOW2WriterTests {
    static let cluster = QCOW2Format.clusterSize

    /// A disk of `size` bytes: random clusters, zero clusters, and clusters with one byte set.
    static func disk(size: Int, seed: UInt64) -> [UInt8] {
        var random = TestRandom(seed: seed)
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let length = min(cluster, size - offset)
            switch random.next(below: 4) {
            case 0: break  // zeroes
            case 1: bytes[offset + Int(random.next(below: UInt64(length)))] = 0xA5
            default:
                var piece = [UInt8](repeating: 0, count: length)
                random.fill(&piece)
                bytes.replaceSubrange(offset..<(offset + length), with: piece)
            }
            offset += length
        }
        return bytes
    }

    /// Writes `bytes` as one qcow2 file, `blockBytes` at a time, optionally only `clusters`.
    static func write(_ bytes: [UInt8], to path: String, backing: String? = nil, clusters: [Int]? = nil) throws -> QCOW2WriteSummary {
        let writer = try QCOW2Writer(path: path, virtualSize: UInt64(bytes.count), backingFile: backing)
        try bytes.withUnsafeBytes { raw in
            if let clusters {
                for index in clusters {
                    let start = index * cluster
                    try writer.write(guestOffset: UInt64(start), bytes: UnsafeRawBufferPointer(rebasing: raw[start..<min(start + cluster, raw.count)]))
                }
            } else {
                for start in stride(from: 0, to: raw.count, by: 1 << 20) {
                    try writer.write(guestOffset: UInt64(start), bytes: UnsafeRawBufferPointer(rebasing: raw[start..<min(start + (1 << 20), raw.count)]))
                }
            }
        }
        return try writer.finish()
    }

    /// Reads the whole chain with QCOW2Chain.
    static func readBack(_ path: String) throws -> [UInt8] {
        let chain = try QCOW2Chain(headPath: path)
        var bytes = [UInt8](repeating: 0, count: Int(chain.virtualSize))
        try bytes.withUnsafeMutableBytes { raw in
            for start in stride(from: 0, to: raw.count, by: cluster) {
                try chain.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<min(start + cluster, raw.count)]),
                               guestOffset: UInt64(start))
            }
        }
        return bytes
    }

    @Test("an empty disk is valid qcow2 v3 with 64 KiB clusters")
    func emptyDisk() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/empty.qcow2"
        let summary = try Self.write([UInt8](repeating: 0, count: 8 << 20), to: path)
        #expect(summary.dataClusters == 0)
        try QEMUImg.checkClean(path)
        let info = try QEMUImg.info(path)
        #expect(info["cluster-size"] as? Int == 65536)
        #expect(info["virtual-size"] as? Int == 8 << 20)
        let specific = (info["format-specific"] as? [String: Any])?["data"] as? [String: Any]
        #expect(specific?["compat"] as? String == "1.1")
        #expect(specific?["refcount-bits"] as? Int == 16)
    }

    @Test("a full image: zero clusters unallocated, qemu-img compare identical, check clean, read back equal",
          arguments: [5 << 20, (3 << 20) + 3 * 512, 64 * 1024 + 512])
    func fullImage(size: Int) throws {
        let directory = try TemporaryDirectory()
        let bytes = Self.disk(size: size, seed: UInt64(size))
        let raw = directory.path + "/disk.raw"
        try Data(bytes).write(to: URL(fileURLWithPath: raw))
        let path = directory.path + "/full.qcow2"
        let summary = try Self.write(bytes, to: path)
        let nonZero = stride(from: 0, to: size, by: Self.cluster).filter { start in
            bytes[start..<min(start + Self.cluster, size)].contains { $0 != 0 }
        }.count
        #expect(summary.dataClusters == nonZero, "only clusters with data are stored")
        #expect(summary.zeroClusters == 0)
        #expect(summary.clusters.filter { $0.kind == .data }.count == nonZero)
        try QEMUImg.checkClean(path)
        try QEMUImg.expectIdentical(path, raw: raw)
        #expect(try Self.readBack(path) == bytes)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.size] as? Int) == Int(summary.fileSize))
    }

    @Test("an incremental on a backing file: relative name, backing_fmt qcow2, zeroed clusters hide the base")
    func incremental() throws {
        let directory = try TemporaryDirectory()
        let size = 4 << 20
        let base = Self.disk(size: size, seed: 7)
        _ = try Self.write(base, to: directory.path + "/base.qcow2")
        var next = base
        var random = TestRandom(seed: 99)
        var changed: Set<Int> = []
        for _ in 0..<12 {
            let index = Int(random.next(below: UInt64(size / Self.cluster)))
            changed.insert(index)
            var piece = [UInt8](repeating: 0, count: Self.cluster)
            if random.next(below: 3) != 0 { random.fill(&piece) }  // a third become zeroes
            next.replaceSubrange((index * Self.cluster)..<((index + 1) * Self.cluster), with: piece)
        }
        let raw = directory.path + "/next.raw"
        try Data(next).write(to: URL(fileURLWithPath: raw))
        let head = directory.path + "/next.qcow2"
        let summary = try Self.write(next, to: head, backing: "base.qcow2", clusters: changed.sorted())
        #expect(summary.dataClusters + summary.zeroClusters == changed.count)
        try QEMUImg.checkClean(head)
        try QEMUImg.expectIdentical(head, raw: raw)
        #expect(try Self.readBack(head) == next)
        let info = try QEMUImg.info(head)
        #expect(info["backing-filename"] as? String == "base.qcow2")
        #expect(info["backing-filename-format"] as? String == "qcow2")
    }

    @Test("a disk larger than one L2 table maps (512 MiB): several L1 entries")
    func severalL2Tables() throws {
        let directory = try TemporaryDirectory()
        let size: UInt64 = (1536 << 20) + 512 * 7
        let path = directory.path + "/big.qcow2"
        let writer = try QCOW2Writer(path: path, virtualSize: size)
        var expected: [(UInt64, UInt8)] = []
        for (index, guest) in [UInt64(0), 600 << 20, 1100 << 20, size / 65536 * 65536].enumerated() {
            var piece = [UInt8](repeating: UInt8(index + 1), count: Int(min(65536, size - guest)))
            piece[0] = 0xEE
            try piece.withUnsafeBytes { try writer.write(guestOffset: guest, bytes: $0) }
            expected.append((guest, UInt8(index + 1)))
        }
        let summary = try writer.finish()
        #expect(summary.dataClusters == 4)
        try QEMUImg.checkClean(path)
        let chain = try QCOW2Chain(headPath: path)
        #expect(chain.files[0].header.l1Size == 4)
        for (guest, value) in expected {
            var buffer = [UInt8](repeating: 0, count: 512)
            try buffer.withUnsafeMutableBytes { _ = try chain.read(into: $0, guestOffset: guest) }
            #expect(buffer[0] == 0xEE && buffer[1] == value)
        }
        // qemu-img agrees on the mapping.
        let (status, output) = try QEMUImg.run(["map", "--output=json", path])
        #expect(status == 0)
        #expect(output.components(separatedBy: "\"data\": true").count - 1 == 4, "\(output)")
    }
}
