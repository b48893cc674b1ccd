@testable import BlksnapBackup
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Compressed qcow2 files: ours checked by qemu-img (check, compare, convert to raw), and
/// qemu-img's (and qemu-io's) read by our one reader. Needs qemu-img; skipped with the
/// reason without it, required under CI=true.
@Suite("compressed qcow2 against qemu-img", .enabled(if: QEMUImg.shouldRun, "\(QEMUImg.reason)"))
struct CompressionTests {
    static let cluster = QCOW2Format.clusterSize

    /// A disk that compresses as real ones do: each cluster zeroes, random bytes (does not
    /// shrink), text-like bytes from a 16-letter alphabet, or one repeated byte.
    static func disk(size: Int, seed: UInt64) -> [UInt8] {
        var random = TestRandom(seed: seed)
        var bytes = [UInt8](repeating: 0, count: size)
        for start in stride(from: 0, to: size, by: cluster) {
            fillCluster(&bytes, at: start, kind: Int(random.next(below: 4)), random: &random)
        }
        return bytes
    }

    /// Fills the cluster at `start` (cut by the end of `bytes`) with content of `kind`
    /// (0 zeroes, 1 random, 2 text-like, 3 one byte).
    static func fillCluster(_ bytes: inout [UInt8], at start: Int, kind: Int, random: inout TestRandom) {
        let end = min(start + cluster, bytes.count)
        switch kind {
        case 0:
            for index in start..<end { bytes[index] = 0 }
        case 1:
            var piece = [UInt8](repeating: 0, count: end - start)
            random.fill(&piece)
            bytes.replaceSubrange(start..<end, with: piece)
        case 2:
            for index in start..<end { bytes[index] = 0x61 + UInt8(random.next(below: 16)) }
        default:
            let value = UInt8(1 + random.next(below: 255))
            for index in start..<end { bytes[index] = value }
        }
    }

    /// Writes `bytes` (all of them, or only `clusters`) as one qcow2 file with `compression`.
    static func write(_ bytes: [UInt8], to path: String, backing: String? = nil, clusters: [Int]? = nil,
                      compression: BackupCompression) throws -> QCOW2WriteSummary {
        let writer = try QCOW2Writer(path: path, virtualSize: UInt64(bytes.count), backingFile: backing, compression: compression)
        try bytes.withUnsafeBytes { raw in
            let starts = clusters.map { $0.map { $0 * cluster } } ?? Array(stride(from: 0, to: raw.count, by: 1 << 20))
            let length = clusters == nil ? 1 << 20 : cluster
            for start in starts {
                try writer.write(guestOffset: UInt64(start), bytes: UnsafeRawBufferPointer(rebasing: raw[start..<min(start + length, raw.count)]))
            }
        }
        return try writer.finish()
    }

    /// `bytes` with `count` clusters changed (some to zeroes), and the changed indexes.
    static func changed(_ bytes: [UInt8], count: Int, seed: UInt64) -> ([UInt8], [Int]) {
        var random = TestRandom(seed: seed)
        var next = bytes
        var indexes: Set<Int> = []
        let clusters = (bytes.count + cluster - 1) / cluster
        while indexes.count < count {
            let index = Int(random.next(below: UInt64(clusters)))
            guard indexes.insert(index).inserted else { continue }
            fillCluster(&next, at: index * cluster, kind: Int(random.next(below: 4)), random: &random)
        }
        return (next, indexes.sorted())
    }

    static func writeRaw(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// `qemu-img convert -O raw` of the chain at `path`, read back.
    static func convertedToRaw(_ path: String, in directory: TemporaryDirectory) throws -> [UInt8] {
        let raw = directory.path + "/converted-\(UInt32.random(in: 0...UInt32.max)).raw"
        try QEMUImg.tool("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", path, raw])
        defer { unlink(raw) }
        return Array(try Data(contentsOf: URL(fileURLWithPath: raw)))
    }

    @Test("our compressed full + two incrementals: check clean, compare identical, convert to raw equal, read back equal",
          arguments: ["zstd", "zstd:9", "zlib"])
    func ourChain(method: String) throws {
        let compression = try BackupCompression(parsing: method)
        let directory = try TemporaryDirectory()
        let size = (6 << 20) + 3 * 512  // the last cluster is partial
        var bytes = Self.disk(size: size, seed: 11)
        var backing: String?
        for step in 0..<3 {
            var clusters: [Int]?
            if step > 0 { (bytes, clusters) = Self.changed(bytes, count: 17, seed: UInt64(40 + step)) }
            let name = "step\(step).qcow2", path = directory.path + "/" + name
            let summary = try Self.write(bytes, to: path, backing: backing, clusters: clusters, compression: compression)
            #expect(summary.compressedClusters > 0, "text-like and one-byte clusters shrink")
            #expect(summary.compressedClusters < summary.dataClusters, "random clusters do not shrink and are stored as they are")
            try QEMUImg.checkClean(path)
            let raw = directory.path + "/step\(step).raw"
            try Self.writeRaw(bytes, raw)
            try QEMUImg.expectIdentical(path, raw: raw)
            #expect(try Self.convertedToRaw(path, in: directory) == bytes)
            #expect(try QCOW2WriterTests.readBack(path) == bytes)
            let info = try QEMUImg.info(path)
            let specific = (info["format-specific"] as? [String: Any])?["data"] as? [String: Any]
            #expect(specific?["compression-type"] as? String == compression.qcow2Type?.description)
            backing = name
        }
        // Every stored cluster's SHA-256 is of its uncompressed bytes.
        let chain = try QCOW2Chain(headPath: directory.path + "/step0.qcow2")
        let summary = try Self.write(Self.disk(size: size, seed: 11), to: directory.path + "/again.qcow2", compression: compression)
        let first = try #require(summary.clusters.first { $0.kind == .data })
        let guest = try #require(first.guestOffset)
        var slot = [UInt8](repeating: 0, count: Self.cluster)
        try slot.withUnsafeMutableBytes { raw in
            let (file, mapping) = try #require(try chain.locate(guestCluster: guest / UInt64(Self.cluster)))
            try file.readCluster(mapping, into: raw)
        }
        #expect(QCOW2Writer.sha256(slot.withUnsafeBytes { $0 }) == first.sha256)
    }

    @Test("zstd files carry compression_type 1 at byte 104, header_length 112 and incompatible bit 3; zlib files none")
    func headerFields() throws {
        let directory = try TemporaryDirectory()
        let bytes = Self.disk(size: 1 << 20, seed: 5)
        for (method, type) in [("zstd", UInt8(1)), ("zlib", UInt8(0))] {
            let path = directory.path + "/\(method).qcow2"
            _ = try Self.write(bytes, to: path, compression: try BackupCompression(parsing: method))
            let header = Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(112))
            let length = header[100..<104].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let incompatible = header[72..<80].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if type == 1 {
                #expect(length == 112)
                #expect(header[104] == 1)
                #expect(incompatible & (1 << 3) != 0)
            } else {
                #expect(length == 104)
                #expect(incompatible == 0)
            }
            let decoded = try QCOW2Header(decoding: header)
            #expect(decoded.compressionType.rawValue == type)
        }
    }

    @Test("a chain qemu wrote compressed (qemu-img convert -c, then qemu-io write -c on an overlay) reads back equal",
          arguments: ["zstd", "zlib"])
    func qemuChain(type: String) throws {
        let directory = try TemporaryDirectory()
        let size = 5 << 20
        let base = Self.disk(size: size, seed: 77)
        try Self.writeRaw(base, directory.path + "/base.raw")
        let options = "compression_type=\(type),cluster_size=65536"
        try QEMUImg.tool("qemu-img", ["convert", "-c", "-f", "raw", "-O", "qcow2", "-o", options,
                                      directory.path + "/base.raw", directory.path + "/base.qcow2"])
        let info = try QEMUImg.info(directory.path + "/base.qcow2")
        #expect(((info["format-specific"] as? [String: Any])?["data"] as? [String: Any])?["compression-type"] as? String == type)
        #expect(try QCOW2WriterTests.readBack(directory.path + "/base.qcow2") == base)
        // An incremental as qemu writes one: an overlay whose changed clusters are written compressed.
        let (next, changed) = Self.changed(base, count: 12, seed: 78)
        let overlay = directory.path + "/next.qcow2"
        try QEMUImg.tool("qemu-img", ["create", "-f", "qcow2", "-o", options, "-b", "base.qcow2", "-F", "qcow2", overlay])
        var commands: [String] = []
        for index in changed {
            let start = index * Self.cluster
            let piece = Array(next[start..<(start + Self.cluster)])
            if piece.allSatisfy({ $0 == 0 }) {
                commands += ["-c", "write -z \(start) \(Self.cluster)"]
            } else {
                let file = directory.path + "/piece-\(index).bin"
                try Data(piece).write(to: URL(fileURLWithPath: file))
                commands += ["-c", "write -c -s \(file) \(start) \(Self.cluster)"]
            }
        }
        try QEMUImg.tool("qemu-io", ["-f", "qcow2"] + commands + [overlay])
        try Self.writeRaw(next, directory.path + "/next.raw")
        try QEMUImg.expectIdentical(overlay, raw: directory.path + "/next.raw")
        let chain = try QCOW2Chain(headPath: overlay)
        #expect(chain.files.count == 2)
        #expect(try QCOW2WriterTests.readBack(overlay) == next)
        // The overlay's changed clusters are compressed ones, read through the same reader.
        var compressed = 0
        for index in changed {
            if case .compressed = try chain.files[0].mapping(ofGuestCluster: UInt64(index)) { compressed += 1 }
        }
        #expect(compressed > 0, "qemu-io wrote compressed clusters")
    }
}
