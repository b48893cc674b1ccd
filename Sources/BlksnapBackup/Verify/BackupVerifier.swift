import Crypto

/// A problem `backup verify` found: which backup, which file, where, what.
public struct VerifyFinding: Sendable, Hashable, CustomStringConvertible {
    /// The backup.
    public var backupID: Int64
    /// Its file's name in the repository.
    public var fileName: String
    /// First byte of the damaged cluster (or structure) in the file.
    public var fileOffset: UInt64
    /// Bytes from ``fileOffset`` the finding covers (a cluster; 0 for the whole file).
    public var length: UInt64
    /// The guest offset the cluster holds, for data.
    public var guestOffset: UInt64?
    /// What is wrong.
    public var problem: String

    /// One line naming the backup, the file and the byte range.
    public var description: String {
        var text = "backup \(backupID): \(fileName)"
        if length > 0 {
            text += " bytes \(fileOffset)..<\(fileOffset + length)"
        } else if fileOffset > 0 {
            text += " at byte \(fileOffset)"
        }
        if let guestOffset { text += " (disk bytes \(guestOffset)..<\(guestOffset + length))" }
        return text + ": " + problem
    }
}

/// What `backup verify` checked.
public struct VerifyReport: Sendable, Hashable {
    /// The backups checked, in id order.
    public var backupIDs: [Int64]
    /// Clusters re-read and hashed.
    public var clustersChecked: Int
    /// Bytes re-read.
    public var bytesChecked: UInt64
    /// Everything found; empty when every file matches its catalog.
    public var findings: [VerifyFinding]
    /// The prune merges into the backups checked (and into what they absorbed), oldest
    /// first: finished ones are history, unfinished ones are finished by the next prune.
    public var merges: [MergeRecord] = []
}

/// Re-reads every cluster of backup files and checks it against the SHA-256 the catalog
/// recorded when it was written: metadata clusters as stored, data clusters through
/// ``QCOW2Reader`` (decompressed when stored compressed) after checking that the file's
/// L1/L2 tables still map them where they were written. A backup with a finding is marked ``BackupStatus/corrupt``, so the
/// next `backup create` of its device makes a full backup instead of an increment on it.
public struct BackupVerifier {
    /// The repository.
    public let repository: BackupRepository

    /// Creates a verifier.
    public init(repository: BackupRepository) {
        self.repository = repository
    }

    /// Verifies `id` and the backups its point in time depends on (its chain), or every
    /// backup when `id` is nil.
    public func verify(id: Int64?) throws(BackupError) -> VerifyReport {
        let records: [BackupRecord]
        if let id {
            records = try repository.chain(endingAt: id).reversed()
        } else {
            records = try repository.catalog.all()
        }
        var report = VerifyReport(backupIDs: [], clustersChecked: 0, bytesChecked: 0, findings: [])
        let merges = try repository.catalog.merges()
        report.merges = MergeHistory.merges(into: Set(records.compactMap(\.id)), from: merges)
        for record in records {
            guard let id = record.id else { continue }
            report.backupIDs.append(id)
            let before = report.findings.count
            let pending = merges.first { $0.targetId == id && $0.state != .done }
            try verify(record, id: id, pending: pending, into: &report)
            if report.findings.count > before, record.status != .corrupt {
                try repository.catalog.setStatus(.corrupt, of: id)
            }
        }
        return report
    }

    /// Verifies one backup. While a merge into it is unfinished (`pending`), its file has
    /// the old layout (clusters appended past the old size are not live yet) or, once the
    /// header is switched, the new one (the merge's header, the new parent); either passes.
    private func verify(_ record: BackupRecord, id: Int64, pending: MergeRecord?, into report: inout VerifyReport) throws(BackupError) {
        func finding(_ offset: UInt64, _ length: UInt64, _ guest: UInt64?, _ problem: String) {
            report.findings.append(VerifyFinding(backupID: id, fileName: record.fileName, fileOffset: offset, length: length,
                                                 guestOffset: guest, problem: problem))
        }
        guard try repository.storage.exists(record.fileName) else {
            finding(0, 0, nil, "the file is missing (ENOENT): this backup and every increment on it cannot be restored")
            return
        }
        let reader: QCOW2Reader
        do {
            reader = try QCOW2Reader(input: try repository.storage.openForReading(record.fileName))
        } catch {
            finding(0, 0, nil, "the file cannot be read as qcow2: \(error.message)")
            return
        }
        let clusterSize = reader.clusterSize
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: clusterSize, alignment: 4096)
        defer { buffer.deallocate() }
        var parentID = record.parentId
        var switchedHeader: [UInt8]?
        var liveEnd = UInt64.max
        if let pending {
            let header = pending.newHeader.map { Array($0).withUnsafeBytes { QCOW2Writer.sha256($0) } }
            let n = try reader.readFile(into: buffer, at: 0)
            let current = QCOW2Writer.sha256(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            if pending.state == .prepared, let header, current == header {
                switchedHeader = header
                parentID = pending.newParentId
                if reader.fileSize != UInt64(pending.targetNewSize) {
                    finding(0, 0, nil, "the file has \(reader.fileSize) bytes, merge \(pending.id ?? 0) made it \(pending.targetNewSize): it was truncated or appended to")
                }
            } else {
                liveEnd = UInt64(pending.targetOldSize)
                if reader.fileSize < liveEnd {
                    finding(0, 0, nil, "the file has \(reader.fileSize) bytes, the catalog recorded \(record.fileSize): it was truncated")
                }
            }
        } else if reader.fileSize != UInt64(record.fileSize) {
            finding(0, 0, nil, "the file has \(reader.fileSize) bytes, the catalog recorded \(record.fileSize): it was truncated or appended to")
        }
        let parentName = try parentID.flatMap { (parent) throws(BackupError) in try repository.catalog.record(id: parent)?.fileName }
            .map { (parent) throws(BackupError) in try BackupRepository.backingName(of: parent, from: record.fileName) }
        if reader.backingFile != parentName {
            finding(0, 0, nil, "the backing file is '\(reader.backingFile ?? "none")', the catalog says '\(parentName ?? "none")'")
        }
        let clusters = try repository.catalog.clusters(of: id)
        for var cluster in clusters where cluster.fileOffset < liveEnd {
            if cluster.fileOffset == 0, let switchedHeader { cluster.sha256 = switchedHeader }
            let size = UInt64(clusterSize)
            report.clustersChecked += 1
            if cluster.kind == .data, let guest = cluster.guestOffset {
                // Data: through the reader, as restore and serve read it (decompressed when it
                // is stored compressed); the catalog's SHA-256 is of the uncompressed cluster.
                let mapping: QCOW2ClusterMapping
                do {
                    mapping = try reader.mapping(ofGuestCluster: guest / size)
                } catch {
                    finding(cluster.fileOffset, size, guest, "its L2 entry cannot be read: \(error.message)")
                    continue
                }
                guard mapping.fileOffset == cluster.fileOffset else {
                    finding(cluster.fileOffset, size, guest, "the L2 table maps the disk cluster elsewhere (\(mapping))")
                    continue
                }
                do {
                    try reader.readCluster(mapping, into: buffer)
                } catch {
                    finding(cluster.fileOffset, size, guest, error.message)
                    continue
                }
                report.bytesChecked += size
                if Self.sha256(buffer) != cluster.sha256 {
                    let what = if case .compressed = mapping { "compressed data cluster (its uncompressed bytes)" } else { "data cluster" }
                    finding(cluster.fileOffset, size, guest,
                            "\(what) does not match its SHA-256 in the catalog (a byte changed on disk; EILSEQ): restore the file from a copy, or take a new full backup")
                }
                continue
            }
            let n = try reader.readFile(into: buffer, at: cluster.fileOffset)
            report.bytesChecked += UInt64(n)
            guard n == clusterSize else {
                finding(cluster.fileOffset, size, cluster.guestOffset, "the cluster is cut short (\(n) of \(clusterSize) bytes): the file is truncated")
                continue
            }
            if Self.sha256(buffer) != cluster.sha256 {
                finding(cluster.fileOffset, size, cluster.guestOffset,
                        "metadata cluster (header, L1/L2 table or refcounts) does not match its SHA-256 in the catalog (a byte changed on disk; EILSEQ): restore the file from a copy, or take a new full backup")
            }
        }
    }

    private static func sha256(_ bytes: UnsafeMutableRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bufferPointer: UnsafeRawBufferPointer(bytes))
        return Array(hasher.finalize())
    }
}
