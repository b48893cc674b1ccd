/// One piece of difference storage handed to the kernel in one
/// `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE`: sector ranges of one block device.
public struct StoragePortion: Sendable, Hashable, Codable {
    /// The storage block device, as the kernel that receives the portion names it
    /// (a path in the simulator's namespace for a simulator).
    public var devicePath: String
    /// The ranges, in 512-byte sectors, on ``devicePath``.
    public var ranges: [SectorRange]

    /// Creates a portion.
    public init(devicePath: String, ranges: [SectorRange]) {
        self.devicePath = devicePath
        self.ranges = ranges
    }

    /// Total sectors in ``ranges``.
    public var countSectors: UInt64 { ranges.reduce(0) { $0 &+ $1.countSectors } }
}

extension SectorRange: Codable {
    private enum CodingKeys: String, CodingKey { case offsetSectors, countSectors }

    /// Decodes `{"offsetSectors": N, "countSectors": N}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(offsetSectors: try container.decode(UInt64.self, forKey: .offsetSectors),
                  countSectors: try container.decode(UInt64.self, forKey: .countSectors))
    }

    /// Encodes `{"offsetSectors": N, "countSectors": N}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(offsetSectors, forKey: .offsetSectors)
        try container.encode(countSectors, forKey: .countSectors)
    }
}
