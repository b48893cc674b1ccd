/// One extent of a file as FIEMAP reports it (`struct fiemap_extent`), in bytes.
public struct FileExtent: Sendable, Hashable, Codable {
    /// Offset in the file.
    public var logicalBytes: UInt64
    /// Offset on the filesystem's block device.
    public var physicalBytes: UInt64
    /// Length.
    public var lengthBytes: UInt64
    /// `FIEMAP_EXTENT_*` flags.
    public var flags: UInt32

    /// Creates an extent.
    public init(logicalBytes: UInt64, physicalBytes: UInt64, lengthBytes: UInt64, flags: UInt32) {
        self.logicalBytes = logicalBytes
        self.physicalBytes = physicalBytes
        self.lengthBytes = lengthBytes
        self.flags = flags
    }

    /// `FIEMAP_EXTENT_LAST`: the last extent of the file.
    public static let lastFlag: UInt32 = 0x0000_0001
    /// `FIEMAP_EXTENT_UNWRITTEN`: allocated but never written (what `fallocate` leaves).
    /// Usable: the kernel writes the device directly and never reads through the file.
    public static let unwrittenFlag: UInt32 = 0x0000_0800
    /// `FIEMAP_EXTENT_MERGED`: the filesystem merged block mappings into this extent. Usable.
    public static let mergedFlag: UInt32 = 0x0000_1000

    /// Flags that make an extent unusable as raw storage, with the reason each gives:
    /// the data location is unknown or not yet decided, the on-disk data is not the
    /// file's bytes as written, the block is shared with other files or metadata, or the
    /// offsets are not block aligned.
    public static let unusableFlags: [(flag: UInt32, name: String, reason: String)] = [
        (0x0000_0002, "UNKNOWN", "its location on the device is unknown"),
        (0x0000_0004, "DELALLOC", "its location is not allocated yet (delayed allocation)"),
        (0x0000_0008, "ENCODED", "its data is compressed or otherwise encoded on disk"),
        (0x0000_0080, "DATA_ENCRYPTED", "its data is encrypted by the filesystem"),
        (0x0000_0100, "NOT_ALIGNED", "its offsets are not block aligned"),
        (0x0000_0200, "DATA_INLINE", "its data lives inside filesystem metadata"),
        (0x0000_0400, "DATA_TAIL", "its block is shared with the tails of other files"),
        (0x0000_2000, "SHARED", "its blocks are shared with other files (reflink/snapshot)"),
    ]

    /// The first reason this extent cannot be used as raw storage, nil if it can.
    public var unusableReason: (name: String, reason: String)? {
        for entry in Self.unusableFlags where flags & entry.flag != 0 {
            return (entry.name, entry.reason)
        }
        return nil
    }
}
