import CBlksnapUAPI

/// A range of 512-byte sectors on a block device: `struct blksnap_sectors`.
@frozen
public struct SectorRange: Hashable, Sendable, CustomStringConvertible {
    /// Bytes in one sector, the unit of every blksnap range.
    public static let sectorSizeBytes: UInt64 = 512

    /// First sector of the range.
    public var offsetSectors: UInt64
    /// Number of sectors in the range.
    public var countSectors: UInt64

    /// Creates a range from a first sector and a sector count.
    public init(offsetSectors: UInt64, countSectors: UInt64) {
        self.offsetSectors = offsetSectors
        self.countSectors = countSectors
    }

    /// Copies a kernel `struct blksnap_sectors`.
    public init(_ sectors: blksnap_sectors) {
        self.init(offsetSectors: sectors.offset, countSectors: sectors.count)
    }

    /// The kernel's `struct blksnap_sectors` for this range.
    public var sectors: blksnap_sectors { blksnap_sectors(offset: offsetSectors, count: countSectors) }

    /// First byte of the range.
    public var offsetBytes: UInt64 { offsetSectors &* Self.sectorSizeBytes }
    /// Length of the range in bytes.
    public var countBytes: UInt64 { countSectors &* Self.sectorSizeBytes }

    /// One past the last sector (saturating).
    public var endSectors: UInt64 {
        let (end, overflow) = offsetSectors.addingReportingOverflow(countSectors)
        return overflow ? .max : end
    }

    /// `OFFSET:COUNT` in sectors, as the CLI writes ranges.
    public var description: String { "\(offsetSectors):\(countSectors)" }

    /// Parses `OFFSET:COUNT` (decimal sectors); nil for anything else.
    public init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let offset = UInt64(parts[0]), let count = UInt64(parts[1]) else { return nil }
        self.init(offsetSectors: offset, countSectors: count)
    }
}
