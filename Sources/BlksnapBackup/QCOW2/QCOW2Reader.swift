#if canImport(Glibc)
import Glibc
#endif

/// Where one guest cluster of a qcow2 file is.
public enum QCOW2ClusterMapping: Hashable, Sendable {
    /// Not in this file: read from the backing file (zeroes without one).
    case unallocated
    /// Reads as zeroes (L2 zero flag); hides the backing file.
    case zero
    /// Stored at this byte offset of the file.
    case data(fileOffset: UInt64)
    /// Stored compressed (in the file's ``QCOW2Header/compressionType``) from this byte on.
    case compressed(QCOW2CompressedDescriptor)

    /// Where the cluster's bytes start in the file, for `.data` and `.compressed`.
    public var fileOffset: UInt64? {
        switch self {
        case .unallocated, .zero: return nil
        case .data(let offset): return offset
        case .compressed(let descriptor): return descriptor.fileOffset
        }
    }
}

/// Reads one qcow2 file (v2 or v3, unencrypted): header, backing file name, L1 and L2
/// tables, data clusters as they are or compressed (zlib or zstd, whoever wrote them).
/// ``QCOW2Chain`` follows backing files. This is the one reader of qcow2 files in the
/// package: restore, serve, verify and the tests read through it.
///
/// Not thread-safe (it caches L2 tables and keeps a decompression context).
public final class QCOW2Reader {
    /// The file's full name (its path, or its URL), for messages.
    public let path: String
    /// The parsed header.
    public let header: QCOW2Header
    /// The backing file name as stored (relative to this file's directory unless absolute).
    public let backingFile: String?
    /// The backing format from the header extension, if any.
    public let backingFormat: String?
    /// The file's size in bytes.
    public let fileSize: UInt64

    private let file: any BackupFileInput
    private let l1: [UInt64]
    private var l2Cache: [Int: [UInt64]] = [:]
    private var l2CacheOrder: [Int] = []
    private var decompressor: ClusterDecompressor?
    private var compressedInput: UnsafeMutableRawBufferPointer?

    /// Opens `path` read-only and reads its header and L1 table.
    public convenience init(path: String) throws(BackupError) {
        try self.init(input: try HostFileInput(path: path))
    }

    /// Reads the header and L1 table of `input` (a file of the host, an object).
    public init(input: any BackupFileInput) throws(BackupError) {
        path = input.name
        file = input
        fileSize = input.size
        let first = try file.readExactly(min(Int(fileSize), 4096), at: 0, what: "header")
        do {
            header = try QCOW2Header(decoding: first)
        } catch {
            throw BackupError(.corrupted, "\(path): \(error.description)")
        }
        let clusterSize = UInt64(header.clusterSize)
        // Header extensions (v3: after header_length; v2: after the 72-byte header).
        var format: String?
        var offset = Int(header.headerLength)
        let extensionEnd = min(Int(clusterSize), Int(fileSize))
        let area = try file.readExactly(extensionEnd, at: 0, what: "header cluster")
        while offset + 8 <= area.count {
            let type = area.bigEndian(UInt32.self, at: offset)
            let length = Int(area.bigEndian(UInt32.self, at: offset + 4))
            if type == QCOW2Format.extensionEnd { break }
            guard offset + 8 + length <= area.count else {
                throw BackupError(.corrupted, "\(path): header extension 0x\(String(type, radix: 16)) at byte \(offset) runs past the first cluster")
            }
            if type == QCOW2Format.extensionBackingFormat {
                format = String(decoding: area[(offset + 8)..<(offset + 8 + length)], as: UTF8.self)
            }
            offset += 8 + (length + 7) / 8 * 8
        }
        backingFormat = format
        if header.backingFileOffset != 0 && header.backingFileSize != 0 {
            guard header.backingFileSize <= 1023 else {
                throw BackupError(.corrupted, "\(path): backing file name of \(header.backingFileSize) bytes (qcow2 allows 1023)")
            }
            let name = try file.readExactly(Int(header.backingFileSize), at: header.backingFileOffset, what: "backing file name")
            backingFile = String(decoding: name, as: UTF8.self)
        } else {
            backingFile = nil
        }
        guard header.l1TableOffset % clusterSize == 0, header.l1TableOffset + UInt64(header.l1Size) * 8 <= fileSize || header.l1Size == 0 else {
            throw BackupError(.corrupted, "\(path): L1 table at byte \(header.l1TableOffset) (\(header.l1Size) entries) is misaligned or past the end of the file (\(fileSize) bytes)")
        }
        let perL1 = clusterSize * (clusterSize / 8)
        guard UInt64(header.l1Size) * perL1 >= header.size else {
            throw BackupError(.corrupted, "\(path): L1 table of \(header.l1Size) entries cannot map \(header.size) bytes")
        }
        let l1Bytes = header.l1Size == 0 ? [] : try file.readExactly(Int(header.l1Size) * 8, at: header.l1TableOffset, what: "L1 table")
        l1 = (0..<Int(header.l1Size)).map { l1Bytes.bigEndian(UInt64.self, at: $0 * 8) }
    }

    deinit {
        compressedInput?.deallocate()
    }

    /// The virtual disk size.
    public var virtualSize: UInt64 { header.size }
    /// The cluster size.
    public var clusterSize: Int { header.clusterSize }

    /// Where guest cluster `index` is in this file.
    public func mapping(ofGuestCluster index: UInt64) throws(BackupError) -> QCOW2ClusterMapping {
        let clusterSize = UInt64(header.clusterSize)
        guard index * clusterSize < header.size else { return .unallocated }
        let entriesPerL2 = clusterSize / 8
        let l1Index = Int(index / entriesPerL2)
        let l2Offset = l1[l1Index] & QCOW2Format.offsetMask
        guard l2Offset != 0 else { return .unallocated }
        let table = try l2Table(l1Index, at: l2Offset)
        let entry = table[Int(index % entriesPerL2)]
        if entry & QCOW2Format.compressedFlag != 0 {
            let descriptor = QCOW2CompressedDescriptor(entry: entry, clusterBits: header.clusterBits)
            guard descriptor.fileOffset < fileSize else {
                throw BackupError(.corrupted, "\(path): L2 entry of guest cluster \(index) points at compressed data at byte \(descriptor.fileOffset), past the end of the file (\(fileSize) bytes)")
            }
            return .compressed(descriptor)
        }
        if header.version >= 3, entry & QCOW2Format.zeroFlag != 0 { return .zero }
        let host = entry & QCOW2Format.offsetMask
        guard host != 0 else { return .unallocated }
        guard host % clusterSize == 0, host < fileSize else {
            throw BackupError(.corrupted, "\(path): L2 entry of guest cluster \(index) points at byte \(host), misaligned or past the end of the file (\(fileSize) bytes)")
        }
        return .data(fileOffset: host)
    }

    private func l2Table(_ index: Int, at offset: UInt64) throws(BackupError) -> [UInt64] {
        if let table = l2Cache[index] { return table }
        let clusterSize = UInt64(header.clusterSize)
        guard offset % clusterSize == 0, offset + clusterSize <= fileSize else {
            throw BackupError(.corrupted, "\(path): L1 entry \(index) points at byte \(offset), misaligned or past the end of the file (\(fileSize) bytes)")
        }
        let bytes = try file.readExactly(Int(clusterSize), at: offset, what: "L2 table")
        let table = (0..<Int(clusterSize / 8)).map { bytes.bigEndian(UInt64.self, at: $0 * 8) }
        if l2CacheOrder.count >= 64 {
            l2Cache[l2CacheOrder.removeFirst()] = nil
        }
        l2Cache[index] = table
        l2CacheOrder.append(index)
        return table
    }

    /// Reads raw bytes of the file (a cluster, a table).
    public func readFile(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BackupError) -> Int {
        try file.read(into: buffer, at: offset)
    }

    /// Fills `slot` (exactly one cluster) with the guest bytes of a cluster this file
    /// stores (`mapping` is `.data` or `.compressed`, from ``mapping(ofGuestCluster:)``),
    /// decompressing a compressed one.
    ///
    /// - Throws: ``BackupError`` `.corrupted` (EILSEQ for data that does not decompress
    ///   into one cluster) when the data is cut short by the end of the file or damaged.
    public func readCluster(_ mapping: QCOW2ClusterMapping, into slot: UnsafeMutableRawBufferPointer) throws(BackupError) {
        precondition(slot.count == clusterSize, "one whole cluster")
        switch mapping {
        case .unallocated, .zero:
            slot.initializeMemory(as: UInt8.self, repeating: 0)
        case .data(let offset):
            let n = try file.read(into: slot, at: offset)
            guard n == clusterSize else {
                throw BackupError(.corrupted, "\(path): the data cluster at byte \(offset) is cut short by the end of the file (\(fileSize) bytes): the file is truncated")
            }
        case .compressed(let descriptor):
            if compressedInput == nil {
                // The span of a descriptor is at most 2^(cluster_bits - 8) sectors: two clusters.
                compressedInput = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * clusterSize, alignment: 4096)
            }
            guard let input = compressedInput else { return }
            let wanted = min(descriptor.spanBytes, input.count)
            let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: input[..<wanted]), at: descriptor.fileOffset)
            if decompressor == nil { decompressor = ClusterDecompressor(header.compressionType) }
            if let problem = decompressor?.decompress(UnsafeRawBufferPointer(rebasing: input[..<n]), into: slot) {
                throw BackupError(.corrupted, "\(path): the compressed cluster at byte \(descriptor.fileOffset) (\(descriptor.spanBytes) bytes) does not decompress into one cluster (\(problem); EILSEQ): the file is damaged; run 'backup verify', restore an earlier point or take a new full backup",
                                  errno: .illegalByteSequence)
            }
        }
    }
}

/// A qcow2 file and its backing files, read as one disk: a cluster comes from the first
/// file that maps it (or reads as zeroes).
public final class QCOW2Chain {
    /// Head first, then each backing file.
    public let files: [QCOW2Reader]
    /// The name each of ``files`` was opened by: paths (``init(headPath:)``), or names in
    /// the storage (``init(head:in:)``).
    public let names: [String]

    /// Opens `headPath` and every backing file it names, resolved relative to the
    /// directory of the file that names it; refuses a loop, a missing file, a backing
    /// format other than qcow2, and more than 1000 files.
    public convenience init(headPath: String) throws(BackupError) {
        try self.init(head: headPath, allowsAbsolute: true, describe: { $0 }, exists: { HostFile.exists($0) },
                      open: { (path) throws(BackupError) in try HostFileInput(path: path) })
    }

    /// Opens file `head` of `storage` and every backing file it names, resolved relative
    /// to the folder of the file that names it (absolute names are refused: a repository's
    /// files name their parents by relative name); refuses what ``init(headPath:)`` refuses.
    public convenience init(head: String, in storage: any BackupStorage) throws(BackupError) {
        try self.init(head: head, allowsAbsolute: false, describe: storage.describe, exists: storage.exists,
                      open: storage.openForReading)
    }

    private init(head: String, allowsAbsolute: Bool, describe: (String) -> String,
                 exists: (String) throws(BackupError) -> Bool,
                 open: (String) throws(BackupError) -> any BackupFileInput) throws(BackupError) {
        var files: [QCOW2Reader] = []
        var names: [String] = []
        var next: String? = head
        while let name = next {
            guard !names.contains(name) else {
                throw BackupError(.corrupted, "\(describe(head)): its backing chain loops back to \(describe(name))")
            }
            guard files.count < 1000 else { throw BackupError(.corrupted, "\(describe(head)): backing chain longer than 1000 files") }
            guard try exists(name) else {
                let named = files.last.map { " (named as backing file by \($0.path))" } ?? ""
                throw BackupError(.corrupted, "\(describe(name))\(named) is missing: the chain cannot be read; restore the file or take a new full backup", errno: .noSuchFileOrDirectory)
            }
            let reader = try QCOW2Reader(input: try open(name))
            if let format = reader.backingFormat, format != "qcow2" {
                throw BackupError(.refused, "\(reader.path): backing format '\(format)' is not qcow2")
            }
            files.append(reader)
            names.append(name)
            if let backing = reader.backingFile {
                if backing.hasPrefix("/") {
                    guard allowsAbsolute else {
                        throw BackupError(.corrupted, "\(reader.path) names its backing file by the absolute path \(backing): the files of a repository name their parents by relative name")
                    }
                    next = backing
                } else if let slash = name.lastIndex(of: "/") {
                    next = String(name[...slash]) + backing
                } else {
                    next = backing
                }
            } else {
                next = nil
            }
        }
        self.files = files
        self.names = names
    }

    /// The head's virtual size.
    public var virtualSize: UInt64 { files[0].virtualSize }
    /// The head's cluster size.
    public var clusterSize: Int { files[0].clusterSize }

    /// Which file holds guest cluster `index` (at the head's cluster size; every file of
    /// a chain this package writes has the same), and how (`.data` or `.compressed`): nil
    /// when it reads as zeroes.
    public func locate(guestCluster index: UInt64) throws(BackupError) -> (file: QCOW2Reader, mapping: QCOW2ClusterMapping)? {
        for file in files {
            guard file.clusterSize == clusterSize else {
                throw BackupError(.refused, "\(file.path): cluster size \(file.clusterSize) differs from the head's \(clusterSize)")
            }
            let mapping = try file.mapping(ofGuestCluster: index)
            switch mapping {
            case .unallocated: continue
            case .zero: return nil
            case .data, .compressed: return (file, mapping)
            }
        }
        return nil
    }

    /// Fills `buffer` (at most one cluster, not crossing a cluster boundary) with guest
    /// bytes from `guestOffset`; returns whether they came from a data cluster (false:
    /// zeroes were filled in).
    @discardableResult
    public func read(into buffer: UnsafeMutableRawBufferPointer, guestOffset: UInt64) throws(BackupError) -> Bool {
        let cluster = guestOffset / UInt64(clusterSize)
        let within = guestOffset % UInt64(clusterSize)
        precondition(within + UInt64(buffer.count) <= UInt64(clusterSize), "a read must stay within one cluster")
        guard let (file, mapping) = try locate(guestCluster: cluster) else {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            return false
        }
        if case .data(let offset) = mapping {
            let n = try file.readFile(into: buffer, at: offset + within)
            if n < buffer.count {
                throw BackupError(.corrupted, "\(file.path): data cluster at byte \(offset) is cut short by the end of the file (\(file.fileSize) bytes): the file is truncated")
            }
            return true
        }
        let whole = UnsafeMutableRawBufferPointer.allocate(byteCount: clusterSize, alignment: 16)
        defer { whole.deallocate() }
        try file.readCluster(mapping, into: whole)
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: whole[Int(within)..<(Int(within) + buffer.count)]))
        return true
    }
}
