/// The compressed cluster descriptor of an L2 entry (bit 62 set): where the compressed
/// data starts (any byte) and how many 512-byte sectors it touches.
///
/// With `x = 62 - (cluster_bits - 8)`, bits 0 to x-1 are the host offset and bits x to 61
/// the number of sectors beyond the one holding the offset. The data need not fill its
/// last sector, and the next compressed cluster may begin in it.
public struct QCOW2CompressedDescriptor: Hashable, Sendable {
    /// Byte offset of the compressed data in the file.
    public var fileOffset: UInt64
    /// Bytes from ``fileOffset`` to the end of its last sector: the most the data occupies.
    public var spanBytes: Int

    /// The descriptor of data at `fileOffset` of `lengthBytes` bytes.
    public init(fileOffset: UInt64, lengthBytes: Int) {
        let sector = UInt64(QCOW2Format.compressedSectorSize)
        let last = (fileOffset + UInt64(lengthBytes) - 1) / sector
        self.fileOffset = fileOffset
        spanBytes = Int((last + 1) * sector - fileOffset)
    }

    /// Decodes an L2 entry with the compressed flag, for clusters of `clusterBits`.
    public init(entry: UInt64, clusterBits: UInt32) {
        let shift = UInt64(62 - (clusterBits - 8))
        let offset = entry & ((1 << shift) - 1)
        let additional = (entry >> shift) & ((1 << UInt64(clusterBits - 8)) - 1)
        let sector = UInt64(QCOW2Format.compressedSectorSize)
        fileOffset = offset
        spanBytes = Int((additional + 1) * sector - offset % sector)
    }

    /// The L2 entry (compressed flag set, copied flag clear, as the format requires).
    public func entry(clusterBits: UInt32) -> UInt64 {
        let shift = UInt64(62 - (clusterBits - 8))
        let sector = UInt64(QCOW2Format.compressedSectorSize)
        let additional = (fileOffset + UInt64(spanBytes) - 1) / sector - fileOffset / sector
        return QCOW2Format.compressedFlag | additional << shift | fileOffset
    }
}
