/// What a restore writes: consecutive clusters of a backup, read through the chain reader
/// (each checked against the catalog) into one buffer of up to 64 clusters and handed to
/// the caller's `write` (bytes, disk offset) together. A cluster that does not follow the collected ones, a full buffer, or
/// the disk's short last cluster writes what was collected first.
final class ClusterBatch {
    /// Writes one run of clusters: the bytes and their disk offset.
    typealias Writer = (UnsafeRawBufferPointer, UInt64) throws(BackupError) -> Void

    private let reader: BackupChainReader
    private let buffer: UnsafeMutableRawBufferPointer
    private var start: UInt64 = 0
    private var count = 0
    /// Bytes written so far.
    private(set) var written: UInt64 = 0

    /// A batch of up to `clusters` clusters over `reader`.
    init(reader: BackupChainReader, clusters: Int = 64) {
        self.reader = reader
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: reader.clusterSize * clusters, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    /// Reads cluster `index` after the collected ones.
    func add(_ index: UInt64, write: Writer) throws(BackupError) {
        let clusterSize = reader.clusterSize
        let guest = index * UInt64(clusterSize)
        let length = Int(min(UInt64(clusterSize), reader.sizeBytes - guest))
        if count > 0 && (start + UInt64(count) != guest || count == buffer.count) { try flush(write: write) }
        if count == 0 { start = guest }
        try reader.readCluster(index, into: UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + clusterSize)]))
        count += length
        if length < clusterSize { try flush(write: write) }
    }

    /// Writes what was collected.
    func flush(write: Writer) throws(BackupError) {
        guard count > 0 else { return }
        try write(UnsafeRawBufferPointer(rebasing: buffer[..<count]), start)
        written += UInt64(count)
        count = 0
    }
}
