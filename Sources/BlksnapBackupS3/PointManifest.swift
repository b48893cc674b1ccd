import BlksnapBackup
import Foundation

/// What makes a point exist in a bucket: a JSON object under `manifests/`, written after
/// the point's qcow2 object is complete. A point exists if and only if its manifest does;
/// every host lists every manifest, and a fresh machine rebuilds its catalog from them.
///
/// It holds the catalog row (without the ids, which are each catalog's own), the parent
/// by file name, and the SHA-256 of every cluster the file holds (packed, base64), which
/// restore, serve and verify check reads against.
public struct PointManifest: Codable, Hashable, Sendable {
    /// The manifest format this code writes and reads.
    public static let currentFormat = "blksnap-point-1"

    /// ``currentFormat``.
    public var format: String
    /// The host that wrote the point.
    public var host: String
    /// The point's file, relative to the repository's root.
    public var file: String
    /// The parent's file (an incremental's backing file), relative to the root.
    public var parentFile: String?
    /// The catalog row, `id` and `parentId` nil.
    public var record: BackupRecord
    /// Every cluster of the file: offset, guest offset, kind, SHA-256 (``packClusters(_:)``).
    public var clusters: String

    /// A manifest of `record` and its clusters.
    public init(host: String, record: BackupRecord, parentFile: String?, clusters: [WrittenCluster]) {
        format = Self.currentFormat
        self.host = host
        file = record.fileName
        self.parentFile = parentFile
        var row = record
        row.id = nil
        row.parentId = nil
        self.record = row
        self.clusters = Data(Self.packClusters(clusters)).base64EncodedString()
    }

    /// The manifest's bytes.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain Codable values into JSON does not fail.
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// Decodes a manifest; `key` names it in errors.
    public init(decoding bytes: [UInt8], key: String) throws(BackupError) {
        do {
            self = try JSONDecoder().decode(PointManifest.self, from: Data(bytes))
        } catch {
            throw BackupError(.corrupted, "the manifest \(key) is not a point manifest (\(error)): delete it to drop that point, or restore it from a copy")
        }
        guard format == Self.currentFormat else {
            throw BackupError(.refused, "the manifest \(key) has format '\(format)'; this blksnapctl reads '\(Self.currentFormat)': use a blksnapctl as new as the one that wrote it")
        }
    }

    /// The clusters, unpacked.
    public func decodedClusters(key: String) throws(BackupError) -> [WrittenCluster] {
        guard let data = Data(base64Encoded: clusters), let list = Self.unpackClusters(Array(data)) else {
            throw BackupError(.corrupted, "the manifest \(key) has a damaged cluster list: delete it to drop that point, or restore it from a copy")
        }
        return list
    }

    /// Per cluster, 49 bytes: file offset (8, big-endian), guest offset (8; all ones for
    /// none), kind (1: 0 data, 1 metadata), SHA-256 (32).
    static func packClusters(_ clusters: [WrittenCluster]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(clusters.count * 49)
        for cluster in clusters {
            withUnsafeBytes(of: cluster.fileOffset.bigEndian) { bytes += $0 }
            withUnsafeBytes(of: (cluster.guestOffset ?? UInt64.max).bigEndian) { bytes += $0 }
            bytes.append(cluster.kind == .data ? 0 : 1)
            bytes += cluster.sha256
        }
        return bytes
    }

    /// ``packClusters(_:)`` undone; nil for bytes it did not make.
    static func unpackClusters(_ bytes: [UInt8]) -> [WrittenCluster]? {
        guard bytes.count % 49 == 0 else { return nil }
        var clusters: [WrittenCluster] = []
        clusters.reserveCapacity(bytes.count / 49)
        func word(_ at: Int) -> UInt64 { bytes[at..<(at + 8)].reduce(0) { $0 << 8 | UInt64($1) } }
        for start in stride(from: 0, to: bytes.count, by: 49) {
            guard bytes[start + 16] <= 1 else { return nil }
            let guest = word(start + 8)
            clusters.append(WrittenCluster(fileOffset: word(start), guestOffset: guest == .max ? nil : guest,
                                           kind: bytes[start + 16] == 0 ? .data : .metadata,
                                           sha256: Array(bytes[(start + 17)..<(start + 49)])))
        }
        return clusters
    }
}
