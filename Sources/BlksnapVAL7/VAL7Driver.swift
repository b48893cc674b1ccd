#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
internal import CVeeamBlksnapUAPI
import SystemPackage

/// Veeam's VAL-7.0 module (`veeam-field-modules.md` §2): `/dev/veeamblksnap` for
/// snapshots, storage and events (requests dispatched on the full 32-bit number), and
/// `/dev/bdevfilter` for tracking, CBT and membership, each request naming its device
/// by path.
///
/// Differences from v5 handled here: the event codes are swapped (corrupted 0, low free
/// space 1); a low-space event raises the kernel's requested total by twice its payload,
/// and is reported with that increase (``actualRequest(_:)``); storage is chosen at create (sector ranges with a limit, or a file,
/// directory or block device the kernel grows); mark-dirty applies every range of a
/// request. Guards: the device that holds a snapshot's storage is never added to it
/// (VAL-7.0 answers 0 and ignores it for file and block-device storage, and makes it an
/// ordinary member for range storage, §2.3 and §6 #10); a create whose initial
/// `fallocate` fails has the file it grew truncated back (§6 #15).
public final class VAL7Driver: BlksnapDriver {
    /// `/dev/veeamblksnap`.
    public static let defaultControlPath = "/dev/veeamblksnap"
    /// `/dev/bdevfilter`.
    public static let defaultFilterPath = "/dev/bdevfilter"
    /// Image nodes are `/dev/veeamblksnapimg_MAJ:MIN` (the original's number).
    public static let imageNamePrefix = "veeamblksnapimg_"

    /// ``BlksnapABI/val7``.
    public var abi: BlksnapABI { .val7 }
    /// ``BlksnapCapabilities/val7``.
    public var capabilities: BlksnapCapabilities { .val7 }
    /// Where the requests go.
    public let kernel: any KernelInterface
    /// The control device's path.
    public var controlPath: String { control.path }

    private let control: LazyNode
    private let filter: LazyNode
    /// The devices holding each snapshot's storage, as drivers created or appended it
    /// (on the real kernel shared by every process: `/run/blksnap/val7`).
    private let records: SnapshotRecords
    private static let storageDevicesKey = "storage-devices"

    /// A driver for the VAL-7.0 module behind `kernel`; its nodes are opened on first use.
    public init(kernel: any KernelInterface = LinuxKernel(), controlPath: String = VAL7Driver.defaultControlPath,
                filterPath: String = VAL7Driver.defaultFilterPath) {
        self.kernel = kernel
        self.control = LazyNode(kernel: kernel, path: controlPath, flags: O_RDWR, openOperation: .openControl)
        self.filter = LazyNode(kernel: kernel, path: filterPath, flags: O_RDWR, openOperation: .openControl)
        self.records = .for(.val7, on: kernel)
    }

    /// Opens `/dev/veeamblksnap` now.
    public func openControl() throws(BlksnapError) { try control.open() }

    /// Closes both nodes.
    public func closeControl() throws(BlksnapError) {
        try control.close()
        try filter.close()
    }

    // MARK: - /dev/veeamblksnap

    /// `IOCTL_BLKSNAP_VERSION` (0x80085600): 7.0.0.0.
    public func version() throws(BlksnapError) -> Version {
        var version = blksnap_version()
        try perform(.version, VEEAMBLKSNAP_REQ_VERSION, on: &version)
        return Version(major: version.major, minor: version.minor, revision: version.revision, build: version.build)
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_CREATE` (0xc0205601) with the storage chosen now: range mode
    /// (`diff_storage_filename = 0`) with the limit, or a path the kernel grows itself. The
    /// devices are added afterwards (``addToSnapshot(_:_:)``).
    ///
    /// Range mode with no limit sends the largest limit, so the kernel keeps asking; a
    /// limit of 0 would make every store overflow (§2.7.3) and is refused. A kernel-grown
    /// regular file that the failed create left allocated is truncated back to its size.
    public func createSnapshot(_ creation: SnapshotCreation) throws(BlksnapError) -> SnapshotID {
        var argument = blksnap_snapshot_create()
        switch creation.storage {
        case .sectorRanges(let limit):
            if limit == 0 {
                throw BlksnapError.invalidRequest(.createSnapshot, "a storage limit of 0 sectors makes VAL-7.0 overflow at the first copy-on-write").withABI(.val7)
            }
            argument.diff_storage_limit_sect = limit ?? UInt64.max
            argument.diff_storage_filename = 0
            return try create(&argument, storageDevices: [])
        case .kernelGrown(let path, let limit):
            guard !path.isEmpty, !path.utf8.contains(0) else {
                throw BlksnapError.invalidRequest(.createSnapshot, "the storage path is empty or contains a NUL byte", devicePath: path).withABI(.val7)
            }
            guard limit > 0 else {
                throw BlksnapError.invalidRequest(.createSnapshot, "kernel-grown storage needs a limit above 0 sectors", devicePath: path).withABI(.val7)
            }
            let before = hostFileSize(path)
            var bytes = Array(path.utf8CString)
            argument.diff_storage_limit_sect = limit
            do {
                return try bytes.withUnsafeMutableBufferPointer { buffer throws(BlksnapError) in
                    argument.diff_storage_filename = userAddress(buffer.baseAddress)
                    return try create(&argument, storageDevices: storageDevice(of: path), storagePath: path)
                }
            } catch {
                if let before { truncateHostFile(path, to: before) }
                throw error
            }
        }
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_DESTROY` (0x40105602).
    public func destroySnapshot(_ id: SnapshotID) throws(BlksnapError) {
        var uuid = blksnap_uuid(id)
        try perform(.destroySnapshot, VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY, on: &uuid, snapshotID: id)
        records.forget(id, keys: [Self.storageDevicesKey])
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE` (0x40285622): ranges of the block device
    /// at `devicePath` (used in range mode only; the kernel opens the path before it
    /// looks the id up).
    public func appendStorage(_ id: SnapshotID, devicePath: String, ranges: [SectorRange]) throws(BlksnapError) {
        guard !devicePath.isEmpty, !devicePath.utf8.contains(0) else {
            throw BlksnapError.invalidRequest(.appendStorage, "the storage device path is empty or contains a NUL byte",
                                  devicePath: devicePath, snapshotID: id).withABI(.val7)
        }
        guard let count = UInt32(exactly: ranges.count) else {
            throw BlksnapError.invalidRequest(.appendStorage, "the range list is too long", devicePath: devicePath, snapshotID: id).withABI(.val7)
        }
        var path = Array(devicePath.utf8CString)
        var sectors = ranges.map { blksnap_sectors(offset: $0.offsetSectors, count: $0.countSectors) }
        var argument = veeamblksnap_snapshot_append_storage()
        argument.id = blksnap_uuid(id)
        argument.count = count
        let fd = try control.descriptor(for: .appendStorage, snapshotID: id)
        let result = path.withUnsafeMutableBufferPointer { pathBuffer in
            sectors.withUnsafeMutableBufferPointer { rangeBuffer in
                argument.devpath = userAddress(pathBuffer.baseAddress)
                argument.ranges = rangeBuffer.isEmpty ? 0 : userAddress(rangeBuffer.baseAddress)
                return kernel.ioctlResult(fd, VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, on: &argument)
            }
        }
        try check(result, .appendStorage, devicePath: devicePath, snapshotID: id)
        if let number = try? kernel.stat(devicePath).deviceNumber {
            records.update(Self.storageDevicesKey, of: id) { lines in
                let known = lines ?? []
                return known.contains(number.description) ? known : known + [number.description]
            }
        }
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_TAKE` (0x40105603). VAL-7.0 does not check the storage
    /// capacity: with none, the first store corrupts the snapshot (event, `ENOSPC`).
    public func takeSnapshot(_ id: SnapshotID) throws(BlksnapError) {
        var uuid = blksnap_uuid(id)
        try perform(.takeSnapshot, VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE, on: &uuid, snapshotID: id)
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_COLLECT` (0x80105604): as v5, the needed size is not reported.
    public func collectSnapshots(attempts: Int) throws(BlksnapError) -> [SnapshotID] {
        let fd = try control.descriptor(for: .collectSnapshots)
        let listed = CountThenFill.collect(attempts: attempts, restartOn: .noData, blank: blksnap_uuid()) { buffer in
            var request = blksnap_snapshot_collect()
            request.count = UInt32(buffer?.count ?? 0)
            request.ids = buffer.map { userAddress($0.baseAddress) } ?? 0
            return kernel.ioctlResult(fd, VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT, on: &request).map { _ in request.count }
        }
        switch listed {
        case .success(let ids): return ids.map(SnapshotID.init(val7:))
        case .failure(let error): throw BlksnapError(.val7, operation: .collectSnapshots, errno: error)
        }
    }

    /// One `IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT` (0x90005605), decoded with VAL-7.0's codes
    /// (corrupted 0, low free space 1).
    public func waitEventOnce(_ id: SnapshotID, timeoutTicks: UInt32) throws(BlksnapError) -> SnapshotEvent? {
        precondition(timeoutTicks <= capabilities.maximumWaitTicks, "WAIT_EVENT timeout above 2^31-1 ticks oopses VAL-7.0")
        let fd = try control.descriptor(for: .waitEvent, snapshotID: id)
        let event = UnsafeMutablePointer<blksnap_snapshot_event>.allocate(capacity: 1)
        defer { event.deallocate() }
        event.initialize(to: blksnap_snapshot_event())
        event.pointee.id = blksnap_uuid(id)
        event.pointee.timeout_ms = timeoutTicks
        switch kernel.ioctlResult(fd, VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, UnsafeMutableRawPointer(event)) {
        case .success:
            let code = event.pointee.code
            let time = event.pointee.time_label
            let decoded = withUnsafeBytes(of: &event.pointee.data) { data in
                SnapshotEvent(code: code, data: data, timeLabelNanoseconds: time,
                              lowFreeSpaceCode: veeamblksnap_event_code_low_free_space.rawValue,
                              corruptedCode: veeamblksnap_event_code_corrupted.rawValue)
            }
            return Self.actualRequest(decoded)
        case .failure(let error) where error == .noSuchFileOrDirectory:
            return nil
        case .failure(let error):
            throw BlksnapError(.val7, operation: .waitEvent, errno: error, snapshotID: id)
        }
    }

    /// A `low_free_space` event with the increase of the kernel's requested total, which
    /// is twice the payload: in range mode `diff_storage_calculate_requested` adds the
    /// portion to `requested` and `diff_storage_event_low` adds it again before queueing
    /// the event (`VAL-7.0:module/diff_storage.c`). The kernel re-arms its warning only
    /// when the appended capacity reaches that total, and stores up to it, so a caller
    /// that appended the payload alone would never be warned again and overflow at twice
    /// what it appended (seen on the real module: one event, then `ENOSPC`).
    static func actualRequest(_ event: SnapshotEvent) -> SnapshotEvent {
        guard case .lowFreeSpace(let sectors, let time) = event else { return event }
        let (doubled, overflow) = sectors.multipliedReportingOverflow(by: 2)
        return .lowFreeSpace(requestedSectors: overflow ? .max : doubled, timeLabelNanoseconds: time)
    }

    // MARK: - /dev/bdevfilter

    /// `BDEVFILTER_ATTACH` (0xc028468c) of the filter `"blksnap"` to the device's path.
    /// VAL-7.0 keeps the path and re-opens it at every take: pass a stable one.
    public func attach(_ device: BlockDevice) throws(BlksnapError) {
        try filterNameRequest(.attachFilter, BDEVFILTER_REQ_ATTACH, device)
    }

    /// `BDEVFILTER_DETACH` (0xc028468d): never refused, not even while the device is in
    /// a taken snapshot (``DetachGuard`` checks first).
    public func detach(_ device: BlockDevice) throws(BlksnapError) {
        try filterNameRequest(.detachFilter, BDEVFILTER_REQ_DETACH, device)
    }

    /// `BDEVFILTER_CTL` cbtinfo.
    public func cbtInfo(_ device: BlockDevice) throws(BlksnapError) -> CBTInfo {
        var info = blksnap_cbtinfo()
        try filterControl(device, .cbtInfo, BLKFILTER_CTL_BLKSNAP_CBTINFO, option: &info)
        var generation = info.generation_id
        let bytes = withUnsafeBytes(of: &generation.b) { Array($0) }
        return CBTInfo(capacityBytes: info.device_capacity, blockSizeBytes: info.block_size, blockCount: info.block_count,
                       generationID: CBTGenerationID(rawValue: bytes)!, changesNumber: info.changes_number)
    }

    /// `BDEVFILTER_CTL` cbtmap: readable any time; `ENODATA` past the end of the map.
    public func cbtMap(_ device: BlockDevice, offset: UInt32, length: UInt32) throws(BlksnapError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(length))
        var map = blksnap_cbtmap()
        map.offset = offset
        map.length = length
        let result = bytes.withUnsafeMutableBytes { buffer in
            map.buffer = userAddress(buffer.baseAddress)
            return Result { () throws(BlksnapError) in
                try filterControl(device, .cbtMap, BLKFILTER_CTL_BLKSNAP_CBTMAP, option: &map)
            }
        }
        try result.get()
        return bytes
    }

    /// `BDEVFILTER_CTL` cbtdirty with every range in one request (VAL-7.0 applies them
    /// all); zero-length ranges are left out (the kernel computes their block range as
    /// `(start + count − 1) >> shift`, which marks a block for nothing).
    public func markDirty(_ device: BlockDevice, _ ranges: [SectorRange]) throws(BlksnapError) {
        var sectors = ranges.filter { $0.countSectors > 0 }.map { blksnap_sectors(offset: $0.offsetSectors, count: $0.countSectors) }
        guard !sectors.isEmpty, let count = UInt32(exactly: sectors.count) else { return }
        var dirty = blksnap_cbtdirty()
        dirty.count = count
        try sectors.withUnsafeMutableBufferPointer { buffer throws(BlksnapError) in
            dirty.dirty_sectors = userAddress(buffer.baseAddress)
            try filterControl(device, .markDirty, BLKFILTER_CTL_BLKSNAP_CBTDIRTY, option: &dirty)
        }
    }

    /// `BDEVFILTER_CTL` snapshotadd — refused for a device that holds the snapshot's
    /// storage (VAL-7.0 would answer 0 and ignore it, or, for range storage, snapshot
    /// its own storage).
    public func addToSnapshot(_ device: BlockDevice, _ id: SnapshotID) throws(BlksnapError) {
        if let number = try? device.deviceNumber(),
           records.lines(Self.storageDevicesKey, of: id)?.contains(number.description) ?? false {
            throw BlksnapError.guarded(.storageDeviceAdded, .addToSnapshot,
                           "\(device.path) holds the difference storage of \(id): VAL-7.0 would accept it and either "
                           + "ignore it (file or block-device storage: no image, no protection) or copy-on-write "
                           + "its own storage (range storage); keep the storage on a device that is not snapshotted",
                           errno: .resourceBusy, devicePath: device.path, snapshotID: id).withABI(.val7)
        }
        var add = blksnap_snapshotadd(id: blksnap_uuid(id))
        try filterControl(device, .addToSnapshot, BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, option: &add, snapshotID: id)
    }

    /// `BDEVFILTER_CTL` snapshotinfo, zeroed first (the kernel leaves the image bytes as
    /// passed when there is none).
    public func snapshotInfo(_ device: BlockDevice) throws(BlksnapError) -> SnapshotInfo {
        var info = blksnap_snapshotinfo()
        withUnsafeMutableBytes(of: &info) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
        try filterControl(device, .snapshotInfo, BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO, option: &info)
        let name = withUnsafeBytes(of: &info.image) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let code = info.error_code
        return SnapshotInfo(errorCode: code == 0 ? nil : Errno(rawValue: code == Int32.min ? Int32.max : abs(code)),
                            imageName: name.isEmpty ? nil : name)
    }

    /// `veeamblksnapimg_MAJ:MIN` names the original `MAJ:MIN`.
    public func imageOriginal(ofNodeName name: String) -> ImageNodeName? {
        guard name.hasPrefix(Self.imageNamePrefix) else { return nil }
        return ImageNodeName(original: DeviceNumber(parsing: name.dropFirst(Self.imageNamePrefix.count)))
    }

    // MARK: - Plumbing

    private func create(_ argument: inout blksnap_snapshot_create, storageDevices devices: Set<DeviceNumber>,
                        storagePath: String? = nil) throws(BlksnapError) -> SnapshotID {
        let fd = try control.descriptor(for: .createSnapshot)
        try check(kernel.ioctlResult(fd, VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE, on: &argument), .createSnapshot,
                  devicePath: storagePath)
        let id = SnapshotID(val7: argument.id)
        if !devices.isEmpty {
            records.update(Self.storageDevicesKey, of: id) { _ in devices.map(\.description).sorted() }
        }
        return id
    }

    /// The device whose writes reach kernel-grown storage at `path`: the block device
    /// itself, or the filesystem's device for a file or directory.
    private func storageDevice(of path: String) -> Set<DeviceNumber> {
        guard let status = try? kernel.stat(path) else { return [] }
        if status.isBlockDevice { return [status.deviceNumber] }
        return status.containingDevice.map { [$0] } ?? []
    }

    /// The size of a regular host file, nil for anything else (or a simulator's namespace).
    private func hostFileSize(_ path: String) -> Int64? {
        guard kernel.usesHostDevices, let status = try? kernel.stat(path), status.mode & 0o170000 == 0o100000 else {
            return nil
        }
        return Int64(status.sizeBytes)
    }

    /// Gives back what a failed create's `fallocate` took (VAL-7.0 leaves it allocated).
    private func truncateHostFile(_ path: String, to size: Int64) {
        _ = Glibc.truncate(path, off_t(size))
    }

    private func withPath(_ path: String, _ body: (UInt64) throws(BlksnapError) -> Void) throws(BlksnapError) {
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw BlksnapError.invalidRequest(.attachFilter, "the device path is empty or contains a NUL byte", devicePath: path).withABI(.val7)
        }
        var bytes = Array(path.utf8CString)
        try bytes.withUnsafeMutableBufferPointer { buffer throws(BlksnapError) in
            try body(userAddress(buffer.baseAddress))
        }
    }

    private func fillFilterName<T>(_ field: inout T) {
        withUnsafeMutableBytes(of: &field) { bytes in
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
            bytes.copyBytes(from: "blksnap".utf8)
        }
    }

    /// `BDEVFILTER_ATTACH` or `DETACH` with `{devpath, "blksnap"}`.
    private func filterNameRequest(_ operation: BlksnapOperation, _ request: UInt, _ device: BlockDevice) throws(BlksnapError) {
        var argument = bdevfilter_name()
        try withPath(device.path) { address throws(BlksnapError) in
            argument.devpath = address
            fillFilterName(&argument.name)
            try performFilter(operation, request, on: &argument, device: device)
        }
    }

    /// `BDEVFILTER_CTL` with `{devpath, "blksnap", cmd, optlen = sizeof(T), opt = &option}`.
    private func filterControl<T>(_ device: BlockDevice, _ operation: BlksnapOperation, _ command: veeamblksnap_filter_ctl,
                                  option: inout T, snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        var request = bdevfilter_ctl()
        fillFilterName(&request.name)
        request.cmd = command.rawValue
        request.optlen = UInt32(MemoryLayout<T>.size)
        try withPath(device.path) { address throws(BlksnapError) in
            request.devpath = address
            try withUnsafeMutableBytes(of: &option) { optionBytes throws(BlksnapError) in
                request.opt = userAddress(optionBytes.baseAddress)
                try performFilter(operation, BDEVFILTER_REQ_CTL, on: &request, device: device, snapshotID: snapshotID)
            }
        }
    }

    private func performFilter<T>(_ operation: BlksnapOperation, _ request: UInt, on value: inout T, device: BlockDevice,
                                  snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        let fd = try filter.descriptor(for: operation, snapshotID: snapshotID)
        try check(kernel.ioctlResult(fd, request, on: &value), operation, devicePath: device.path, snapshotID: snapshotID)
    }

    private func perform<T>(_ operation: BlksnapOperation, _ request: UInt, on value: inout T,
                            snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        let fd = try control.descriptor(for: operation, snapshotID: snapshotID)
        try check(kernel.ioctlResult(fd, request, on: &value), operation, snapshotID: snapshotID)
    }

    private func check(_ result: Result<CInt, Errno>, _ operation: BlksnapOperation,
                       devicePath: String? = nil, snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        if case .failure(let error) = result {
            throw BlksnapError(.val7, operation: operation, errno: error, devicePath: devicePath, snapshotID: snapshotID)
        }
    }
}

extension SnapshotID {
    /// Copies VAL-7.0's `struct blksnap_uuid`.
    init(val7 uuid: blksnap_uuid) {
        var copy = uuid
        self.init(rawValue: withUnsafeBytes(of: &copy.b) { Array($0) })!
    }
}

extension blksnap_uuid {
    /// VAL-7.0's `struct blksnap_uuid` holding the id's bytes.
    init(_ id: SnapshotID) {
        self.init()
        withUnsafeMutableBytes(of: &b) { $0.copyBytes(from: id.rawValue) }
    }
}
