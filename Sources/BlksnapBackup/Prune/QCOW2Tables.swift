/// The raw metadata of one qcow2 file as a merge needs it: the header cluster, the L1
/// table, L2 tables on demand (entries with their flags), and the refcounts.
///
/// Only 16-bit refcounts are read (what this package writes and QEMU's default).
final class QCOW2Tables {
    /// The file.
    let file: HostFile
    /// The header cluster as stored.
    let headerCluster: [UInt8]
    /// The parsed header.
    let header: QCOW2Header
    /// The L1 entries.
    let l1: [UInt64]
    /// Offsets of the refcount blocks the refcount table names, in table order.
    let refcountBlockOffsets: [UInt64]
    /// ``file`` read as a ``BackupFileInput``.
    private let input: HostFileInput

    /// The cluster size.
    var clusterSize: Int { header.clusterSize }

    /// Reads the header cluster, the L1 table and the refcount table of `file`.
    init(file: HostFile) throws(BackupError) {
        self.file = file
        input = try HostFileInput(file: file)
        let size = input.size
        let first = try input.readExactly(min(Int(size), 4096), at: 0, what: "header")
        do {
            header = try QCOW2Header(decoding: first)
        } catch {
            throw BackupError(.corrupted, "\(file.path): \(error.description)")
        }
        guard header.refcountOrder == 4 else {
            throw BackupError(.refused, "\(file.path): refcounts of \(1 << Int(header.refcountOrder)) bits; a merge handles 16-bit refcounts only")
        }
        guard header.snapshotCount == 0 else {
            throw BackupError(.refused, "\(file.path) holds \(header.snapshotCount) internal snapshot(s); a merge handles files without")
        }
        let cluster = header.clusterSize
        headerCluster = try input.readExactly(cluster, at: 0, what: "header cluster")
        if header.l1Size > 0 {
            let bytes = try input.readExactly(Int(header.l1Size) * 8, at: header.l1TableOffset, what: "L1 table")
            l1 = (0..<Int(header.l1Size)).map { bytes.bigEndian(UInt64.self, at: $0 * 8) }
        } else {
            l1 = []
        }
        let table = try input.readExactly(Int(header.refcountTableClusters) * cluster, at: header.refcountTableOffset, what: "refcount table")
        var blocks: [UInt64] = []
        for index in 0..<(table.count / 8) {
            let entry = table.bigEndian(UInt64.self, at: index * 8) & QCOW2Format.offsetMask
            if entry == 0 { break }
            blocks.append(entry)
        }
        refcountBlockOffsets = blocks
    }

    /// The L2 table of L1 entry `index` (raw entries), nil when the L1 entry is empty.
    func l2(_ index: Int) throws(BackupError) -> [UInt64]? {
        guard index < l1.count else { return nil }
        let offset = l1[index] & QCOW2Format.offsetMask
        guard offset != 0 else { return nil }
        guard offset % UInt64(clusterSize) == 0 else {
            throw BackupError(.corrupted, "\(file.path): L1 entry \(index) points at byte \(offset), which is not cluster-aligned")
        }
        let bytes = try input.readExactly(clusterSize, at: offset, what: "L2 table")
        return (0..<(clusterSize / 8)).map { bytes.bigEndian(UInt64.self, at: $0 * 8) }
    }

    /// The refcount of every cluster below `end` (bytes), from the refcount blocks.
    func refcounts(upTo end: UInt64) throws(BackupError) -> [UInt16] {
        let clusters = Int((end + UInt64(clusterSize) - 1) / UInt64(clusterSize))
        let perBlock = clusterSize / 2
        var counts = [UInt16](repeating: 0, count: clusters)
        for (block, offset) in refcountBlockOffsets.enumerated() where block * perBlock < clusters {
            let bytes = try input.readExactly(clusterSize, at: offset, what: "refcount block")
            for slot in 0..<min(perBlock, clusters - block * perBlock) {
                counts[block * perBlock + slot] = UInt16(bytes[slot * 2]) << 8 | UInt16(bytes[slot * 2 + 1])
            }
        }
        return counts
    }

    /// Whether an L2 entry maps its cluster in this file (data, or reads as zeroes).
    static func isAllocated(_ entry: UInt64) -> Bool {
        entry & QCOW2Format.offsetMask != 0 || entry & QCOW2Format.zeroFlag != 0 || entry & QCOW2Format.compressedFlag != 0
    }
}
