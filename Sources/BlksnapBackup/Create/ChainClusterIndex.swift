/// What a backup's point in time holds in each guest cluster, by hash: the SHA-256 the
/// catalog recorded for the data cluster its chain maps there, or nil where it reads as
/// zeroes. A resync compares the image with it; no data cluster is read.
final class ChainClusterIndex {
    private let chain: QCOW2Chain
    private let hashes: [ObjectIdentifier: [UInt64: [UInt8]]]
    private let headPath: String

    /// Indexes the chain ending at `record`.
    init(repository: BackupRepository, record: BackupRecord) throws(BackupError) {
        let reader = try BackupChainReader(repository: repository, id: record.id ?? 0)
        chain = reader.chain
        headPath = repository.storage.describe(record.fileName)
        var hashes: [ObjectIdentifier: [UInt64: [UInt8]]] = [:]
        for (file, member) in zip(reader.chain.files, reader.records) {
            var map: [UInt64: [UInt8]] = [:]
            for cluster in try repository.catalog.clusters(of: member.id ?? 0) where cluster.kind == .data {
                map[cluster.fileOffset] = cluster.sha256
            }
            hashes[ObjectIdentifier(file)] = map
        }
        self.hashes = hashes
    }

    /// The SHA-256 of guest cluster `index` at the point in time (the whole cluster, zero
    /// padded at the disk's end), nil when it reads as zeroes.
    func sha256(ofGuestCluster index: UInt64) throws(BackupError) -> [UInt8]? {
        guard let (file, mapping) = try chain.locate(guestCluster: index), let offset = mapping.fileOffset else { return nil }
        guard let hash = hashes[ObjectIdentifier(file)]?[offset] else {
            throw BackupError(.corrupted, "\(file.path): the data cluster at byte \(offset) (disk cluster \(index)) is not in the catalog; run 'backup verify' on the chain of \(headPath)")
        }
        return hash
    }
}
