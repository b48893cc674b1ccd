#if canImport(Glibc)
import Glibc
#endif

/// What ``QCOW2MergeAppender`` appended to a target file, ready to be switched to.
struct AppendedMerge {
    /// The header cluster that switches the target to the merged layout.
    var header: [UInt8]
    /// Leading bytes of ``header`` that differ from the old header cluster (the switch writes only those).
    var headerUsedBytes: Int
    /// The target's size after the merge (every appended cluster whole).
    var newSize: UInt64
    /// The appended clusters with their hashes (data: the source's catalog hash, checked on read).
    var appended: [WrittenCluster]
    /// Metadata clusters of the old layout the new one no longer references.
    var deadOffsets: [UInt64]
    /// Guest clusters the target absorbed (data and zero entries).
    var clustersCopied: Int
    /// Data bytes copied.
    var bytesCopied: UInt64
    /// Bytes written to the target, header switch included.
    var bytesWritten: UInt64
}

/// The file half of a prune merge: appends to the target's qcow2 file the source's
/// clusters the target lacks, then copies of the L2 tables that change, a new L1 table,
/// new refcount blocks and table — all past the target's old end, so the old layout stays
/// whole and readable (by a reader that has it open, and after a crash) — and syncs the
/// file. Nothing is switched: ``switchHeader(of:to:)`` writes the new header later, once
/// the catalog holds the appended clusters.
///
/// Data moves in the kernel (`sendfile(2)`, page cache to page cache) unless the source's
/// hashes are checked on the way, which needs the bytes in memory. Compressed clusters are
/// copied compressed when both files use one compression type (packed byte after byte
/// after the other data, each host cluster they touch counted once per cluster, as the
/// format counts them); otherwise they are stored decompressed, since one file has one
/// compression type.
///
/// The cost is the source's data that the target lacks, plus the changed L2 tables, the
/// L1 table, and the refcount blocks (2 bytes per cluster of the target); metadata is
/// written only up to its last non-zero byte (the rest of its cluster stays a hole).
enum QCOW2MergeAppender {
    /// Bytes copied per read/write.
    static let runBytes = 4 << 20

    /// Appends `sourcePath`'s clusters that `targetPath` lacks (unallocated in it) to
    /// `targetPath`, first cutting the target back to `targetOldSize` (the tail a crashed
    /// attempt left). Each copied data cluster takes its SHA-256 from `sourceHashes` (the
    /// source's catalog hashes by file offset) along: a cluster that was damaged in the
    /// source stays detectable in the target (every read and `backup verify` check it), as
    /// it was before. With `checkHashes`, each is also hashed as it is read and a mismatch
    /// stops the merge before anything is switched (it costs the hashing: about half the
    /// throughput of a copy from memory on 2 cores).
    ///
    /// - Throws: ``BackupError`` `.corrupted` when a source cluster does not match its
    ///   hash, does not decompress, or a table is damaged; `.refused` for files of
    ///   different sizes or cluster sizes.
    static func append(targetPath: String, targetOldSize: UInt64, sourcePath: String, sourceHashes: [UInt64: [UInt8]],
                       newBackingFile: String?, checkHashes: Bool = false) throws(BackupError) -> AppendedMerge {
        let target = try HostFile(path: targetPath, flags: O_RDWR, operation: "opening the merge target")
        defer { target.close() }
        let actual = try target.sizeAndKind().size
        guard actual >= targetOldSize else {
            throw BackupError(.corrupted, "\(targetPath) has \(actual) bytes, the catalog recorded \(targetOldSize): the file was truncated; restore it from a copy")
        }
        if actual > targetOldSize { try target.truncate(to: targetOldSize) }
        let targetTables = try QCOW2Tables(file: target)
        let source = try HostFile(path: sourcePath, flags: O_RDONLY, operation: "opening the merge source")
        defer { source.close() }
        let sourceTables = try QCOW2Tables(file: source)
        let clusterSize = targetTables.clusterSize
        guard sourceTables.clusterSize == clusterSize, sourceTables.header.size == targetTables.header.size else {
            throw BackupError(.refused, "\(sourcePath) (\(sourceTables.header.size) bytes, \(sourceTables.clusterSize)-byte clusters) and \(targetPath) (\(targetTables.header.size) bytes, \(clusterSize)-byte clusters) are not of one disk: they cannot be merged")
        }
        let cluster = UInt64(clusterSize)
        let perL2 = clusterSize / 8
        var cursor = (targetOldSize + cluster - 1) / cluster * cluster
        var appended: [WrittenCluster] = []
        var written: UInt64 = 0

        // The source's entries the target lacks, in guest order.
        var copies: [(guest: UInt64, sourceOffset: UInt64)] = []
        var compressedCopies: [(guest: UInt64, descriptor: QCOW2CompressedDescriptor)] = []
        var zeroes: [UInt64] = []
        for l1Index in 0..<sourceTables.l1.count {
            guard let sourceL2 = try sourceTables.l2(l1Index) else { continue }
            let targetL2 = try targetTables.l2(l1Index)
            for slot in 0..<perL2 {
                let entry = sourceL2[slot]
                guard entry != 0 else { continue }
                let guest = UInt64(l1Index * perL2 + slot)
                guard guest * cluster < targetTables.header.size else { continue }
                if let targetL2, QCOW2Tables.isAllocated(targetL2[slot]) { continue }
                if entry & QCOW2Format.compressedFlag != 0 {
                    compressedCopies.append((guest, QCOW2CompressedDescriptor(entry: entry, clusterBits: sourceTables.header.clusterBits)))
                    continue
                }
                let host = entry & QCOW2Format.offsetMask
                if host != 0 && entry & QCOW2Format.zeroFlag == 0 {
                    copies.append((guest, host))
                } else if entry & QCOW2Format.zeroFlag != 0 {
                    zeroes.append(guest)
                }
            }
        }

        // Data, in runs of consecutive source clusters; each checked against its hash.
        var newEntries: [UInt64: UInt64] = [:]
        for guest in zeroes { newEntries[guest] = QCOW2Format.zeroFlag }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: runBytes, alignment: 4096)
        defer { buffer.deallocate() }
        var index = 0
        var bytesCopied: UInt64 = 0
        while index < copies.count {
            var end = index + 1
            while end < copies.count, (end - index) * clusterSize < runBytes,
                  copies[end].sourceOffset == copies[end - 1].sourceOffset + cluster {
                end += 1
            }
            let length = (end - index) * clusterSize
            let run = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
            var digests: [[UInt8]] = []
            if checkHashes {
                let n = try source.read(into: run, at: copies[index].sourceOffset)
                guard n == length else {
                    throw BackupError(.corrupted, "\(sourcePath): data clusters at byte \(copies[index].sourceOffset) are cut short by the end of the file: the file is truncated")
                }
                digests = ClusterHashing.sha256(ofClustersIn: UnsafeRawBufferPointer(run), clusterBytes: clusterSize)
            }
            for (offset, copy) in copies[index..<end].enumerated() {
                guard let expected = sourceHashes[copy.sourceOffset], !checkHashes || expected == digests[offset] else {
                    let why = sourceHashes[copy.sourceOffset] == nil ? "is not in the catalog" : "does not match its SHA-256 in the catalog"
                    throw BackupError(.corrupted, "\(sourcePath) bytes \(copy.sourceOffset)..<\(copy.sourceOffset + cluster) (disk bytes \(copy.guest * cluster)..) \(why): the merge stopped before changing anything; run 'backup verify'")
                }
                let host = cursor + UInt64(offset * clusterSize)
                newEntries[copy.guest] = host | QCOW2Format.copiedFlag
                appended.append(WrittenCluster(fileOffset: host, guestOffset: copy.guest * cluster, kind: .data, sha256: expected))
            }
            if checkHashes {
                try target.write(UnsafeRawBufferPointer(run), at: cursor)
            } else {
                try target.copy(from: source, at: copies[index].sourceOffset, count: length, to: cursor, buffer: buffer)
            }
            cursor += UInt64(length)
            written += UInt64(length)
            bytesCopied += UInt64(length)
            index = end
        }

        // Compressed clusters: as they are (packed) when both files use one compression
        // type, else decompressed into whole clusters (written first, aligned).
        var compressedReferences: [Int: UInt16] = [:]
        if !compressedCopies.isEmpty {
            let keepCompressed = sourceTables.header.compressionType == targetTables.header.compressionType
            let decompressor = ClusterDecompressor(sourceTables.header.compressionType)
            let span = UnsafeMutableRawBufferPointer.allocate(byteCount: clusterSize + 2 * QCOW2Format.compressedSectorSize, alignment: 16)
            defer { span.deallocate() }
            let whole = UnsafeMutableRawBufferPointer.allocate(byteCount: clusterSize, alignment: 16)
            defer { whole.deallocate() }
            var packed: [(guest: UInt64, bytes: [UInt8], sha256: [UInt8])] = []
            for copy in compressedCopies {
                let descriptor = copy.descriptor
                let length = min(descriptor.spanBytes, span.count)
                let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: span[0..<length]), at: descriptor.fileOffset)
                let place = "\(sourcePath) compressed cluster at byte \(descriptor.fileOffset) (disk bytes \(copy.guest * cluster)..)"
                guard n > 0 else {
                    throw BackupError(.corrupted, "\(place) lies beyond the end of the file: the file is truncated")
                }
                guard let expected = sourceHashes[descriptor.fileOffset] else {
                    throw BackupError(.corrupted, "\(place) is not in the catalog: the merge stopped before changing anything; run 'backup verify'")
                }
                let compressed = UnsafeRawBufferPointer(rebasing: span[0..<n])
                if checkHashes || !keepCompressed {
                    if let problem = decompressor.decompress(compressed, into: whole) {
                        throw BackupError(.corrupted, "\(place) does not decompress (\(problem)): the merge stopped before changing anything; run 'backup verify'")
                    }
                    guard !checkHashes || QCOW2Writer.sha256(UnsafeRawBufferPointer(whole)) == expected else {
                        throw BackupError(.corrupted, "\(place) does not match its SHA-256 in the catalog: the merge stopped before changing anything; run 'backup verify'")
                    }
                }
                if keepCompressed {
                    packed.append((copy.guest, Array(compressed), expected))
                } else {
                    try target.write(UnsafeRawBufferPointer(whole), at: cursor)
                    newEntries[copy.guest] = cursor | QCOW2Format.copiedFlag
                    appended.append(WrittenCluster(fileOffset: cursor, guestOffset: copy.guest * cluster, kind: .data, sha256: expected))
                    cursor += cluster
                    written += cluster
                    bytesCopied += cluster
                }
            }
            if !packed.isEmpty {
                var stream: [UInt8] = []
                for item in packed {
                    let offset = cursor + UInt64(stream.count)
                    let descriptor = QCOW2CompressedDescriptor(fileOffset: offset, lengthBytes: item.bytes.count)
                    newEntries[item.guest] = descriptor.entry(clusterBits: targetTables.header.clusterBits)
                    appended.append(WrittenCluster(fileOffset: offset, guestOffset: item.guest * cluster, kind: .data, sha256: item.sha256))
                    let first = Int(offset / cluster), last = Int((offset + UInt64(descriptor.spanBytes) - 1) / cluster)
                    for index in first...last { compressedReferences[index, default: 0] += 1 }
                    stream += item.bytes
                }
                try target.write(stream, at: cursor)
                written += UInt64(stream.count)
                bytesCopied += UInt64(stream.count)
                cursor = (cursor + UInt64(stream.count) + cluster - 1) / cluster * cluster
            }
        }

        // Appends one metadata structure (whole clusters, written up to its last non-zero byte).
        func appendMetadata(_ bytes: [UInt8]) throws(BackupError) -> UInt64 {
            let offset = cursor
            let clusters = max(1, (bytes.count + clusterSize - 1) / clusterSize)
            var padded = bytes
            padded += [UInt8](repeating: 0, count: clusters * clusterSize - bytes.count)
            let used = (padded.lastIndex { $0 != 0 }.map { $0 + 1 } ?? 0)
            if used > 0 {
                try target.write(Array(padded[0..<used]), at: offset)
                written += UInt64(used)
            }
            padded.withUnsafeBytes { raw in
                for start in stride(from: 0, to: raw.count, by: clusterSize) {
                    appended.append(WrittenCluster(fileOffset: offset + UInt64(start), guestOffset: nil, kind: .metadata,
                                                   sha256: QCOW2Writer.sha256(UnsafeRawBufferPointer(rebasing: raw[start..<(start + clusterSize)]))))
                }
            }
            cursor += UInt64(clusters * clusterSize)
            return offset
        }

        // Copies of the L2 tables that change, and a new L1 table.
        var l1 = targetTables.l1
        var dead: [UInt64] = []
        let touched = Set(newEntries.keys.map { Int($0 / UInt64(perL2)) }).sorted()
        for l1Index in touched {
            var table = try targetTables.l2(l1Index) ?? [UInt64](repeating: 0, count: perL2)
            for slot in 0..<perL2 {
                if let entry = newEntries[UInt64(l1Index * perL2 + slot)] { table[slot] = entry }
            }
            let old = l1[l1Index] & QCOW2Format.offsetMask
            if old != 0 { dead.append(old) }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(clusterSize)
            for entry in table { bytes.appendBigEndian(entry) }
            l1[l1Index] = try appendMetadata(bytes) | QCOW2Format.copiedFlag
        }
        let l1Clusters = max(1, (l1.count * 8 + clusterSize - 1) / clusterSize)
        if targetTables.header.l1TableOffset != 0 {
            for index in 0..<l1Clusters { dead.append(targetTables.header.l1TableOffset + UInt64(index * clusterSize)) }
        }
        var l1Bytes: [UInt8] = []
        for entry in l1 { l1Bytes.appendBigEndian(entry) }
        let l1Offset = l1.isEmpty ? 0 : try appendMetadata(l1Bytes)

        // Refcounts: the old ones (dead clusters and the old refcount structures now 0),
        // then 1 for every appended cluster, including the new refcount blocks and table.
        var refcounts = try targetTables.refcounts(upTo: targetOldSize)
        for index in 0..<Int(targetTables.header.refcountTableClusters) {
            dead.append(targetTables.header.refcountTableOffset + UInt64(index * clusterSize))
        }
        dead += targetTables.refcountBlockOffsets
        for offset in dead where Int(offset / cluster) < refcounts.count { refcounts[Int(offset / cluster)] = 0 }
        let used = cursor / cluster
        let perBlock = UInt64(clusterSize / 2)
        var blocks: UInt64 = 1
        var tableClusters: UInt64 = 1
        while true {
            let total = used + blocks + tableClusters
            let needBlocks = (total + perBlock - 1) / perBlock
            let needTable = (needBlocks * 8 + cluster - 1) / cluster
            if needBlocks <= blocks && needTable <= tableClusters { break }
            blocks = max(blocks, needBlocks)
            tableClusters = max(tableClusters, needTable)
        }
        let total = Int(used + blocks + tableClusters)
        while refcounts.count < total { refcounts.append(1) }
        for (index, count) in compressedReferences { refcounts[index] = count }
        var blockBytes = [UInt8](repeating: 0, count: Int(blocks) * clusterSize)
        for (index, count) in refcounts.enumerated() {
            blockBytes[index * 2] = UInt8(count >> 8)
            blockBytes[index * 2 + 1] = UInt8(count & 0xFF)
        }
        let blocksOffset = try appendMetadata(blockBytes)
        var table: [UInt8] = []
        for block in 0..<blocks { table.appendBigEndian(blocksOffset + block * cluster) }
        table += [UInt8](repeating: 0, count: Int(tableClusters) * clusterSize - table.count)
        let tableOffset = try appendMetadata(table)
        precondition(cursor / cluster == UInt64(total), "refcount coverage mismatch")
        // The tail written up to its last non-zero byte: give the file its whole last cluster.
        try target.truncate(to: cursor)
        try target.sync()

        let patch = QCOW2HeaderPatch(l1TableOffset: l1Offset, refcountTableOffset: tableOffset,
                                     refcountTableClusters: UInt32(tableClusters), backingFile: newBackingFile)
        let (header, headerUsed) = try patch.apply(to: targetTables.headerCluster, path: targetPath)
        let headerWrite = UInt64(min(clusterSize, (headerUsed + 4095) / 4096 * 4096))
        return AppendedMerge(header: header, headerUsedBytes: Int(headerWrite), newSize: cursor, appended: appended,
                             deadOffsets: dead.sorted(), clustersCopied: copies.count + compressedCopies.count + zeroes.count,
                             bytesCopied: bytesCopied, bytesWritten: written + headerWrite)
    }

    /// Writes the first `usedBytes` of `header` over the target's header and syncs: the
    /// one write that switches the file to the merged layout (idempotent).
    static func switchHeader(of targetPath: String, to header: [UInt8], usedBytes: Int) throws(BackupError) {
        let target = try HostFile(path: targetPath, flags: O_RDWR, operation: "opening the merge target")
        defer { target.close() }
        try target.write(Array(header[0..<min(usedBytes, header.count)]), at: 0)
        try target.sync()
    }
}
