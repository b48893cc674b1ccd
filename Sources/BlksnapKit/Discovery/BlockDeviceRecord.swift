/// What the kernel (through sysfs, read with libudev) says about one block device.
///
/// Fields:
/// - ``devnodePath``: the node in `/dev` (from the kernel's `DEVNAME`), e.g. `/dev/loop0`;
/// - ``sysname``: the kernel name, e.g. `loop0`, `sda1`, `blksnap-image_8:16`;
/// - ``syspath``: the device's directory in sysfs;
/// - ``deviceNumber``: `MAJ:MIN`;
/// - ``capacitySectors``: sysfs `size`, always in 512-byte sectors whatever the block size;
/// - ``logicalBlockSizeBytes``: `queue/logical_block_size` (of the whole disk for a partition);
/// - ``isPartition``: devtype `partition` rather than `disk`;
/// - ``wholeDisk`` / ``wholeDiskSysname``: the disk a partition belongs to (nil for a disk);
/// - ``filterName``: the block-layer filter attached (sysfs `filter`, present only on
///   kernels with the blk-filter patches): nil when the attribute is absent, `""` when no
///   filter is attached, `"blksnap"` when blksnap tracks the device.
///
/// A value is a snapshot of sysfs at the time of the lookup; it owns no handle and is
/// `Sendable`.
public struct BlockDeviceRecord: Sendable, Hashable {
    /// The device node path, e.g. `/dev/loop0`.
    public var devnodePath: String
    /// The kernel name, e.g. `loop0`.
    public var sysname: String
    /// The sysfs directory, e.g. `/sys/devices/virtual/block/loop0`.
    public var syspath: String
    /// The device number.
    public var deviceNumber: DeviceNumber
    /// Capacity in 512-byte sectors (sysfs `size`).
    public var capacitySectors: UInt64
    /// Logical block size in bytes (sysfs `queue/logical_block_size`).
    public var logicalBlockSizeBytes: UInt32
    /// True for a partition, false for a whole disk.
    public var isPartition: Bool
    /// The whole disk holding this partition; nil for a whole disk.
    public var wholeDisk: DeviceNumber?
    /// The kernel name of ``wholeDisk``; nil for a whole disk.
    public var wholeDiskSysname: String?
    /// The attached block-layer filter's name; nil when sysfs has no `filter` attribute,
    /// empty when none is attached.
    public var filterName: String?

    /// Creates a record from its fields.
    public init(devnodePath: String, sysname: String, syspath: String, deviceNumber: DeviceNumber,
                capacitySectors: UInt64, logicalBlockSizeBytes: UInt32, isPartition: Bool,
                wholeDisk: DeviceNumber?, wholeDiskSysname: String?, filterName: String?) {
        self.devnodePath = devnodePath
        self.sysname = sysname
        self.syspath = syspath
        self.deviceNumber = deviceNumber
        self.capacitySectors = capacitySectors
        self.logicalBlockSizeBytes = logicalBlockSizeBytes
        self.isPartition = isPartition
        self.wholeDisk = wholeDisk
        self.wholeDiskSysname = wholeDiskSysname
        self.filterName = filterName
    }

    /// Capacity in bytes (``capacitySectors`` × 512).
    public var capacityBytes: UInt64 { capacitySectors &* 512 }
}
