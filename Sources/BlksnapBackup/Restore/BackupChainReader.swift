#if canImport(Glibc)
import Glibc
#endif
import Crypto

/// A backup read as the disk it holds: its qcow2 chain, checked against the catalog when
/// opened (no corrupt member, as many files as records, the recorded capacity), and every
/// data cluster (decompressed first, when it is stored compressed) checked against its
/// SHA-256 in the catalog when read. `backup restore`
/// and `backup serve` read backups through it.
///
/// Not thread-safe: one reader per thread, or a lock around it.
public final class BackupChainReader {
    /// The backup read (the head of the chain).
    public let head: BackupRecord
    /// The catalog records of the chain, head first.
    public let records: [BackupRecord]
    /// The files, head first.
    public let chain: QCOW2Chain
    private let hashes: [ObjectIdentifier: [UInt64: [UInt8]]]

    /// Opens backup `id` of `repository`.
    ///
    /// A prune may be merging a point of the chain meanwhile: the files then have either
    /// the old layout (the chain the catalog names) or, once the target's header is switched
    /// and before the catalog says so, the merged one (that chain without the merge's
    /// source); both read the same disk and both are accepted. A chain that changed while
    /// it was being opened (a merge moved on) is opened again.
    ///
    /// - Throws: ``BackupError`` `.corrupted` when a member failed verification, the files
    ///   and the catalog disagree, or a file is missing or damaged.
    public init(repository: BackupRepository, id: Int64) throws(BackupError) {
        // The catalog is read in several steps (the chain, the merges, each file's hashes):
        // an opening during which a merge changed state (a source's rows deleted after the
        // chain was read, say) is discarded, whether it failed or not.
        var attempt = 0
        while true {
            let epoch = try repository.catalog.mergeEpoch()
            do throws(BackupError) {
                let opened = try Self.open(repository: repository, id: id)
                if try repository.catalog.mergeEpoch() == epoch {
                    (head, records, chain, hashes) = opened
                    return
                }
                attempt += 1
                guard attempt < Self.openingAttempts else {
                    throw BackupError(.io, "the chain of backup \(id) changed \(attempt) times while it was being opened: a prune is merging it; try again when it is done",
                                      errno: .resourceBusy)
                }
            } catch {
                attempt += 1
                guard attempt < Self.openingAttempts, try repository.catalog.mergeEpoch() != epoch else { throw error }
            }
        }
    }

    /// How many times an opening is tried while merges keep changing the chain.
    static let openingAttempts = 50

    private static func open(repository: BackupRepository, id: Int64) throws(BackupError)
        -> (BackupRecord, [BackupRecord], QCOW2Chain, [ObjectIdentifier: [UInt64: [UInt8]]]) {
        var records = try repository.chain(endingAt: id)
        let head = records[0]
        for record in records where record.status == .corrupt {
            throw BackupError(.corrupted, "backup \(record.id ?? 0) (\(record.fileName)), which backup \(id) depends on, failed verification: restore an earlier point, or run 'backup verify' after repairing the file")
        }
        let chain = try QCOW2Chain(head: head.fileName, in: repository.storage)
        let names = chain.names
        if names != records.map(\.fileName) {
            // A prepared merge whose target's header may already be switched: the chain
            // without its source.
            let switching = try repository.catalog.unfinishedMerges().filter { $0.state == .prepared }
            let merged = records.filter { record in !switching.contains { $0.sourceId == record.id } }
            guard names == merged.map(\.fileName) else {
                throw BackupError(.corrupted, "the file of backup \(id) has a chain of \(chain.files.count) files (\(names.joined(separator: " <- "))), the catalog \(records.count) (\(records.map(\.fileName).joined(separator: " <- "))): the files were changed outside blksnapctl")
            }
            records = merged
        }
        var hashes: [ObjectIdentifier: [UInt64: [UInt8]]] = [:]
        for (file, record) in zip(chain.files, records) {
            var map: [UInt64: [UInt8]] = [:]
            for cluster in try repository.catalog.clusters(of: record.id ?? 0) where cluster.kind == .data {
                map[cluster.fileOffset] = cluster.sha256
            }
            hashes[ObjectIdentifier(file)] = map
        }
        guard chain.virtualSize == UInt64(head.capacityBytes) else {
            throw BackupError(.corrupted, "\(head.fileName) says the disk has \(chain.virtualSize) bytes, the catalog \(head.capacityBytes)")
        }
        return (head, records, chain, hashes)
    }

    /// The disk's size in bytes.
    public var sizeBytes: UInt64 { chain.virtualSize }
    /// The cluster size of the chain.
    public var clusterSize: Int { chain.clusterSize }
    /// The number of clusters (the last may be partial).
    public var clusterCount: UInt64 { (sizeBytes + UInt64(clusterSize) - 1) / UInt64(clusterSize) }

    /// Whether cluster `index` reads as zeroes without any data cluster (unallocated in
    /// every file, or a zero cluster).
    public func isZero(cluster index: UInt64) throws(BackupError) -> Bool {
        try chain.locate(guestCluster: index) == nil
    }

    /// Fills `slot` (exactly one cluster) with cluster `index`, checked against the
    /// catalog; zeroes for a cluster no file holds. Returns whether it came from a data cluster.
    ///
    /// - Throws: ``BackupError`` `.corrupted` when the cluster is cut short, does not
    ///   decompress, or its (uncompressed) SHA-256 is not the catalog's (naming file,
    ///   offsets and backup).
    ///
    /// With `verify` false the SHA-256 check is skipped: for a caller that only compares
    /// the bytes with data it already has, and reads the cluster again checked before it
    /// uses them (`restore --delta`).
    @discardableResult
    public func readCluster(_ index: UInt64, into slot: UnsafeMutableRawBufferPointer, verify: Bool = true) throws(BackupError) -> Bool {
        precondition(slot.count == clusterSize, "one whole cluster")
        guard let (file, mapping) = try chain.locate(guestCluster: index), let fileOffset = mapping.fileOffset else {
            slot.initializeMemory(as: UInt8.self, repeating: 0)
            return false
        }
        try file.readCluster(mapping, into: slot)
        guard verify else { return true }
        var hasher = SHA256()
        hasher.update(bufferPointer: UnsafeRawBufferPointer(slot))
        let expected = hashes[ObjectIdentifier(file)]?[fileOffset]
        guard let expected, Array(hasher.finalize()) == expected else {
            let why = expected == nil ? "is not in the catalog" : "does not match its SHA-256 in the catalog"
            let owner = zip(chain.files, records).first { $0.0 === file }.map { " of backup \($0.1.id ?? 0)" } ?? ""
            throw BackupError(.corrupted, "\(file.path)\(owner) bytes \(fileOffset)..<\(fileOffset + UInt64(clusterSize)) (disk bytes \(index * UInt64(clusterSize))..) \(why); run 'backup verify'")
        }
        return true
    }
}
