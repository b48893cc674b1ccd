import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// One cluster of a written qcow2 file and the SHA-256 of its bytes, as the catalog keeps it.
public struct WrittenCluster: Hashable, Sendable {
    /// What the cluster holds.
    public enum Kind: String, Hashable, Sendable {
        /// Guest data.
        case data
        /// Header, L1, L2, refcount table or refcount block.
        case metadata
    }

    /// Byte offset of the cluster in the file (for a compressed data cluster, of its
    /// compressed bytes, which need not be cluster-aligned).
    public var fileOffset: UInt64
    /// For data: the guest (disk) offset the cluster holds.
    public var guestOffset: UInt64?
    /// Data or metadata.
    public var kind: Kind
    /// SHA-256 of the cluster's bytes: as written for metadata, uncompressed (the whole
    /// guest cluster) for data, whether it is stored compressed or not.
    public var sha256: [UInt8]

    /// Creates a value.
    public init(fileOffset: UInt64, guestOffset: UInt64?, kind: Kind, sha256: [UInt8]) {
        self.fileOffset = fileOffset
        self.guestOffset = guestOffset
        self.kind = kind
        self.sha256 = sha256
    }
}

/// What ``QCOW2Writer/finish()`` wrote.
public struct QCOW2WriteSummary: Hashable, Sendable {
    /// The file's size in bytes (everything written).
    public var fileSize: UInt64
    /// Data clusters stored (compressed or not).
    public var dataClusters: Int
    /// Of ``dataClusters``, those stored compressed.
    public var compressedClusters: Int
    /// Clusters recorded as "reads as zeroes" (L2 zero flag, no data stored).
    public var zeroClusters: Int
    /// Every cluster of the file with its hash, in file order.
    public var clusters: [WrittenCluster]
}

/// Writes one qcow2 v3 file: 64 KiB clusters, 16-bit refcounts, an optional backing file,
/// optionally compressed clusters (``QCOW2Format``), no `qemu-img` involved.
///
/// Guest clusters must be given in ascending order. Layout: cluster 0 holds the header,
/// its extensions and the backing file name; data clusters follow in guest order, each
/// L2 table written after the last data cluster it maps (so memory holds one L2 table);
/// then the L1 table, the refcount blocks and the refcount table. Every cluster has
/// refcount 1 and the file has no hole, so `qemu-img check` finds no leak. Each cluster's
/// SHA-256 is computed as it is written, the clusters of each run on all cores (``ClusterHashing``).
///
/// With compression (``BackupCompression``), the clusters of each block are hashed and
/// compressed on all cores (``ClusterEncoding``); those that shrink are packed byte after
/// byte (a compressed cluster may start anywhere and run into the next host cluster),
/// the others are stored whole, cluster-aligned, before them. When an aligned cluster has
/// to follow packed data, the rest of the last partly filled cluster is kept and later
/// compressed clusters that fit go there. A host cluster holding compressed data has one
/// reference per compressed cluster whose 512-byte sectors touch it, as the format counts
/// them; zstd files get `compression_type` 1 and incompatible feature bit 3.
///
/// The file is written through a ``BackupFileOutput`` (a temporary file the caller renames
/// once ``finish()`` has synced it, an upload in parts). Apart from the header, written
/// last into the first cluster, every write goes at or after the previous one's end,
/// except the compressed clusters that fill a gap an aligned cluster left, which the writer
/// only places there when the output ``BackupFileOutput/acceptsWritesAnywhere``.
public final class QCOW2Writer {
    /// The file being written (its path, or the output's name).
    public let path: String
    /// The virtual disk size.
    public let virtualSize: UInt64
    /// The backing file name as stored in the header (relative to this file's directory), if any.
    public let backingFile: String?
    /// How data clusters are stored.
    public let compression: BackupCompression

    private let file: any BackupFileOutput
    private let clusterSize = QCOW2Format.clusterSize
    private let l2Entries = QCOW2Format.clusterSize / 8
    private var l1: [UInt64]
    private var l2: [UInt64]
    private var l2Index: Int?
    private var cursor: UInt64
    private var lastGuestCluster: UInt64?
    private var clusters: [WrittenCluster] = []
    private var dataClusters = 0
    private var zeroClusters = 0
    private var compressedClusters = 0
    private var finished = false
    private let zeroPadded: UnsafeMutableRawBufferPointer
    /// Hashes and compresses blocks (nil without compression).
    private let encoding: ClusterEncoding?
    /// Where the bytes of a compressed block go before their one `pwrite`.
    private var staging = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// The free end of a host cluster that compressed data filled in part before an
    /// aligned cluster had to follow it: later compressed clusters that fit go there.
    private var gap: Range<UInt64>?
    /// References of each host cluster holding compressed data (0: none, the cluster is
    /// an ordinary one with refcount 1); empty without compression.
    private var compressedReferences: [UInt16] = []

    /// Creates (or truncates) `path`; nothing is valid qcow2 until ``finish()``.
    ///
    /// - Parameters:
    ///   - virtualSize: the disk's size in bytes.
    ///   - backingFile: the backing file's name relative to the directory of `path`
    ///     (written with `backing_fmt=qcow2`); at most 1023 bytes.
    ///   - compression: how data clusters are stored (uncompressed by default).
    public convenience init(path: String, virtualSize: UInt64, backingFile: String? = nil,
                            compression: BackupCompression = .none) throws(BackupError) {
        try self.init(output: try HostFileOutput(path: path), virtualSize: virtualSize, backingFile: backingFile,
                      compression: compression)
    }

    /// Writes into `output`; nothing is valid qcow2 until ``finish()``.
    ///
    /// - Parameters:
    ///   - output: where the bytes go.
    ///   - virtualSize: the disk's size in bytes.
    ///   - backingFile: the backing file's name relative to the output's folder (written
    ///     with `backing_fmt=qcow2`); at most 1023 bytes.
    ///   - compression: how data clusters are stored (uncompressed by default).
    public init(output: any BackupFileOutput, virtualSize: UInt64, backingFile: String? = nil,
                compression: BackupCompression = .none) throws(BackupError) {
        if let backingFile, backingFile.utf8.count > 1023 || backingFile.isEmpty {
            throw BackupError(.refused, "backing file name '\(backingFile)' must be 1 to 1023 bytes (qcow2 limit)")
        }
        self.path = output.name
        self.virtualSize = virtualSize
        self.backingFile = backingFile
        self.compression = compression
        encoding = ClusterEncoding(compression, clusterBytes: QCOW2Format.clusterSize)
        file = output
        let perL1 = UInt64(QCOW2Format.clusterSize) * UInt64(QCOW2Format.clusterSize / 8)
        l1 = [UInt64](repeating: 0, count: Int((virtualSize + perL1 - 1) / perL1))
        l2 = [UInt64](repeating: 0, count: QCOW2Format.clusterSize / 8)
        cursor = UInt64(QCOW2Format.clusterSize)  // cluster 0: header, written last
        zeroPadded = UnsafeMutableRawBufferPointer.allocate(byteCount: QCOW2Format.clusterSize, alignment: 4096)
    }

    deinit {
        zeroPadded.deallocate()
        staging.deallocate()
    }

    /// Bytes of the file so far: the header's cluster and every cluster appended (data,
    /// L2 tables); the L1 and refcount tables come at ``finish()``.
    public var fileBytes: UInt64 { cursor }

    /// Number of guest clusters of the disk.
    public var guestClusterCount: UInt64 { (virtualSize + UInt64(clusterSize) - 1) / UInt64(clusterSize) }

    /// Writes the guest bytes at `guestOffset` (cluster-aligned): whole clusters, the last
    /// one possibly cut by the end of the disk. A cluster that is all zeroes is not
    /// stored: left unallocated when the file has no backing file (it reads as zeroes),
    /// marked with the L2 zero flag when it has one (it must hide the backing file's data).
    /// With compression, each cluster that shrinks is stored compressed.
    public func write(guestOffset: UInt64, bytes: UnsafeRawBufferPointer) throws(BackupError) {
        precondition(guestOffset % UInt64(clusterSize) == 0, "guest offset must be cluster-aligned")
        if let encoding {
            try writeCompressing(guestOffset: guestOffset, bytes: bytes, encoding: encoding)
            return
        }
        var position = 0
        var runStart: Int?
        var runClusters: [(guest: UInt64, start: Int, length: Int)] = []
        func flushRun() throws(BackupError) {
            guard let start = runStart else { return }
            let length = position - start
            let fileOffset = cursor
            try file.write(UnsafeRawBufferPointer(rebasing: bytes[start..<position]), at: fileOffset)
            cursor += UInt64(length)  // before mapping: a full L2 table is appended at the cursor
            let digests = ClusterHashing.sha256(ofClustersIn: UnsafeRawBufferPointer(rebasing: bytes[start..<position]),
                                                clusterBytes: clusterSize)
            for (index, cluster) in runClusters.enumerated() {
                let host = fileOffset + UInt64(index * clusterSize)
                try map(guestCluster: cluster.guest, to: host | QCOW2Format.copiedFlag)
                clusters.append(WrittenCluster(fileOffset: host, guestOffset: cluster.guest * UInt64(clusterSize), kind: .data,
                                               sha256: digests[index]))
            }
            dataClusters += runClusters.count
            runStart = nil
            runClusters.removeAll(keepingCapacity: true)
        }
        while position < bytes.count {
            let guest = guestOffset + UInt64(position)
            guard guest < virtualSize else { break }
            let guestCluster = guest / UInt64(clusterSize)
            let length = min(clusterSize, bytes.count - position)
            let isLastOfDisk = guest + UInt64(length) >= virtualSize
            precondition(length == clusterSize || isLastOfDisk, "only the disk's last cluster may be partial")
            if let last = lastGuestCluster { precondition(guestCluster > last, "guest clusters must be written in ascending order") }
            lastGuestCluster = guestCluster
            let piece = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
            if piece.isAllZero() {
                try flushRun()
                if backingFile != nil {
                    try map(guestCluster: guestCluster, to: QCOW2Format.zeroFlag)
                    zeroClusters += 1
                }
            } else if length < clusterSize {
                // The disk's last cluster, cut: stored padded with zeroes to a whole cluster.
                try flushRun()
                zeroPadded.initializeMemory(as: UInt8.self, repeating: 0)
                zeroPadded.copyMemory(from: piece)
                let host = cursor
                try file.write(UnsafeRawBufferPointer(zeroPadded), at: host)
                cursor += UInt64(clusterSize)
                try map(guestCluster: guestCluster, to: host | QCOW2Format.copiedFlag)
                clusters.append(WrittenCluster(fileOffset: host, guestOffset: guestCluster * UInt64(clusterSize), kind: .data,
                                               sha256: Self.sha256(UnsafeRawBufferPointer(zeroPadded))))
                dataClusters += 1
            } else {
                if runStart == nil { runStart = position }
                runClusters.append((guestCluster, position, length))
            }
            position += length
        }
        try flushRun()
    }

    /// ``write(guestOffset:bytes:)`` with compression: classify the block's clusters, hash
    /// and compress them on all cores, place them (whole ones aligned first, then the
    /// compressed ones packed), write the block with one `pwrite` (plus one per compressed
    /// cluster that fills an earlier gap), then map them in guest order.
    private func writeCompressing(guestOffset: UInt64, bytes: UnsafeRawBufferPointer, encoding: ClusterEncoding) throws(BackupError) {
        // The block's clusters in guest order: nil input for a zero cluster.
        var items: [(guest: UInt64, input: Int?)] = []
        var inputs: [UnsafeRawBufferPointer] = []
        var position = 0
        while position < bytes.count {
            let guest = guestOffset + UInt64(position)
            guard guest < virtualSize else { break }
            let guestCluster = guest / UInt64(clusterSize)
            let length = min(clusterSize, bytes.count - position)
            precondition(length == clusterSize || guest + UInt64(length) >= virtualSize, "only the disk's last cluster may be partial")
            if let last = lastGuestCluster { precondition(guestCluster > last, "guest clusters must be written in ascending order") }
            lastGuestCluster = guestCluster
            let piece = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
            if piece.isAllZero() {
                items.append((guestCluster, nil))
            } else if length < clusterSize {
                // The disk's last cluster, cut: compressed (or stored) padded with zeroes.
                zeroPadded.initializeMemory(as: UInt8.self, repeating: 0)
                zeroPadded.copyMemory(from: piece)
                items.append((guestCluster, inputs.count))
                inputs.append(UnsafeRawBufferPointer(zeroPadded))
            } else {
                items.append((guestCluster, inputs.count))
                inputs.append(piece)
            }
            position += length
        }
        let encoded = encoding.encode(inputs)
        // Placement: the clusters that did not shrink, aligned and contiguous; then the
        // compressed ones, each in the gap if it fits there, else packed at the end.
        if staging.count < inputs.count * clusterSize {
            staging.deallocate()
            staging = UnsafeMutableRawBufferPointer.allocate(byteCount: inputs.count * clusterSize, alignment: 4096)
        }
        var hosts = [UInt64](repeating: 0, count: inputs.count)
        var staged = 0
        var stagingStart: UInt64?
        for index in inputs.indices where encoded[index].compressedBytes == nil {
            if stagingStart == nil {
                alignCursor()
                stagingStart = cursor
            }
            UnsafeMutableRawBufferPointer(rebasing: staging[staged..<(staged + clusterSize)]).copyMemory(from: inputs[index])
            hosts[index] = cursor
            staged += clusterSize
            cursor += UInt64(clusterSize)
        }
        for index in inputs.indices {
            guard let length = encoded[index].compressedBytes else { continue }
            let data = encoding.compressed(index, length: length)
            let host: UInt64
            if let free = gap, free.count >= length, file.acceptsWritesAnywhere {
                host = free.lowerBound
                try file.write(data, at: host)
                gap = free.count - length >= QCOW2Format.compressedSectorSize ? (host + UInt64(length))..<free.upperBound : nil
            } else {
                if stagingStart == nil { stagingStart = cursor }
                host = cursor
                UnsafeMutableRawBufferPointer(rebasing: staging[staged..<(staged + length)]).copyMemory(from: data)
                staged += length
                cursor += UInt64(length)
            }
            hosts[index] = host
            reference(QCOW2CompressedDescriptor(fileOffset: host, lengthBytes: length))
        }
        if let start = stagingStart, staged > 0 {
            try file.write(UnsafeRawBufferPointer(rebasing: staging[..<staged]), at: start)
        }
        for item in items {
            guard let index = item.input else {
                if backingFile != nil {
                    try map(guestCluster: item.guest, to: QCOW2Format.zeroFlag)
                    zeroClusters += 1
                }
                continue
            }
            if let length = encoded[index].compressedBytes {
                let descriptor = QCOW2CompressedDescriptor(fileOffset: hosts[index], lengthBytes: length)
                try map(guestCluster: item.guest, to: descriptor.entry(clusterBits: QCOW2Format.clusterBits))
                compressedClusters += 1
            } else {
                try map(guestCluster: item.guest, to: hosts[index] | QCOW2Format.copiedFlag)
            }
            clusters.append(WrittenCluster(fileOffset: hosts[index], guestOffset: item.guest * UInt64(clusterSize), kind: .data,
                                           sha256: encoded[index].sha256))
            dataClusters += 1
        }
    }

    /// Counts one reference to every host cluster the sectors of `descriptor` touch.
    private func reference(_ descriptor: QCOW2CompressedDescriptor) {
        let first = Int(descriptor.fileOffset / UInt64(clusterSize))
        let last = Int((descriptor.fileOffset + UInt64(descriptor.spanBytes) - 1) / UInt64(clusterSize))
        if compressedReferences.count <= last {
            compressedReferences += [UInt16](repeating: 0, count: max(last + 1 - compressedReferences.count, 1024))
        }
        for cluster in first...last {
            precondition(compressedReferences[cluster] < UInt16.max, "more than 65535 compressed clusters in one host cluster")
            compressedReferences[cluster] += 1
        }
    }

    /// Moves the cursor to the next cluster boundary when compressed data left it inside a
    /// cluster; the rest of that cluster becomes the gap (if larger than the current one).
    private func alignCursor() {
        let remainder = cursor % UInt64(clusterSize)
        guard remainder != 0 else { return }
        let aligned = cursor - remainder + UInt64(clusterSize)
        if (gap?.count ?? 0) < Int(aligned - cursor) { gap = cursor..<aligned }
        cursor = aligned
    }

    /// The refcount of host cluster `index` once the file is whole.
    private func refcount(ofHostCluster index: Int) -> UInt16 {
        index < compressedReferences.count && compressedReferences[index] != 0 ? compressedReferences[index] : 1
    }

    /// Records a guest cluster as reading zeroes (L2 zero flag) without reading anything:
    /// for a file with a backing file, where the cluster must hide the backing data.
    public func writeZeroes(guestCluster: UInt64) throws(BackupError) {
        if let last = lastGuestCluster { precondition(guestCluster > last, "guest clusters must be written in ascending order") }
        lastGuestCluster = guestCluster
        try map(guestCluster: guestCluster, to: QCOW2Format.zeroFlag)
        zeroClusters += 1
    }

    private func map(guestCluster: UInt64, to entry: UInt64) throws(BackupError) {
        let index = Int(guestCluster / UInt64(l2Entries))
        if l2Index != index {
            try flushL2()
            l2Index = index
        }
        l2[Int(guestCluster % UInt64(l2Entries))] = entry
    }

    /// Writes the current L2 table (if it maps anything) and points the L1 entry at it.
    private func flushL2() throws(BackupError) {
        guard let index = l2Index else { return }
        var table = [UInt8]()
        table.reserveCapacity(clusterSize)
        for entry in l2 { table.appendBigEndian(entry) }
        try appendMetadata(table)
        l1[index] = (cursor - UInt64(clusterSize)) | QCOW2Format.copiedFlag
        for slot in l2.indices { l2[slot] = 0 }
        l2Index = nil
    }

    /// Appends whole metadata clusters at the (aligned) cursor, hashing each.
    private func appendMetadata(_ bytes: [UInt8]) throws(BackupError) {
        alignCursor()
        var padded = bytes
        let remainder = padded.count % clusterSize
        if remainder != 0 || padded.isEmpty { padded += [UInt8](repeating: 0, count: clusterSize - remainder) }
        try file.write(padded, at: cursor)
        padded.withUnsafeBytes { raw in
            for start in stride(from: 0, to: raw.count, by: clusterSize) {
                clusters.append(WrittenCluster(fileOffset: cursor + UInt64(start), guestOffset: nil, kind: .metadata,
                                               sha256: Self.sha256(UnsafeRawBufferPointer(rebasing: raw[start..<(start + clusterSize)]))))
            }
        }
        cursor += UInt64(padded.count)
    }

    /// Writes the remaining L2 table, the L1 table, the refcounts and the header, then
    /// `fsync`s the file. The writer cannot be used afterwards.
    public func finish() throws(BackupError) -> QCOW2WriteSummary {
        precondition(!finished, "finish() called twice")
        finished = true
        try flushL2()
        alignCursor()
        // L1 table.
        let l1Offset = cursor
        var l1Bytes = [UInt8]()
        for entry in l1 { l1Bytes.appendBigEndian(entry) }
        if !l1Bytes.isEmpty { try appendMetadata(l1Bytes) }
        // Refcounts: every cluster from 0 to the end has refcount 1 (one per compressed
        // cluster touching it for those holding compressed data), including the refcount
        // structures themselves; find the smallest block and table counts that cover all.
        let used = cursor / UInt64(clusterSize)
        let perBlock = UInt64(clusterSize * 8 / (1 << Int(QCOW2Format.refcountOrder)))
        var blocks: UInt64 = 1
        var tableClusters: UInt64 = 1
        while true {
            let total = used + blocks + tableClusters
            let needBlocks = (total + perBlock - 1) / perBlock
            let needTable = (needBlocks * 8 + UInt64(clusterSize) - 1) / UInt64(clusterSize)
            if needBlocks <= blocks && needTable <= tableClusters { break }
            blocks = max(blocks, needBlocks)
            tableClusters = max(tableClusters, needTable)
        }
        let total = used + blocks + tableClusters
        let blocksOffset = cursor
        var refcounts = [UInt8](repeating: 0, count: Int(blocks) * clusterSize)
        for cluster in 0..<Int(total) {
            let count = refcount(ofHostCluster: cluster)  // 16-bit big-endian
            refcounts[cluster * 2] = UInt8(count >> 8)
            refcounts[cluster * 2 + 1] = UInt8(count & 0xFF)
        }
        try appendMetadata(refcounts)
        let tableOffset = cursor
        var table = [UInt8]()
        for block in 0..<blocks { table.appendBigEndian(blocksOffset + block * UInt64(clusterSize)) }
        try appendMetadata(table)
        precondition(cursor / UInt64(clusterSize) == total, "refcount coverage mismatch")
        // Header cluster.
        var header = QCOW2Header()
        header.size = virtualSize
        header.l1Size = UInt32(l1.count)
        header.l1TableOffset = l1.isEmpty ? 0 : l1Offset
        header.refcountTableOffset = tableOffset
        header.refcountTableClusters = UInt32(tableClusters)
        if compression.qcow2Type == .zstd {
            header.compressionType = .zstd
            header.headerLength = QCOW2Format.headerLengthWithCompressionType
            header.incompatibleFeatures |= QCOW2Format.compressionTypeFeature
        }
        var headerBytes = [UInt8]()
        var extensions = [UInt8]()
        if backingFile != nil {
            let format = Array("qcow2".utf8)
            extensions.appendBigEndian(QCOW2Format.extensionBackingFormat)
            extensions.appendBigEndian(UInt32(format.count))
            extensions += format
            while extensions.count % 8 != 0 { extensions.append(0) }
        }
        extensions.appendBigEndian(QCOW2Format.extensionEnd)
        extensions.appendBigEndian(UInt32(0))
        if let backingFile {
            let name = Array(backingFile.utf8)
            header.backingFileOffset = UInt64(header.headerLength) + UInt64(extensions.count)
            header.backingFileSize = UInt32(name.count)
            headerBytes = header.encoded() + extensions + name
        } else {
            headerBytes = header.encoded() + extensions
        }
        headerBytes += [UInt8](repeating: 0, count: clusterSize - headerBytes.count)
        try file.write(headerBytes, at: 0)
        let headerHash = headerBytes.withUnsafeBytes { Self.sha256($0) }
        clusters.insert(WrittenCluster(fileOffset: 0, guestOffset: nil, kind: .metadata, sha256: headerHash), at: 0)
        try file.finish()
        return QCOW2WriteSummary(fileSize: cursor, dataClusters: dataClusters, compressedClusters: compressedClusters,
                                 zeroClusters: zeroClusters, clusters: clusters)
    }

    /// SHA-256 of `bytes`.
    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return Array(hasher.finalize())
    }
}
