#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import SystemPackage

/// The v5 user API (`blksnap-v5.md`): `/dev/blksnap-control` for snapshots, storage and
/// events; the block-device filter ioctls (`BLKFILTER_ATTACH`/`DETACH`/`CTL`) on the
/// device's own descriptor for tracking, CBT and membership.
///
/// Quirks handled here: mark-dirty applies only the first range of a request (one range
/// per request is sent), COLLECT does not report the needed size (the protocol restarts),
/// `snapshotinfo` leaves the image name as passed when there is none (zeroed first).
public final class V5Driver: BlksnapDriver {
    /// Path of the control device: `/dev/` + `BLKSNAP_CTL`.
    public static let defaultControlPath = "/dev/blksnap-control"

    /// ``BlksnapABI/v5``.
    public var abi: BlksnapABI { .v5 }
    /// ``BlksnapCapabilities/v5``.
    public var capabilities: BlksnapCapabilities { .v5 }
    /// Where the requests go.
    public let kernel: any KernelInterface
    /// The control device's path.
    public var controlPath: String { control.path }

    private let control: LazyNode

    /// A driver for the v5 module behind `kernel`; the control device is opened on first use.
    public init(kernel: any KernelInterface = LinuxKernel(), controlPath: String = V5Driver.defaultControlPath) {
        self.kernel = kernel
        self.control = LazyNode(kernel: kernel, path: controlPath, flags: O_RDWR, openOperation: .openControl)
    }

    /// Opens `/dev/blksnap-control` now.
    public func openControl() throws(BlksnapError) { try control.open() }

    /// Closes `/dev/blksnap-control`.
    public func closeControl() throws(BlksnapError) { try control.close() }

    // MARK: - Control device

    /// `IOCTL_BLKSNAP_VERSION` (v5 reports 2.0.0.0).
    public func version() throws(BlksnapError) -> Version {
        var version = blksnap_version()
        try perform(.version, BLKSNAP_REQ_VERSION, on: &version)
        return Version(version)
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_CREATE`: an empty snapshot; devices are added one by one
    /// and storage appended as ranges. Kernel-grown storage does not exist in v5.
    public func createSnapshot(_ creation: SnapshotCreation) throws(BlksnapError) -> SnapshotID {
        if case .kernelGrown(let path, _) = creation.storage {
            throw .unsupported(.v5, .createSnapshot,
                               "kernel-grown storage (\(path)) is a VAL-7.0 feature: append sector ranges instead",
                               devicePath: path)
        }
        var uuid = blksnap_uuid()
        try perform(.createSnapshot, BLKSNAP_REQ_SNAPSHOT_CREATE, on: &uuid)
        return SnapshotID(uuid)
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_DESTROY`.
    public func destroySnapshot(_ id: SnapshotID) throws(BlksnapError) {
        var uuid = id.uuid
        try perform(.destroySnapshot, BLKSNAP_REQ_SNAPSHOT_DESTROY, on: &uuid, snapshotID: id)
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE`: the kernel opens `devicePath` itself.
    public func appendStorage(_ id: SnapshotID, devicePath: String, ranges: [SectorRange]) throws(BlksnapError) {
        guard !devicePath.isEmpty, !devicePath.utf8.contains(0) else {
            throw .invalidRequest(.appendStorage, "the storage device path is empty or contains a NUL byte",
                                  devicePath: devicePath, snapshotID: id)
        }
        var path = Array(devicePath.utf8CString)  // NUL included: bdev_path_size = strlen + 1
        guard let pathSize = UInt32(exactly: path.count), let count = UInt32(exactly: ranges.count) else {
            throw .invalidRequest(.appendStorage, "the path or the range list is too long",
                                  devicePath: devicePath, snapshotID: id)
        }
        var sectors = ranges.map(\.sectors)
        var argument = blksnap_snapshot_append_storage()
        argument.id = id.uuid
        argument.bdev_path_size = pathSize
        argument.count = count
        let fd = try control.descriptor(for: .appendStorage, snapshotID: id)
        let result = path.withUnsafeMutableBufferPointer { pathBuffer in
            sectors.withUnsafeMutableBufferPointer { rangeBuffer in
                argument.bdev_path = userAddress(pathBuffer.baseAddress)
                argument.ranges = rangeBuffer.isEmpty ? 0 : userAddress(rangeBuffer.baseAddress)
                return kernel.ioctlResult(fd, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, on: &argument)
            }
        }
        try check(result, .appendStorage, devicePath: devicePath, snapshotID: id)
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_TAKE`.
    public func takeSnapshot(_ id: SnapshotID) throws(BlksnapError) {
        var uuid = id.uuid
        try perform(.takeSnapshot, BLKSNAP_REQ_SNAPSHOT_TAKE, on: &uuid, snapshotID: id)
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_COLLECT`: the count first, then that many ids; v5 does not
    /// report the needed size when the array is too small (it fills it and fails with
    /// `ENODATA`), so the protocol restarts, up to `attempts` times.
    public func collectSnapshots(attempts: Int) throws(BlksnapError) -> [SnapshotID] {
        let fd = try control.descriptor(for: .collectSnapshots)
        let listed = CountThenFill.collect(attempts: attempts, restartOn: .noData, blank: blksnap_uuid()) { buffer in
            var request = blksnap_snapshot_collect()
            request.count = UInt32(buffer?.count ?? 0)
            request.ids = buffer.map { userAddress($0.baseAddress) } ?? 0
            return kernel.ioctlResult(fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &request).map { _ in request.count }
        }
        switch listed {
        case .success(let ids): return ids.map(SnapshotID.init)
        case .failure(let error): throw BlksnapError(operation: .collectSnapshots, errno: error)
        }
    }

    /// One `IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT`; `ENOENT` (nothing arrived) is nil.
    public func waitEventOnce(_ id: SnapshotID, timeoutTicks: UInt32) throws(BlksnapError) -> SnapshotEvent? {
        precondition(timeoutTicks <= capabilities.maximumWaitTicks, "WAIT_EVENT timeout above 2^31-1 ticks crashes v5")
        let fd = try control.descriptor(for: .waitEvent, snapshotID: id)
        let event = UnsafeMutablePointer<blksnap_snapshot_event>.allocate(capacity: 1)
        defer { event.deallocate() }
        event.initialize(to: blksnap_snapshot_event())
        event.pointee.id = id.uuid
        event.pointee.timeout_ms = timeoutTicks
        switch kernel.ioctlResult(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, UnsafeMutableRawPointer(event)) {
        case .success:
            return SnapshotEvent(event.pointee)
        case .failure(let error) where error == .noSuchFileOrDirectory:
            return nil
        case .failure(let error):
            throw BlksnapError(operation: .waitEvent, errno: error, snapshotID: id)
        }
    }

    // MARK: - Devices (BLKFILTER_* on the device's descriptor)

    /// `BLKFILTER_ATTACH` with the filter name `"blksnap"`.
    public func attach(_ device: BlockDevice) throws(BlksnapError) {
        var name = FilterName.filterName
        try perform(device, .attachFilter, BLKSNAP_REQ_BLKFILTER_ATTACH, on: &name)
    }

    /// `BLKFILTER_DETACH`: never refused by v5, not even while the device is in a taken snapshot.
    public func detach(_ device: BlockDevice) throws(BlksnapError) {
        var name = FilterName.filterName
        try perform(device, .detachFilter, BLKSNAP_REQ_BLKFILTER_DETACH, on: &name)
    }

    /// `BLKFILTER_CTL` cbtinfo.
    public func cbtInfo(_ device: BlockDevice) throws(BlksnapError) -> CBTInfo {
        var info = blksnap_cbtinfo()
        try check(filterControl(device, .cbtInfo, blkfilter_ctl_blksnap_cbtinfo, option: &info), .cbtInfo, device: device)
        return CBTInfo(info)
    }

    /// `BLKFILTER_CTL` cbtmap: `ENODATA` past the end of the map, `EFAULT` when the CBT is corrupted.
    public func cbtMap(_ device: BlockDevice, offset: UInt32, length: UInt32) throws(BlksnapError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(length))
        var map = blksnap_cbtmap()
        map.offset = offset
        map.length = length
        let result = bytes.withUnsafeMutableBytes { buffer in
            map.buffer = userAddress(buffer.baseAddress)
            return filterControl(device, .cbtMap, blkfilter_ctl_blksnap_cbtmap, option: &map)
        }
        try check(result, .cbtMap, device: device)
        return bytes
    }

    /// `BLKFILTER_CTL` cbtdirty, one request per range with `count = 1`: v5 applies only
    /// the first element of the array (`count` times). Zero-length ranges are skipped: v5
    /// mishandles them (offset 0 marks the whole write map, then fails `EINVAL`).
    public func markDirty(_ device: BlockDevice, _ ranges: [SectorRange]) throws(BlksnapError) {
        for range in ranges where range.countSectors > 0 {
            var sectors = range.sectors
            var dirty = blksnap_cbtdirty()
            dirty.count = 1
            let result = withUnsafeMutableBytes(of: &sectors) { rangeBytes in
                dirty.dirty_sectors = userAddress(rangeBytes.baseAddress)
                return filterControl(device, .markDirty, blkfilter_ctl_blksnap_cbtdirty, option: &dirty)
            }
            try check(result, .markDirty, device: device)
        }
    }

    /// `BLKFILTER_CTL` snapshotadd.
    public func addToSnapshot(_ device: BlockDevice, _ id: SnapshotID) throws(BlksnapError) {
        var add = blksnap_snapshotadd(id: id.uuid)
        try check(filterControl(device, .addToSnapshot, blkfilter_ctl_blksnap_snapshotadd, option: &add),
                  .addToSnapshot, device: device, snapshotID: id)
    }

    /// `BLKFILTER_CTL` snapshotinfo, with the argument zeroed first (v5 leaves the image
    /// bytes as passed when the device has no image).
    public func snapshotInfo(_ device: BlockDevice) throws(BlksnapError) -> SnapshotInfo {
        var info = blksnap_snapshotinfo()
        withUnsafeMutableBytes(of: &info) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        try check(filterControl(device, .snapshotInfo, blkfilter_ctl_blksnap_snapshotinfo, option: &info),
                  .snapshotInfo, device: device)
        return SnapshotInfo(info)
    }

    /// `blksnap-image_MAJ:MIN` names the original `MAJ:MIN` (§1.1).
    public func imageOriginal(ofNodeName name: String) -> ImageNodeName? {
        guard name.hasPrefix(DeviceInventory.imageNamePrefix) else { return nil }
        return ImageNodeName(original: DeviceNumber(parsing: name.dropFirst(DeviceInventory.imageNamePrefix.count)))
    }

    // MARK: - Plumbing

    /// `BLKFILTER_CTL` with `{name "blksnap", cmd, optlen = sizeof(T), opt = &option}` on the device.
    private func filterControl<T>(_ device: BlockDevice, _ operation: BlksnapOperation, _ command: blkfilter_ctl_blksnap,
                                  option: inout T) -> Result<CInt, Errno> {
        let fd: CInt
        do {
            fd = try device.descriptor.descriptor(for: operation)
        } catch {
            return .failure(error.errno)
        }
        var request = blkfilter_ctl()
        withUnsafeMutableBytes(of: &request.name) { FilterName.fill($0) }
        request.cmd = command.rawValue
        request.optlen = UInt32(MemoryLayout<T>.size)
        return withUnsafeMutableBytes(of: &option) { optionBytes in
            request.opt = userAddress(optionBytes.baseAddress)
            return kernel.ioctlResult(fd, BLKSNAP_REQ_BLKFILTER_CTL, on: &request)
        }
    }

    private func perform<T>(_ device: BlockDevice, _ operation: BlksnapOperation, _ request: UInt,
                            on value: inout T) throws(BlksnapError) {
        let fd = try device.descriptor.descriptor(for: operation)
        try check(kernel.ioctlResult(fd, request, on: &value), operation, device: device)
    }

    private func perform<T>(_ operation: BlksnapOperation, _ request: UInt, on value: inout T,
                            snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        let fd = try control.descriptor(for: operation, snapshotID: snapshotID)
        try check(kernel.ioctlResult(fd, request, on: &value), operation, snapshotID: snapshotID)
    }

    private func check(_ result: Result<CInt, Errno>, _ operation: BlksnapOperation, device: BlockDevice,
                       snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        try check(result, operation, devicePath: device.path, snapshotID: snapshotID)
    }

    private func check(_ result: Result<CInt, Errno>, _ operation: BlksnapOperation,
                       devicePath: String? = nil, snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        if case .failure(let error) = result {
            throw BlksnapError(operation: operation, errno: error, devicePath: devicePath, snapshotID: snapshotID)
        }
    }
}
