#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBlksnapUAPI
import SystemPackage

/// A block device opened for the block-device filter API: attaching blksnap's tracker,
/// reading and marking its change-block-tracking (CBT) map, adding it to a snapshot
/// and asking for its image.
///
/// Opened through any ``KernelInterface`` and closed by ``close()`` or when the value
/// goes away. Every method throws ``BlksnapError`` naming the request, the device path
/// and the errno; `ENOENT` from a `BLKFILTER_CTL` request means the device is not
/// tracked (attach first).
public final class BlockDevice: Sendable {
    /// Bytes read per `cbtmap` request by ``readWholeCBTMap(chunkBytes:)``: 1 MiB.
    public static let defaultCBTChunkBytes: UInt32 = 1 << 20

    /// The kernel this device belongs to.
    public var kernel: any KernelInterface { descriptor.kernel }
    /// The device path that was opened.
    public var path: String { descriptor.path }

    let descriptor: OpenDescriptor

    /// Opens a block device (read-only by default: no filter request needs write access).
    public init(path: String, kernel: any KernelInterface = LinuxKernel(), flags: Int32 = O_RDONLY) throws(BlksnapError) {
        self.descriptor = try OpenDescriptor(kernel: kernel, path: path, flags: flags, operation: .openDevice)
    }

    /// Closes the device. Further calls fail with `EBADF`; closing twice does nothing.
    public func close() throws(BlksnapError) {
        try descriptor.close()
    }

    // MARK: - Filter

    /// Attaches blksnap's filter: the device becomes tracked, with a fresh CBT map and
    /// generation id. Freezes a mounted filesystem for a moment.
    ///
    /// `EALREADY`: already tracked; `ENOENT`: blksnap is not loaded; `ENOTTY`/`EINVAL`:
    /// the kernel has no block-device filter support.
    ///
    /// The corresponding ioctl is `BLKFILTER_ATTACH`.
    public func attach() throws(BlksnapError) {
        var name = FilterName.filterName
        try perform(.attachFilter, BLKSNAP_REQ_BLKFILTER_ATTACH, on: &name)
    }

    /// Detaches blksnap's filter: the CBT map is lost. v5 never refuses, not even while
    /// the device is in a taken snapshot (its image then silently stops being a
    /// point-in-time copy), so callers should check first.
    ///
    /// The corresponding ioctl is `BLKFILTER_DETACH`.
    public func detach() throws(BlksnapError) {
        var name = FilterName.filterName
        try perform(.detachFilter, BLKSNAP_REQ_BLKFILTER_DETACH, on: &name)
    }

    // MARK: - CBT

    /// The CBT table's parameters: capacity, block size and count, generation, changes number.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtinfo`.
    public func cbtInfo() throws(BlksnapError) -> CBTInfo {
        var info = blksnap_cbtinfo()
        try check(filterControl(.cbtInfo, blkfilter_ctl_blksnap_cbtinfo, option: &info), .cbtInfo)
        return CBTInfo(info)
    }

    /// `length` bytes of the CBT read map starting at block `offset`: one byte per CBT
    /// block, the changes number during which the block was last written (0: never).
    ///
    /// The map is the copy made at the last take. `ENODATA` when the range passes the
    /// end of the map; `EFAULT` when the CBT is corrupted.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtmap`.
    public func cbtMap(offset: UInt32, length: UInt32) throws(BlksnapError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(length))
        var map = blksnap_cbtmap()
        map.offset = offset
        map.length = length
        let result = bytes.withUnsafeMutableBytes { buffer in
            map.buffer = userAddress(buffer.baseAddress)
            return filterControl(.cbtMap, blkfilter_ctl_blksnap_cbtmap, option: &map)
        }
        try check(result, .cbtMap)
        return bytes
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
    /// copies them).
    ///
    /// One request per range with `count = 1`: v5 applies only the first element of
    /// the array (`count` times), so sending several ranges in one request would
    /// silently drop all but the first. Zero-length ranges are skipped: v5 mishandles
    /// them (offset 0 marks the whole write map, then fails `EINVAL`).
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtdirty`.
    public func markDirty(_ ranges: [SectorRange]) throws(BlksnapError) {
        for range in ranges where range.countSectors > 0 {
            var sectors = range.sectors
            var dirty = blksnap_cbtdirty()
            dirty.count = 1
            let result = withUnsafeMutableBytes(of: &sectors) { rangeBytes in
                dirty.dirty_sectors = userAddress(rangeBytes.baseAddress)
                return filterControl(.markDirty, blkfilter_ctl_blksnap_cbtdirty, option: &dirty)
            }
            try check(result, .markDirty)
        }
    }

    // MARK: - Snapshot membership

    /// Adds this (tracked) device to a snapshot that has not been taken yet.
    ///
    /// `EBUSY`: the device is in another snapshot; `EALREADY`: already in this one.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_snapshotadd`.
    public func addToSnapshot(_ id: SnapshotID) throws(BlksnapError) {
        var add = blksnap_snapshotadd(id: id.uuid)
        try check(filterControl(.addToSnapshot, blkfilter_ctl_blksnap_snapshotadd, option: &add),
                  .addToSnapshot, snapshotID: id)
    }

    /// The device's snapshot state: its image name and whether its difference area is
    /// corrupted.
    ///
    /// The argument is zeroed before the request: when the device has no image the
    /// kernel leaves the caller's image bytes as they were.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_snapshotinfo`.
    public func snapshotInfo() throws(BlksnapError) -> SnapshotInfo {
        var info = blksnap_snapshotinfo()
        withUnsafeMutableBytes(of: &info) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        try check(filterControl(.snapshotInfo, blkfilter_ctl_blksnap_snapshotinfo, option: &info), .snapshotInfo)
        return SnapshotInfo(info)
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

    /// `BLKFILTER_CTL` with `{name "blksnap", cmd, optlen = sizeof(T), opt = &option}`.
    private func filterControl<T>(_ operation: BlksnapOperation, _ command: blkfilter_ctl_blksnap,
                                  option: inout T) -> Result<CInt, Errno> {
        let fd: CInt
        do {
            fd = try descriptor.descriptor(for: operation)
        } catch {
            return .failure(error.errno)
        }
        var control = blkfilter_ctl()
        withUnsafeMutableBytes(of: &control.name) { FilterName.fill($0) }
        control.cmd = command.rawValue
        control.optlen = UInt32(MemoryLayout<T>.size)
        return withUnsafeMutableBytes(of: &option) { optionBytes in
            control.opt = userAddress(optionBytes.baseAddress)
            return kernel.ioctlResult(fd, BLKSNAP_REQ_BLKFILTER_CTL, on: &control)
        }
    }

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
