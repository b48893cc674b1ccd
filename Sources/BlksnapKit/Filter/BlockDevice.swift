#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import SystemPackage

/// A block device opened for blksnap: attaching its tracker, reading and marking its
/// change-block-tracking (CBT) map, adding it to a snapshot and asking for its image —
/// each through the module's driver (``BlksnapDriver``; v5's block-device filter ioctls
/// by default).
///
/// Opened through any ``KernelInterface`` and closed by ``close()`` or when the value
/// goes away. Every method throws ``BlksnapError`` naming the request, the device path
/// and the errno; on v5 `ENOENT` from a `BLKFILTER_CTL` request means the device is not
/// tracked (attach first).
public final class BlockDevice: Sendable {
    /// Bytes read per `cbtmap` request by ``readWholeCBTMap(chunkBytes:)``: 1 MiB.
    public static let defaultCBTChunkBytes: UInt32 = 1 << 20

    /// The driver the filter requests go through.
    public let driver: any BlksnapDriver
    /// The kernel this device belongs to.
    public var kernel: any KernelInterface { descriptor.kernel }
    /// The device path that was opened.
    public var path: String { descriptor.path }

    /// The device's own descriptor (v5's filter requests are issued on it).
    package let descriptor: OpenDescriptor

    /// Opens a block device for v5's filter (read-only by default: no filter request
    /// needs write access).
    public convenience init(path: String, kernel: any KernelInterface = LinuxKernel(), flags: Int32 = O_RDONLY) throws(BlksnapError) {
        try self.init(path: path, driver: V5Driver(kernel: kernel), flags: flags)
    }

    /// Opens a block device whose requests go through `driver` (in its kernel).
    public init(path: String, driver: any BlksnapDriver, flags: Int32 = O_RDONLY) throws(BlksnapError) {
        self.driver = driver
        self.descriptor = try OpenDescriptor(kernel: driver.kernel, path: path, flags: flags, operation: .openDevice)
    }

    /// Closes the device. Further calls fail with `EBADF`; closing twice does nothing.
    public func close() throws(BlksnapError) {
        try descriptor.close()
    }

    // MARK: - Data

    /// Writes all of `bytes` at byte `offset` (the device must be opened for writing);
    /// short writes are continued. `EIO` and the like name the device and the offset.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BlksnapError) {
        let fd = try descriptor.descriptor(for: .writeDevice)
        do {
            try kernel.writeAll(fd, from: bytes, at: offset)
        } catch {
            throw BlksnapError(operation: .writeDevice, errno: error.errno, devicePath: path)
        }
    }

    // MARK: - Filter

    /// Attaches blksnap's tracker: the device becomes tracked, with a fresh CBT map and
    /// generation id. v5 freezes a mounted filesystem for a moment.
    ///
    /// A device of zero sectors is refused first (``AttachGuard/check(_:)``,
    /// ``SafetyHazard/zeroSectorAttach``, `EINVAL`): v5 would answer `ENOMEM` after a
    /// kernel WARNING. `EALREADY`: already tracked; `ENOENT`: blksnap is not loaded;
    /// `ENOTTY`/`EINVAL`: the kernel has no block-device filter support. VAL-6.x cannot
    /// track without a snapshot (``BlksnapCapabilities/tracksWithoutSnapshot``).
    ///
    /// The corresponding ioctls are `BLKGETSIZE64`, then `BLKFILTER_ATTACH`.
    public func attach() throws(BlksnapError) {
        try AttachGuard.check(self)
        try driver.attach(self)
    }

    /// `BLKFILTER_ATTACH` without ``attach()``'s check: what the module does with any
    /// device, a zero-sector one included. For conformance runs and tests of the module's
    /// own answers.
    ///
    /// The corresponding ioctl is `BLKFILTER_ATTACH`.
    public func attachUnchecked() throws(BlksnapError) {
        try driver.attach(self)
    }

    /// Detaches blksnap's tracker: the CBT map is lost. v5 and VAL-7.0 never refuse, not
    /// even while the device is in a taken snapshot (its image then silently stops being
    /// a point-in-time copy), so callers should check first.
    ///
    /// The corresponding ioctl is `BLKFILTER_DETACH`.
    public func detach() throws(BlksnapError) {
        try driver.detach(self)
    }

    // MARK: - CBT

    /// The CBT table's parameters: capacity, block size and count, generation, changes number.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtinfo`.
    public func cbtInfo() throws(BlksnapError) -> CBTInfo {
        try driver.cbtInfo(self)
    }

    /// `length` bytes of the CBT read map starting at block `offset`: one byte per CBT
    /// block, the changes number during which the block was last written (0: never).
    ///
    /// The map is the copy made at the last take. `ENODATA` when the range passes the
    /// end of the map; `EFAULT` when the CBT is corrupted.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtmap`.
    public func cbtMap(offset: UInt32, length: UInt32) throws(BlksnapError) -> [UInt8] {
        try driver.cbtMap(self, offset: offset, length: length)
    }

    /// The whole CBT read map, read `chunkBytes` at a time (1 MiB by default), sized by
    /// a ``cbtInfo()`` call made first.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtinfo`, then
    /// `blkfilter_ctl_blksnap_cbtmap` per chunk.
    public func readWholeCBTMap(chunkBytes: UInt32 = BlockDevice.defaultCBTChunkBytes) throws(BlksnapError) -> [UInt8] {
        try readCBT(chunkBytes: chunkBytes).map
    }

    /// The CBT info and the whole read map described by it, read `chunkBytes` at a time.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtinfo`, then
    /// `blkfilter_ctl_blksnap_cbtmap` per chunk.
    public func readCBT(chunkBytes: UInt32 = BlockDevice.defaultCBTChunkBytes) throws(BlksnapError) -> (info: CBTInfo, map: [UInt8]) {
        guard chunkBytes > 0 else {
            throw .invalidRequest(.cbtMap, "the CBT read chunk size must be positive", devicePath: path)
        }
        let info = try cbtInfo()
        var map: [UInt8] = []
        map.reserveCapacity(Int(info.blockCount))
        var offset: UInt32 = 0
        while offset < info.blockCount {
            let length = min(chunkBytes, info.blockCount - offset)
            map += try cbtMap(offset: offset, length: length)
            offset += length
        }
        return (info, map)
    }

    /// Marks sector ranges as changed in both CBT maps (so the next incremental backup
    /// copies them). Every range is applied: on v5, which applies only the first element
    /// of a request, the driver sends one request per range.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtdirty`.
    public func markDirty(_ ranges: [SectorRange]) throws(BlksnapError) {
        try driver.markDirty(self, ranges)
    }

    // MARK: - Snapshot membership

    /// Adds this (tracked) device to a snapshot that has not been taken yet.
    ///
    /// `EBUSY`: the device is in another snapshot; `EALREADY`: already in this one.
    /// VAL-6.x fixes a snapshot's devices at create (``BlksnapCapabilities/devicesFixedAtCreate``).
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_snapshotadd`.
    public func addToSnapshot(_ id: SnapshotID) throws(BlksnapError) {
        try driver.addToSnapshot(self, id)
    }

    /// The device's snapshot state: its image name and whether its difference area is
    /// corrupted.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_snapshotinfo`.
    public func snapshotInfo() throws(BlksnapError) -> SnapshotInfo {
        try driver.snapshotInfo(self)
    }

    // MARK: - Geometry

    /// The device's size in bytes.
    ///
    /// The corresponding ioctl is `BLKGETSIZE64`.
    public func capacityBytes() throws(BlksnapError) -> UInt64 {
        var size: UInt64 = 0
        try perform(.capacity, BLKSNAP_REQ_BLKGETSIZE64, on: &size)
        return size
    }

    /// The device's logical block size in bytes.
    ///
    /// The corresponding ioctl is `BLKSSZGET`.
    public func logicalBlockSize() throws(BlksnapError) -> UInt32 {
        var size: CInt = 0
        try perform(.logicalBlockSize, BLKSNAP_REQ_BLKSSZGET, on: &size)
        return UInt32(clamping: size)
    }

    /// The device number of the opened path (`st_rdev`), from `stat(2)` in the kernel's namespace.
    public func deviceNumber() throws(BlksnapError) -> DeviceNumber {
        do {
            return try kernel.stat(path).deviceNumber
        } catch {
            throw BlksnapError(operation: .stat, errno: error, devicePath: path)
        }
    }

    // MARK: - Plumbing

    private func perform<T>(_ operation: BlksnapOperation, _ request: UInt, on value: inout T) throws(BlksnapError) {
        let fd = try descriptor.descriptor(for: operation)
        try check(kernel.ioctlResult(fd, request, on: &value), operation)
    }

    private func check(_ result: Result<CInt, Errno>, _ operation: BlksnapOperation,
                       snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        if case .failure(let error) = result {
            throw BlksnapError(operation: operation, errno: error, devicePath: path, snapshotID: snapshotID)
        }
    }
}
