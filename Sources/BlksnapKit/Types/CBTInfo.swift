import CBlksnapUAPI

/// The change-block-tracking table of a tracked device: `struct blksnap_cbtinfo`.
@frozen
public struct CBTInfo: Hashable, Sendable {
    /// Capacity covered by the table, in bytes.
    public var capacityBytes: UInt64
    /// Size of one CBT block, in bytes (a power of two).
    public var blockSizeBytes: UInt32
    /// Number of CBT blocks, which is also the number of bytes in the map.
    public var blockCount: UInt32
    /// Changes whenever the map restarts (attach, reset, the 255th take):
    /// a different generation means "full backup required".
    public var generationID: CBTGenerationID
    /// Number of the most recent take (the kernel's "previous" number). Blocks
    /// changed since a backup made at number `p` (same generation) are those whose
    /// map byte is greater than `p`.
    public var changesNumber: UInt8

    /// Creates a value from its fields.
    public init(capacityBytes: UInt64, blockSizeBytes: UInt32, blockCount: UInt32,
                generationID: CBTGenerationID, changesNumber: UInt8) {
        self.capacityBytes = capacityBytes
        self.blockSizeBytes = blockSizeBytes
        self.blockCount = blockCount
        self.generationID = generationID
        self.changesNumber = changesNumber
    }

    /// Copies a kernel `struct blksnap_cbtinfo` (its tail padding is ignored).
    public init(_ info: blksnap_cbtinfo) {
        self.init(capacityBytes: info.device_capacity, blockSizeBytes: info.block_size,
                  blockCount: info.block_count, generationID: CBTGenerationID(info.generation_id),
                  changesNumber: info.changes_number)
    }

    /// Capacity covered by the table, in 512-byte sectors.
    public var capacitySectors: UInt64 { capacityBytes / SectorRange.sectorSizeBytes }
}
