#if canImport(Glibc)
import Glibc
#endif
import Logging
import SystemPackage

/// Difference storage on sector ranges of a block device (or partition) dedicated to
/// it, handed out front to back, portion by portion.
///
/// The ranges are checked at creation against the device's size (`BLKGETSIZE64`) and
/// logical block size (`BLKSSZGET`), asked through the same ``KernelInterface`` the
/// snapshot uses — so it works the same on the real kernel and on the simulator (whose
/// devices exist only in its namespace). Nothing is written to the device by the
/// provider and ``release()`` has nothing to undo.
public final class DeviceRangeProvider: DifferenceStorageProvider {
    /// The storage device's path in the kernel's namespace.
    public let devicePath: String
    /// The device's logical block size in bytes.
    public let logicalBlockSizeBytes: UInt32
    /// The device's capacity in sectors.
    public let deviceCapacitySectors: UInt64
    /// The ranges not handed out yet, in order.
    public private(set) var freeRanges: [SectorRange]
    /// Everything handed out so far, in order.
    public private(set) var handedOut: [SectorRange] = []
    /// Where each portion handed out is logged (`.info`); no output unless given one.
    public let logger: Logger

    /// Opens `devicePath` through `kernel`, reads its size and logical block size, and
    /// checks `ranges` (nil: the whole device, cut to whole logical blocks).
    ///
    /// - Throws: ``StorageError`` `.deviceQuery` when the device cannot be opened or
    ///   queried; `.rangeOutsideDevice` for a range past the end; `.badRange` for an
    ///   empty, unaligned or overlapping range.
    public init(kernel: any KernelInterface, devicePath: String, ranges: [SectorRange]? = nil,
                logger: Logger = Logger(label: "blksnap.storage", factory: { _ in SwiftLogNoOpLogHandler() })) throws(StorageError) {
        self.logger = logger
        let capacityBytes: UInt64
        let blockBytes: UInt32
        do {
            let device = try BlockDevice(path: devicePath, kernel: kernel)
            defer { try? device.close() }
            capacityBytes = try device.capacityBytes()
            blockBytes = try device.logicalBlockSize()
        } catch {
            throw StorageError(.deviceQuery, path: devicePath, errno: error.errno,
                               "cannot use it as difference storage: \(error.meaning)")
        }
        self.devicePath = devicePath
        self.logicalBlockSizeBytes = max(512, blockBytes)
        self.deviceCapacitySectors = capacityBytes / 512
        let blockSectors = UInt64(logicalBlockSizeBytes / 512)
        let usable = ranges ?? [SectorRange(offsetSectors: 0,
                                            countSectors: deviceCapacitySectors / blockSectors * blockSectors)]
        try Self.validate(usable, devicePath: devicePath, capacitySectors: deviceCapacitySectors, blockSectors: blockSectors)
        self.freeRanges = usable
    }

    /// Checks ranges against a device's capacity and block size (both in sectors).
    static func validate(_ ranges: [SectorRange], devicePath: String, capacitySectors: UInt64,
                         blockSectors: UInt64) throws(StorageError) {
        for range in ranges {
            guard range.countSectors > 0 else {
                throw StorageError(.badRange, path: devicePath, errno: .invalidArgument,
                                   "range \(range) is empty: give a positive sector count")
            }
            let (end, overflow) = range.offsetSectors.addingReportingOverflow(range.countSectors)
            guard !overflow, end <= capacitySectors else {
                throw StorageError(.rangeOutsideDevice, path: devicePath, errno: .invalidArgument,
                                   "range \(range) ends past the device's \(capacitySectors) sectors")
            }
            guard range.offsetSectors % blockSectors == 0, range.countSectors % blockSectors == 0 else {
                throw StorageError(.badRange, path: devicePath, errno: .invalidArgument,
                                   "range \(range) is not aligned to the device's logical block size (\(blockSectors) sectors)")
            }
        }
        let sorted = ranges.sorted { $0.offsetSectors < $1.offsetSectors }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.endSectors > next.offsetSectors {
            throw StorageError(.badRange, path: devicePath, errno: .invalidArgument,
                               "ranges \(previous) and \(next) overlap: the kernel would store two chunks in the same place")
        }
    }

    /// Sectors not handed out yet.
    public var remainingSectors: UInt64? { freeRanges.reduce(0) { $0 + $1.countSectors } }

    /// Cuts the next `minimumSectors` (rounded up to whole logical blocks) from the
    /// front of the free ranges; less when less is left; nil when nothing is.
    public func nextPortion(minimumSectors: UInt64) throws(StorageError) -> StoragePortion? {
        let blockSectors = UInt64(logicalBlockSizeBytes / 512)
        var wanted = max(1, minimumSectors)
        wanted = (wanted + blockSectors - 1) / blockSectors * blockSectors
        var taken: [SectorRange] = []
        while wanted > 0, !freeRanges.isEmpty {
            var first = freeRanges[0]
            let count = min(wanted, first.countSectors)
            taken.append(SectorRange(offsetSectors: first.offsetSectors, countSectors: count))
            wanted -= count
            first.offsetSectors += count
            first.countSectors -= count
            if first.countSectors == 0 { freeRanges.removeFirst() } else { freeRanges[0] = first }
        }
        guard !taken.isEmpty else { return nil }
        handedOut += taken
        logger.info("storage portion", metadata: ["device": "\(devicePath)", "ranges": "\(taken.count)",
                                                  "sectors": "\(taken.reduce(0) { $0 + $1.countSectors })"])
        return StoragePortion(devicePath: devicePath, ranges: taken)
    }

    /// Nothing to undo: the device's contents are abandoned, as the kernel abandons them.
    public func release() throws(StorageError) {}
}
