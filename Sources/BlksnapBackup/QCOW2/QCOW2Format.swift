/// The parts of the qcow2 v3 format (QEMU's `docs/interop/qcow2.txt`) that the writer
/// produces and the reader accepts: 64 KiB clusters (or any `cluster_bits` 9–21 when
/// reading), 16-bit refcounts, compressed clusters (zlib, or zstd with the
/// `compression_type` header field), no encryption, no internal snapshots, no external
/// data file.
///
/// Every field is big-endian.
public enum QCOW2Format {
    /// `QFI\xfb`.
    public static let magic: UInt32 = 0x5146_49FB
    /// The version written: 3.
    public static let version: UInt32 = 3
    /// log2 of the cluster size the writer uses: 16 (64 KiB, QEMU's default).
    public static let clusterBits: UInt32 = 16
    /// The cluster size the writer uses, in bytes.
    public static let clusterSize = 1 << Int(clusterBits)

    /// The largest file ``QCOW2Writer`` makes of a disk of `virtualSize` bytes when it is
    /// given blocks of at least 16 clusters (1 MiB; `backup create` reads 4 MiB): every data
    /// cluster, up to one cluster left partly empty per block by compressed data before an
    /// aligned cluster, the tables and refcounts (well under 1/1000 of the data), and 64
    /// clusters to spare. An upload sizes its parts by it.
    public static func maximumFileBytes(virtualSize: UInt64) -> UInt64 {
        let clusters = (virtualSize + UInt64(clusterSize) - 1) / UInt64(clusterSize)
        return (clusters + clusters / 16 + clusters / 1000 + 64) * UInt64(clusterSize)
    }
    /// log2 of the refcount width in bits: 4 (16-bit refcounts, QEMU's default).
    public static let refcountOrder: UInt32 = 4
    /// Length of the v3 header without the optional compression-type byte.
    public static let headerLength: UInt32 = 104
    /// Length of the v3 header with the `compression_type` byte (at 104) and its padding
    /// to a multiple of 8.
    public static let headerLengthWithCompressionType: UInt32 = 112
    /// Incompatible feature bit 3: a compression type other than zlib is in
    /// `compression_type`.
    public static let compressionTypeFeature: UInt64 = 1 << 3
    /// Compressed data is located and sized in units of 512 bytes.
    public static let compressedSectorSize = 512
    /// Header extension: backing file format name.
    public static let extensionBackingFormat: UInt32 = 0xE279_2ACA
    /// Header extension: end of the extension area.
    public static let extensionEnd: UInt32 = 0
    /// L1/L2 entry flag: the cluster's refcount is exactly one (bit 63).
    public static let copiedFlag: UInt64 = 1 << 63
    /// L2 entry flag: compressed cluster (bit 62); the rest of the entry is a compressed
    /// cluster descriptor (``QCOW2CompressedDescriptor``).
    public static let compressedFlag: UInt64 = 1 << 62
    /// L2 entry flag (v3): the cluster reads as zeroes (bit 0).
    public static let zeroFlag: UInt64 = 1
    /// Bits 9–55 of an L1/L2 entry: the host offset.
    public static let offsetMask: UInt64 = 0x00FF_FFFF_FFFF_FE00
    /// Incompatible feature bits this implementation understands: the compression type
    /// (bit 3); dirty, corrupt, external data and extended L2 are refused.
    public static let supportedIncompatibleFeatures: UInt64 = compressionTypeFeature
}

/// The qcow2 v3 header: 104 bytes, or 112 with `compression_type`.
public struct QCOW2Header: Hashable, Sendable {
    /// Offset of the backing file name in the file, 0 for none.
    public var backingFileOffset: UInt64 = 0
    /// Length of the backing file name (not NUL-terminated).
    public var backingFileSize: UInt32 = 0
    /// log2 of the cluster size.
    public var clusterBits: UInt32 = QCOW2Format.clusterBits
    /// Virtual disk size in bytes.
    public var size: UInt64 = 0
    /// Entries in the L1 table.
    public var l1Size: UInt32 = 0
    /// Offset of the L1 table (cluster-aligned).
    public var l1TableOffset: UInt64 = 0
    /// Offset of the refcount table (cluster-aligned).
    public var refcountTableOffset: UInt64 = 0
    /// Clusters the refcount table occupies.
    public var refcountTableClusters: UInt32 = 0
    /// Incompatible feature bits.
    public var incompatibleFeatures: UInt64 = 0
    /// Compatible feature bits.
    public var compatibleFeatures: UInt64 = 0
    /// Auto-clear feature bits.
    public var autoclearFeatures: UInt64 = 0
    /// log2 of the refcount width in bits.
    public var refcountOrder: UInt32 = QCOW2Format.refcountOrder
    /// Header length in bytes.
    public var headerLength: UInt32 = QCOW2Format.headerLength
    /// Encryption method (0: none).
    public var cryptMethod: UInt32 = 0
    /// Internal snapshots.
    public var snapshotCount: UInt32 = 0
    /// Version (2 or 3).
    public var version: UInt32 = QCOW2Format.version
    /// How compressed clusters are stored (`compression_type`, byte 104; zlib when the
    /// header is shorter). Writing zstd needs ``headerLength`` 112 and incompatible bit 3.
    public var compressionType: QCOW2CompressionType = .zlib

    /// A header with the writer's defaults.
    public init() {}

    /// The cluster size in bytes.
    public var clusterSize: Int { 1 << Int(clusterBits) }

    /// The header's ``headerLength`` bytes (104, or 112 with `compression_type`).
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(QCOW2Format.headerLength))
        bytes.appendBigEndian(QCOW2Format.magic)
        bytes.appendBigEndian(version)
        bytes.appendBigEndian(backingFileOffset)
        bytes.appendBigEndian(backingFileSize)
        bytes.appendBigEndian(clusterBits)
        bytes.appendBigEndian(size)
        bytes.appendBigEndian(cryptMethod)
        bytes.appendBigEndian(l1Size)
        bytes.appendBigEndian(l1TableOffset)
        bytes.appendBigEndian(refcountTableOffset)
        bytes.appendBigEndian(refcountTableClusters)
        bytes.appendBigEndian(snapshotCount)
        bytes.appendBigEndian(UInt64(0))  // snapshots_offset
        bytes.appendBigEndian(incompatibleFeatures)
        bytes.appendBigEndian(compatibleFeatures)
        bytes.appendBigEndian(autoclearFeatures)
        bytes.appendBigEndian(refcountOrder)
        bytes.appendBigEndian(headerLength)
        if headerLength >= QCOW2Format.headerLengthWithCompressionType {
            bytes.append(compressionType.rawValue)
            bytes += [UInt8](repeating: 0, count: Int(headerLength) - 105)  // padding to a multiple of 8
        }
        return bytes
    }

    /// Parses the first bytes of a file; throws when they are not a qcow2 header this
    /// implementation can read.
    public init(decoding bytes: [UInt8]) throws(QCOW2FormatError) {
        guard bytes.count >= 72 else { throw .truncated("header", bytes.count) }
        guard bytes.bigEndian(UInt32.self, at: 0) == QCOW2Format.magic else { throw .notQCOW2 }
        version = bytes.bigEndian(UInt32.self, at: 4)
        guard version == 2 || version == 3 else { throw .unsupported("version \(version)") }
        backingFileOffset = bytes.bigEndian(UInt64.self, at: 8)
        backingFileSize = bytes.bigEndian(UInt32.self, at: 16)
        clusterBits = bytes.bigEndian(UInt32.self, at: 20)
        guard (9...21).contains(clusterBits) else { throw .unsupported("cluster_bits \(clusterBits)") }
        size = bytes.bigEndian(UInt64.self, at: 24)
        cryptMethod = bytes.bigEndian(UInt32.self, at: 32)
        guard cryptMethod == 0 else { throw .unsupported("encryption method \(cryptMethod)") }
        l1Size = bytes.bigEndian(UInt32.self, at: 36)
        l1TableOffset = bytes.bigEndian(UInt64.self, at: 40)
        refcountTableOffset = bytes.bigEndian(UInt64.self, at: 48)
        refcountTableClusters = bytes.bigEndian(UInt32.self, at: 56)
        snapshotCount = bytes.bigEndian(UInt32.self, at: 60)
        if version == 3 {
            guard bytes.count >= 104 else { throw .truncated("v3 header", bytes.count) }
            incompatibleFeatures = bytes.bigEndian(UInt64.self, at: 72)
            compatibleFeatures = bytes.bigEndian(UInt64.self, at: 80)
            autoclearFeatures = bytes.bigEndian(UInt64.self, at: 88)
            refcountOrder = bytes.bigEndian(UInt32.self, at: 96)
            headerLength = bytes.bigEndian(UInt32.self, at: 100)
            guard headerLength >= 104, headerLength % 8 == 0 else { throw .malformed("header_length \(headerLength)") }
            let field: UInt8 = headerLength > 104 && bytes.count > 104 ? bytes[104] : 0
            if incompatibleFeatures & QCOW2Format.compressionTypeFeature != 0 {
                guard field != 0 else { throw .malformed("the compression type bit is set but compression_type is 0") }
            } else {
                guard field == 0 else { throw .malformed("compression_type \(field) without the compression type bit") }
            }
            guard let type = QCOW2CompressionType(rawValue: field) else { throw .unsupported("compression type \(field)") }
            compressionType = type
        } else {
            refcountOrder = 4
            headerLength = 72
        }
        let unknown = incompatibleFeatures & ~QCOW2Format.supportedIncompatibleFeatures
        guard unknown == 0 else {
            throw .unsupported("incompatible features 0x\(String(unknown, radix: 16)) (dirty, corrupt, external data file or extended L2)")
        }
    }
}

/// A qcow2 file this implementation cannot read, or one whose structure is broken.
public enum QCOW2FormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No `QFI\xfb` magic.
    case notQCOW2
    /// Fewer bytes than the structure needs.
    case truncated(String, Int)
    /// A feature this implementation does not read.
    case unsupported(String)
    /// A structure that contradicts the format (offset out of the file, misaligned, ...).
    case malformed(String)

    /// What is wrong.
    public var description: String {
        switch self {
        case .notQCOW2: return "not a qcow2 file (no QFI\\xfb magic)"
        case .truncated(let what, let count): return "\(what) truncated (\(count) bytes)"
        case .unsupported(let what): return "unsupported qcow2 feature: \(what)"
        case .malformed(let what): return "malformed qcow2: \(what)"
        }
    }
}

extension [UInt8] {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    func bigEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size {
            value = value << 8 | T(self[offset + index])
        }
        return value
    }
}

extension UnsafeRawBufferPointer {
    /// True when every byte is zero (8 bytes at a time).
    func isAllZero() -> Bool {
        guard let base = baseAddress else { return true }
        let words = count / 8
        var index = 0
        var accumulated: UInt64 = 0
        while index < words {
            accumulated |= base.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)
            if index & 127 == 127, accumulated != 0 { return false }
            index += 1
        }
        if accumulated != 0 { return false }
        for byte in words * 8..<count where base.load(fromByteOffset: byte, as: UInt8.self) != 0 { return false }
        return true
    }
}
