/// What a blksnap user API can do and how it behaves where the three differ, so that
/// callers ask instead of testing which driver they hold.
///
/// Every value comes from the module's specification (`blksnap-v5.md`,
/// `veeam-field-modules.md` §3, the side-by-side tables) and, where they ran, from the
/// real modules (§6 of the latter).
public struct BlksnapCapabilities: Sendable, Hashable {
    /// A form of difference storage a module accepts.
    public enum StorageForm: String, Sendable, Hashable, CaseIterable, Codable {
        /// Sector ranges of block devices, appended while the snapshot lives, answering
        /// `low_free_space` events (v5, VAL-6.x, VAL-7.0's range mode).
        case sectorRanges
        /// A regular file the kernel grows itself with `fallocate`, up to a limit (VAL-7.0).
        case kernelGrownFile
        /// An anonymous `O_TMPFILE` in a directory, grown by the kernel (VAL-7.0).
        case kernelGrownDirectory
        /// A whole block device, opened exclusively by the kernel (VAL-7.0).
        case kernelGrownBlockDevice
    }

    /// A device can be tracked (CBT started) without being in a snapshot: an explicit
    /// attach exists (v5, VAL-7.0). On VAL-6.x tracking starts at the first snapshot
    /// create that names the device.
    public var tracksWithoutSnapshot: Bool
    /// A snapshot's devices are given at create and cannot be added later (VAL-6.x).
    public var devicesFixedAtCreate: Bool
    /// The storage forms the module accepts.
    public var storageForms: Set<StorageForm>
    /// Every appended range must start at a multiple of this many sectors (VAL-6.x: 8,
    /// one 4 KiB page; a misaligned start corrupts the snapshot at its first
    /// copy-on-write, spec §1.4.8); 1 elsewhere.
    public var storageRangeAlignmentSectors: UInt64
    /// A per-device status query exists (`snapshotinfo.error_code` on v5 and VAL-7.0);
    /// VAL-6.x reports corruption only through events and image I/O errors.
    public var perDeviceStatus: Bool
    /// The CBT map can be read at any time; on VAL-6.x only while the device's snapshot
    /// is taken (`EPERM` otherwise).
    public var cbtReadableOutsideTakenSnapshot: Bool
    /// More than one snapshot may exist at a time. On VAL-6.x a second create orphans
    /// every older snapshot for good (spec §1.8.4).
    public var concurrentSnapshots: Bool
    /// Several threads may wait for the same snapshot's events. On VAL-6.x a second
    /// waiter corrupts the kernel's event list (spec §1.5).
    public var concurrentWaiters: Bool
    /// The images of a multi-device snapshot are one point in time (all devices frozen,
    /// then switched). VAL-6.x switches one device at a time (spec §1.8.2).
    public var multiDeviceTakeIsOnePointInTime: Bool
    /// A member's tracker cannot be removed while its snapshot is taken (VAL-6.x answers
    /// `EBUSY`); v5 and VAL-7.0 accept the detach and silently stop protecting it.
    public var detachRefusedWhileTaken: Bool
    /// How many ranges one mark-dirty request applies correctly (v5: only the first).
    public var markDirtyRangesPerRequest: Int
    /// The errno that image I/O gives once the snapshot is corrupted (`EIO`; VAL-6.x `ENOSPC`).
    public var corruptedImageErrno: Int32
    /// WAIT_EVENT's `timeout_ms` is counted in jiffies on every module (the headers say
    /// milliseconds); this is the largest value one request may carry (2^31 − 1: above
    /// it the modules truncate to `int` and misbehave or oops).
    public var maximumWaitTicks: UInt32

    /// Creates a capability set.
    public init(tracksWithoutSnapshot: Bool, devicesFixedAtCreate: Bool, storageForms: Set<StorageForm>,
                storageRangeAlignmentSectors: UInt64, perDeviceStatus: Bool, cbtReadableOutsideTakenSnapshot: Bool,
                concurrentSnapshots: Bool, concurrentWaiters: Bool, multiDeviceTakeIsOnePointInTime: Bool,
                detachRefusedWhileTaken: Bool, markDirtyRangesPerRequest: Int, corruptedImageErrno: Int32,
                maximumWaitTicks: UInt32 = 0x7FFF_FFFF) {
        self.tracksWithoutSnapshot = tracksWithoutSnapshot
        self.devicesFixedAtCreate = devicesFixedAtCreate
        self.storageForms = storageForms
        self.storageRangeAlignmentSectors = storageRangeAlignmentSectors
        self.perDeviceStatus = perDeviceStatus
        self.cbtReadableOutsideTakenSnapshot = cbtReadableOutsideTakenSnapshot
        self.concurrentSnapshots = concurrentSnapshots
        self.concurrentWaiters = concurrentWaiters
        self.multiDeviceTakeIsOnePointInTime = multiDeviceTakeIsOnePointInTime
        self.detachRefusedWhileTaken = detachRefusedWhileTaken
        self.markDirtyRangesPerRequest = markDirtyRangesPerRequest
        self.corruptedImageErrno = corruptedImageErrno
        self.maximumWaitTicks = maximumWaitTicks
    }

    /// v5 (`blksnap-v5.md`).
    public static let v5 = BlksnapCapabilities(
        tracksWithoutSnapshot: true, devicesFixedAtCreate: false, storageForms: [.sectorRanges],
        storageRangeAlignmentSectors: 1, perDeviceStatus: true, cbtReadableOutsideTakenSnapshot: true,
        concurrentSnapshots: true, concurrentWaiters: true, multiDeviceTakeIsOnePointInTime: true,
        detachRefusedWhileTaken: false, markDirtyRangesPerRequest: 1, corruptedImageErrno: 5)

    /// VAL-6.x (`veeam-field-modules.md` §1).
    public static let val6 = BlksnapCapabilities(
        tracksWithoutSnapshot: false, devicesFixedAtCreate: true, storageForms: [.sectorRanges],
        storageRangeAlignmentSectors: 8, perDeviceStatus: false, cbtReadableOutsideTakenSnapshot: false,
        concurrentSnapshots: false, concurrentWaiters: false, multiDeviceTakeIsOnePointInTime: false,
        detachRefusedWhileTaken: true, markDirtyRangesPerRequest: .max, corruptedImageErrno: 28)

    /// VAL-7.0 (`veeam-field-modules.md` §2).
    public static let val7 = BlksnapCapabilities(
        tracksWithoutSnapshot: true, devicesFixedAtCreate: false,
        storageForms: [.sectorRanges, .kernelGrownFile, .kernelGrownDirectory, .kernelGrownBlockDevice],
        storageRangeAlignmentSectors: 1, perDeviceStatus: true, cbtReadableOutsideTakenSnapshot: true,
        concurrentSnapshots: true, concurrentWaiters: true, multiDeviceTakeIsOnePointInTime: true,
        detachRefusedWhileTaken: false, markDirtyRangesPerRequest: .max, corruptedImageErrno: 5)
}
