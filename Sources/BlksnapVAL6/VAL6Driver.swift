#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
internal import CVeeamBlkSnapV1UAPI
import SystemPackage

/// Veeam's VAL-6.x module, the "blk_snap" v1 API (`veeam-field-modules.md` §1): one
/// control device, `/dev/veeamblksnap` (VAL-6.0: `/dev/blksnap`), dispatching on the
/// request's nr alone; devices named by `{major, minor}`; images named
/// `veeamblksnapimg<image minor>` (VAL-6.0: `blksnap-image<minor>`).
///
/// What the ABI cannot express is emulated or refused: there is no attach (tracking
/// starts at the first CREATE naming a device and survives DESTROY, so ``attach(_:)``
/// creates and destroys a one-device snapshot), no per-device status (``snapshotInfo(_:)``
/// maps the device through `COLLECT_IMAGES`), no adding devices after create
/// (``addToSnapshot(_:_:)`` is unsupported), no kernel-grown storage.
///
/// Guards, each refusing before the kernel sees the request (``SafetyHazard``):
/// - ``SafetyHazard/secondSnapshot``: CREATE (and the attach emulation) while any snapshot
///   exists — a second create orphans the older for good (§1.8.4).
/// - ``SafetyHazard/sequentialMultiDeviceTake``: CREATE of more than one device unless
///   ``SnapshotCreation/allowsSequentialMultiDeviceTake`` (§1.8.2).
/// - ``SafetyHazard/misalignedStorageRange``: APPEND_STORAGE of a range whose start is not
///   a multiple of 8 sectors (§1.4.8).
/// - ``SafetyHazard/takeWithoutStorage``: TAKE of a snapshot created through this library
///   with no storage appended — VAL-6.x would fail it and destroy the snapshot (§1.4.9).
/// - ``SafetyHazard/concurrentWaiter``: a second WAIT_EVENT on one snapshot while one is
///   pending (§1.5).
/// - ``SafetyHazard/removeMemberBeforeTake``: TRACKER_REMOVE while a snapshot exists that
///   is not taken yet, whose members the module cannot tell (§1.4.2).
///
/// On the real kernel the guards see every process using this library on the machine
/// (``SnapshotRecords``: files under `/run/blksnap/val6`, locked with `flock`), so
/// separate `blksnapctl` runs are guarded as one program is; clients that do not use
/// this library are not seen. On a simulated kernel they see this process.
public final class VAL6Driver: BlksnapDriver {
    /// `/dev/veeamblksnap` (VAL-6.1 … VAL-6.3.1; VAL-6.0 and stable-v1.0: `/dev/blksnap`).
    public static let defaultControlPath = "/dev/veeamblksnap"
    /// `veeamblksnapimg` (`BLK_SNAP_IMAGE_NAME`; VAL-6.0 and stable-v1.0: `blksnap-image`):
    /// an image node is this prefix followed by the image's minor number.
    public static let defaultImageNamePrefix = "veeamblksnapimg"
    /// The most ranges one TRACKER_MARK_DIRTY_BLOCKS carries: the module refuses a count
    /// above `KMALLOC_MAX_SIZE / 16` (4 MiB / 16 on x86_64) with `ENOMEM` (§1.4.5).
    public static let maximumDirtyRangesPerRequest = 262_144

    /// ``BlksnapABI/val6``.
    public var abi: BlksnapABI { .val6 }
    /// ``BlksnapCapabilities/val6``.
    public var capabilities: BlksnapCapabilities { .val6 }
    /// Where the requests go.
    public let kernel: any KernelInterface
    /// The control device's path.
    public var controlPath: String { control.path }
    /// The image node name prefix: an image is `/dev/` + this + its minor number.
    public let imageNamePrefix: String

    private let control: LazyNode
    private let coordination: VAL6Coordination

    /// A driver for the VAL-6.x module behind `kernel`; the control device is opened on
    /// first use. For VAL-6.0 pass `controlPath: "/dev/blksnap"` and
    /// `imageNamePrefix: "blksnap-image"`.
    public init(kernel: any KernelInterface = LinuxKernel(), controlPath: String = VAL6Driver.defaultControlPath,
                imageNamePrefix: String = VAL6Driver.defaultImageNamePrefix) {
        self.kernel = kernel
        self.imageNamePrefix = imageNamePrefix
        self.control = LazyNode(kernel: kernel, path: controlPath, flags: O_RDWR, openOperation: .openControl)
        self.coordination = VAL6Coordination(records: .for(.val6, on: kernel))
    }

    /// Opens the control device now.
    public func openControl() throws(BlksnapError) { try control.open() }

    /// Closes the control device.
    public func closeControl() throws(BlksnapError) { try control.close() }

    // MARK: - Snapshots

    /// `IOCTL_BLK_SNAP_VERSION` (nr 0): 1.0.0.0 on VAL-6.0 … VAL-6.3.1.
    public func version() throws(BlksnapError) -> Version {
        var version = blk_snap_version()
        try perform(.version, BLK_SNAP_REQ_VERSION, on: &version)
        return Version(major: version.major, minor: version.minor, revision: version.revision, build: version.build)
    }

    /// `IOCTL_BLK_SNAP_SNAPSHOT_CREATE` (nr 5) with every member device, given by path and
    /// sent as `{major, minor}`. This is also where VAL-6.x starts tracking a device (a
    /// fresh CBT) that is not tracked yet.
    ///
    /// Refused before the kernel sees it: kernel-grown storage (VAL-7.0 only); no devices
    /// (a count of 0 busy-loops in the kernel, §1.4.6); the same device twice; a path that
    /// is not a block device; more than one device unless
    /// ``SnapshotCreation/allowsSequentialMultiDeviceTake`` (``SafetyHazard/sequentialMultiDeviceTake``);
    /// any snapshot existing already (``SafetyHazard/secondSnapshot``: the module would
    /// orphan it for good, §1.8.4). The create queues one low-free-space event, which
    /// the first WAIT_EVENT returns at once.
    public func createSnapshot(_ creation: SnapshotCreation) throws(BlksnapError) -> SnapshotID {
        if case .kernelGrown(let path, _) = creation.storage {
            throw .unsupported(.val6, .createSnapshot,
                               "kernel-grown storage (\(path)) is a VAL-7.0 feature: append sector ranges instead",
                               devicePath: path)
        }
        let paths = creation.devices
        guard !paths.isEmpty else {
            throw .val6InvalidRequest(.createSnapshot, "VAL-6.x fixes a snapshot's devices at create: name at least one "
                                  + "(a create of no device busy-loops in the module)")
        }
        let single = paths.count == 1 ? paths[0] : nil
        if paths.count > 1 && !creation.allowsSequentialMultiDeviceTake {
            throw .val6Guarded(.sequentialMultiDeviceTake, .createSnapshot,
                           "VAL-6.x takes the \(paths.count) devices \(paths.joined(separator: ", ")) one after another, "
                           + "so their images are not one point in time; snapshot them one at a time, or set "
                           + "allowsSequentialMultiDeviceTake if no filesystem, volume or database spans them",
                           errno: .notSupported)
        }
        var numbers: [DeviceNumber] = []
        for path in paths {
            let number = try blockDeviceNumber(path, .createSnapshot)
            if numbers.contains(number) {
                throw .val6InvalidRequest(.createSnapshot, "device \(number) is named twice (\(path))", devicePath: path)
            }
            numbers.append(number)
        }
        let id = try underLifecycleLock { () throws(BlksnapError) -> SnapshotID in
            if let existing = try collectSnapshots().first {
                throw .val6Guarded(.secondSnapshot, .createSnapshot,
                               "snapshot \(existing) exists: destroy it first; VAL-6.x orphans the older snapshot for "
                               + "good (its devices stay owned until reboot and unloading the module hangs)",
                               errno: .resourceBusy, devicePath: single, snapshotID: existing)
            }
            return try create(numbers.map(blk_snap_dev_t.init), operation: .createSnapshot, devicePath: single)
        }
        coordination.created(id)
        return id
    }

    /// `IOCTL_BLK_SNAP_SNAPSHOT_DESTROY` (nr 6): `ENODEV` for an unknown (or orphaned) id.
    /// The trackers stay attached and keep tracking (§1.8.3).
    public func destroySnapshot(_ id: SnapshotID) throws(BlksnapError) {
        var argument = blk_snap_snapshot_destroy(id: blk_snap_uuid(id))
        try perform(.destroySnapshot, BLK_SNAP_REQ_SNAPSHOT_DESTROY, on: &argument, snapshotID: id)
        coordination.forget(id)
    }

    /// `IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE` (nr 7): the ranges of the block device at
    /// `devicePath`, sent as its `{major, minor}` (the module opens it by number).
    ///
    /// Every range must start at a multiple of 8 sectors: VAL-6.x accepts any start and
    /// corrupts the snapshot at the first copy-on-write into a misaligned one (§1.4.8),
    /// so such a list is refused whole (``SafetyHazard/misalignedStorageRange``). The
    /// module copies the whole array before adding any range.
    public func appendStorage(_ id: SnapshotID, devicePath: String, ranges: [SectorRange]) throws(BlksnapError) {
        let alignment = capabilities.storageRangeAlignmentSectors
        if let misaligned = ranges.first(where: { $0.offsetSectors % alignment != 0 }) {
            throw .val6Guarded(.misalignedStorageRange, .appendStorage,
                           "range \(misaligned) of \(devicePath) starts at sector \(misaligned.offsetSectors), not a "
                           + "multiple of \(alignment) (one 4 KiB page): VAL-6.x would accept it and corrupt the "
                           + "snapshot at its first copy-on-write; align every range start to \(alignment) sectors",
                           errno: .invalidArgument, devicePath: devicePath, snapshotID: id)
        }
        guard let count = UInt32(exactly: ranges.count) else {
            throw .val6InvalidRequest(.appendStorage, "the range list is too long", devicePath: devicePath, snapshotID: id)
        }
        let device = try blockDeviceNumber(devicePath, .appendStorage, snapshotID: id)
        var blocks = ranges.map { blk_snap_block_range(sector_offset: $0.offsetSectors, sector_count: $0.countSectors) }
        var argument = blk_snap_snapshot_append_storage()
        argument.id = blk_snap_uuid(id)
        argument.dev_id = blk_snap_dev_t(device)
        argument.count = count
        let fd = try control.descriptor(for: .appendStorage, snapshotID: id)
        let result = blocks.withUnsafeMutableBufferPointer { buffer in
            argument.ranges = buffer.baseAddress
            return kernel.ioctlResult(fd, BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE, on: &argument)
        }
        try check(result, .appendStorage, devicePath: devicePath, snapshotID: id)
        let appended = ranges.reduce(UInt64(0)) { total, range in
            let (sum, overflow) = total.addingReportingOverflow(range.countSectors)
            return overflow ? .max : sum
        }
        coordination.appended(appended, to: id)
    }

    /// `IOCTL_BLK_SNAP_SNAPSHOT_TAKE` (nr 8). Devices are frozen and switched one at a
    /// time (§1.8.2). A failure before the images exist **destroys** the snapshot (its id
    /// is gone; `ESRCH`, `EALREADY` and `ENODEV` leave it alone), so a snapshot created
    /// through this library without appending storage is refused
    /// (``SafetyHazard/takeWithoutStorage``); ids created elsewhere are sent as they are.
    public func takeSnapshot(_ id: SnapshotID) throws(BlksnapError) {
        if coordination.appendedSectors(id) == 0 {
            throw .val6Guarded(.takeWithoutStorage, .takeSnapshot,
                           "no difference storage was appended to \(id): VAL-6.x would fail the take (EFAULT) and "
                           + "destroy the snapshot; append sector ranges first",
                           errno: .noSpace, snapshotID: id)
        }
        defer { coordination.forget(id) }
        var argument = blk_snap_snapshot_take(id: blk_snap_uuid(id))
        try perform(.takeSnapshot, BLK_SNAP_REQ_SNAPSHOT_TAKE, on: &argument, snapshotID: id)
    }

    /// `IOCTL_BLK_SNAP_SNAPSHOT_COLLECT` (nr 9): the count first (NULL array), then that
    /// many ids. A too-small array or a fault writing an element gives `ENODATA` with the
    /// count unchanged (the needed size is not reported), so the protocol restarts, up to
    /// `attempts` times. Lists only the newest snapshot once a second create orphaned the
    /// others (§1.8.4).
    public func collectSnapshots(attempts: Int) throws(BlksnapError) -> [SnapshotID] {
        let fd = try control.descriptor(for: .collectSnapshots)
        let listed = CountThenFill.collect(attempts: attempts, restartOn: .noData, blank: blk_snap_uuid()) { buffer in
            var request = blk_snap_snapshot_collect()
            request.count = UInt32(buffer?.count ?? 0)
            request.ids = buffer?.baseAddress
            return kernel.ioctlResult(fd, BLK_SNAP_REQ_SNAPSHOT_COLLECT, on: &request).map { _ in request.count }
        }
        switch listed {
        case .success(let ids): return ids.map(SnapshotID.init(val6:))
        case .failure(let error): throw BlksnapError(.val6, operation: .collectSnapshots, errno: error)
        }
    }

    /// One `IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT` (nr 11) on a zeroed 4096-byte event (the
    /// module copies in the whole page), decoded with VAL-6.x's codes (low free space 0,
    /// corrupted 1); `ENOENT` (nothing arrived) is nil.
    ///
    /// One waiter per snapshot: a second concurrent wait on the same id (from this process
    /// or, on the real kernel, another) is refused (``SafetyHazard/concurrentWaiter``; two
    /// waiters woken by one event corrupt the module's event list, §1.5).
    public func waitEventOnce(_ id: SnapshotID, timeoutTicks: UInt32) throws(BlksnapError) -> SnapshotEvent? {
        precondition(timeoutTicks <= capabilities.maximumWaitTicks, "WAIT_EVENT timeout above 2^31-1 ticks oopses VAL-6.x")
        precondition(MemoryLayout<blk_snap_snapshot_event>.size == Int(BLK_SNAP_EVENT_COPY_IN_SIZE),
                     "blk_snap_snapshot_event must be the page the module copies in")
        guard let waiter = coordination.beginWaiting(id) else {
            throw .val6Guarded(.concurrentWaiter, .waitEvent,
                           "another thread or process is already waiting for the events of \(id): a second "
                           + "VAL-6.x waiter on one snapshot corrupts the module's event list; wait from one place only",
                           errno: .resourceBusy, snapshotID: id)
        }
        defer { coordination.endWaiting(waiter) }
        let fd = try control.descriptor(for: .waitEvent, snapshotID: id)
        let event = UnsafeMutablePointer<blk_snap_snapshot_event>.allocate(capacity: 1)
        defer { event.deallocate() }
        event.initialize(to: blk_snap_snapshot_event())  // all 4096 bytes zero: the struct has no padding
        event.pointee.id = blk_snap_uuid(id)
        event.pointee.timeout_ms = timeoutTicks
        switch kernel.ioctlResult(fd, BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT, UnsafeMutableRawPointer(event)) {
        case .success:
            let code = event.pointee.code
            let time = event.pointee.time_label
            return withUnsafeBytes(of: &event.pointee.data) { data in
                SnapshotEvent(code: code, data: data, timeLabelNanoseconds: time,
                              lowFreeSpaceCode: blk_snap_event_code_low_free_space.rawValue,
                              corruptedCode: blk_snap_event_code_corrupted.rawValue)
            }
        case .failure(let error) where error == .noSuchFileOrDirectory:
            return nil
        case .failure(let error):
            throw BlksnapError(.val6, operation: .waitEvent, errno: error, snapshotID: id)
        }
    }

    // MARK: - Devices

    /// Emulates an attach: VAL-6.x has none, tracking starts at the first
    /// `IOCTL_BLK_SNAP_SNAPSHOT_CREATE` that names a device and survives the snapshot's
    /// destroy (§1.8.3, §4.2). So this creates a snapshot of the device alone and destroys
    /// it at once; the create freezes a mounted filesystem for a moment and queues one
    /// low-free-space event, which the destroy discards.
    ///
    /// A device that `IOCTL_BLK_SNAP_TRACKER_COLLECT` lists already fails with `EALREADY`
    /// (tracked already; its CBT is kept). Refused while any snapshot exists
    /// (``SafetyHazard/secondSnapshot``): the create would orphan it.
    public func attach(_ device: BlockDevice) throws(BlksnapError) {
        let number = try deviceNumber(of: device, .attachFilter)
        try underLifecycleLock { () throws(BlksnapError) in
            if try trackerEntry(number, operation: .attachFilter, devicePath: device.path) != nil {
                throw BlksnapError(.val6, operation: .attachFilter, errno: .alreadyInProcess, devicePath: device.path)
            }
            if let existing = try collectSnapshots().first {
                throw .val6Guarded(.secondSnapshot, .attachFilter,
                               "VAL-6.x starts tracking \(device.path) only by creating a snapshot of it, and snapshot "
                               + "\(existing) exists: destroy it first (VAL-6.x orphans the older snapshot for good), "
                               + "or name the device when creating the snapshot",
                               errno: .resourceBusy, devicePath: device.path, snapshotID: existing)
            }
            let id = try create([blk_snap_dev_t(number)], operation: .attachFilter, devicePath: device.path)
            var argument = blk_snap_snapshot_destroy(id: blk_snap_uuid(id))
            try perform(.destroySnapshot, BLK_SNAP_REQ_SNAPSHOT_DESTROY, on: &argument, devicePath: device.path,
                        snapshotID: id)
        }
    }

    /// `IOCTL_BLK_SNAP_TRACKER_REMOVE` (nr 1): stops tracking (the CBT is lost). VAL-6.x
    /// refuses a member of a taken snapshot (`EBUSY`) but accepts a member of a snapshot
    /// not taken yet, whose image is then never protected (§1.4.2); the module cannot tell
    /// the members before take, so the remove is refused while any listed snapshot is not
    /// taken (``SafetyHazard/removeMemberBeforeTake``).
    public func detach(_ device: BlockDevice) throws(BlksnapError) {
        let number = try deviceNumber(of: device, .detachFilter)
        try underLifecycleLock { () throws(BlksnapError) in
            for id in try collectSnapshots() where try images(of: id, operation: .detachFilter, devicePath: device.path) == nil {
                throw .val6Guarded(.removeMemberBeforeTake, .detachFilter,
                               "snapshot \(id) is created but not taken, and VAL-6.x cannot tell its members before "
                               + "take: removing a member's tracker now is accepted and its image is then never "
                               + "protected; destroy the snapshot first",
                               errno: .resourceBusy, devicePath: device.path, snapshotID: id)
            }
            var argument = blk_snap_tracker_remove(dev_id: blk_snap_dev_t(number))
            try perform(.detachFilter, BLK_SNAP_REQ_TRACKER_REMOVE, on: &argument, devicePath: device.path)
        }
    }

    /// The device's entry in `IOCTL_BLK_SNAP_TRACKER_COLLECT` (nr 2), which reports every
    /// tracked device at once; `ENOENT` when the device is not listed, or listed with a
    /// block size of 0 (the module could not open it or has no tracker for it, §1.4.3).
    public func cbtInfo(_ device: BlockDevice) throws(BlksnapError) -> CBTInfo {
        let number = try deviceNumber(of: device, .cbtInfo)
        guard let entry = try trackerEntry(number, operation: .cbtInfo, devicePath: device.path) else {
            throw BlksnapError(.val6, operation: .cbtInfo, errno: .noSuchFileOrDirectory, devicePath: device.path)
        }
        return CBTInfo(val6: entry)
    }

    /// `IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP` (nr 3): only while the device's snapshot is
    /// taken (`EPERM` otherwise). The module answers the number of bytes it copied,
    /// clamping the length at the end of the map and stopping silently at a fault; any
    /// count but `length` is an error (`ENODATA` when some bytes came, `EIO` when none).
    public func cbtMap(_ device: BlockDevice, offset: UInt32, length: UInt32) throws(BlksnapError) -> [UInt8] {
        let number = try deviceNumber(of: device, .cbtMap)
        var bytes = [UInt8](repeating: 0, count: Int(length))
        var argument = blk_snap_tracker_read_cbt_bitmap()
        argument.dev_id = blk_snap_dev_t(number)
        argument.offset = offset
        argument.length = length
        let fd = try control.descriptor(for: .cbtMap)
        let result = bytes.withUnsafeMutableBufferPointer { buffer in
            argument.buff = buffer.baseAddress
            return kernel.ioctlResult(fd, BLK_SNAP_REQ_TRACKER_READ_CBT_MAP, on: &argument)
        }
        switch result {
        case .success(let copied) where Int(copied) == Int(length):
            return bytes
        case .success(let copied):
            var error = BlksnapError(.val6, operation: .cbtMap, errno: copied > 0 ? .noData : .ioError,
                                     devicePath: device.path)
            error.validationMessage = "VAL-6.x copied \(copied) of the \(length) bytes asked from offset \(offset) of "
                + "the CBT map of \(device.path): "
                + (copied > 0 ? "the range runs past the end of the map" : "the copy to the buffer faulted")
            throw error
        case .failure(let error):
            throw BlksnapError(.val6, operation: .cbtMap, errno: error, devicePath: device.path)
        }
    }

    /// `IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS` (nr 4) with every non-empty range, at
    /// most ``maximumDirtyRangesPerRequest`` per request (VAL-6.x applies all of them; the
    /// first failing range stops a request, earlier ones stay applied). Zero-length
    /// ranges are left out (the module would mark a block for nothing).
    ///
    /// An image node (its name starts with ``imageNamePrefix``) is refused while a listed
    /// snapshot is not taken: the module then walks that snapshot's empty image slots and
    /// oopses (§1.4.5).
    public func markDirty(_ device: BlockDevice, _ ranges: [SectorRange]) throws(BlksnapError) {
        let number = try deviceNumber(of: device, .markDirty)
        let blocks = ranges.filter { $0.countSectors > 0 }
            .map { blk_snap_block_range(sector_offset: $0.offsetSectors, sector_count: $0.countSectors) }
        guard !blocks.isEmpty else { return }
        let name = device.path.split(separator: "/").last.map(String.init) ?? device.path
        if imageOriginal(ofNodeName: name) != nil {
            for id in try collectSnapshots() where try images(of: id, operation: .markDirty, devicePath: device.path) == nil {
                throw .val6InvalidRequest(.markDirty, "\(device.path) is a VAL-6.x image and snapshot \(id) is not taken: "
                                      + "marking an image dirty now oopses the module; take or destroy \(id) first",
                                      errno: .resourceBusy, devicePath: device.path, snapshotID: id)
            }
        }
        let fd = try control.descriptor(for: .markDirty)
        var start = 0
        while start < blocks.count {
            let end = min(start + Self.maximumDirtyRangesPerRequest, blocks.count)
            var chunk = Array(blocks[start..<end])
            var argument = blk_snap_tracker_mark_dirty_blocks()
            argument.dev_id = blk_snap_dev_t(number)
            argument.count = UInt32(chunk.count)
            let result = chunk.withUnsafeMutableBufferPointer { buffer in
                argument.dirty_blocks_array = buffer.baseAddress
                return kernel.ioctlResult(fd, BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS, on: &argument)
            }
            try check(result, .markDirty, devicePath: device.path)
            start = end
        }
    }

    /// Unsupported: VAL-6.x takes a snapshot's devices at create only.
    public func addToSnapshot(_ device: BlockDevice, _ id: SnapshotID) throws(BlksnapError) {
        throw .unsupported(.val6, .addToSnapshot,
                           "VAL-6.x fixes a snapshot's devices at create: name every device when creating it",
                           devicePath: device.path, snapshotID: id)
    }

    /// The device's image, found through `IOCTL_BLK_SNAP_SNAPSHOT_COLLECT` and, per taken
    /// snapshot, `IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES` (nr 10): the entry whose original
    /// is the device names the image `imageNamePrefix` + its minor
    /// (`veeamblksnapimg0`). No image (nil) when the device is in no snapshot, its snapshot
    /// is not taken, or its image could not be created (`{0, 0}`).
    ///
    /// ``SnapshotInfo/errorCode`` is always nil: VAL-6.x has no per-device status and
    /// reports corruption only through `corrupted` events and `ENOSPC` on image I/O.
    public func snapshotInfo(_ device: BlockDevice) throws(BlksnapError) -> SnapshotInfo {
        let number = try deviceNumber(of: device, .snapshotInfo)
        for id in try collectSnapshots() {
            guard let images = try images(of: id, operation: .snapshotInfo, devicePath: device.path),
                  let entry = images.first(where: { $0.orig_dev_id.deviceNumber == number })
            else { continue }
            let image = entry.image_dev_id
            return SnapshotInfo(errorCode: nil, imageName: image.isNone ? nil : imageNamePrefix + String(image.mn))
        }
        return SnapshotInfo(errorCode: nil, imageName: nil)
    }

    /// ``imageNamePrefix`` followed by decimal digits (the image's minor) is an image; the
    /// name does not encode the original (use ``snapshotInfo(_:)``).
    public func imageOriginal(ofNodeName name: String) -> ImageNodeName? {
        guard name.hasPrefix(imageNamePrefix) else { return nil }
        let minor = name.utf8.dropFirst(imageNamePrefix.utf8.count)
        guard !minor.isEmpty, minor.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return ImageNodeName(original: nil)
    }

    // MARK: - Plumbing

    /// `IOCTL_BLK_SNAP_SNAPSHOT_CREATE` of `devices` (at least one), errors reported as `operation`.
    private func create(_ devices: [blk_snap_dev_t], operation: BlksnapOperation,
                        devicePath: String?) throws(BlksnapError) -> SnapshotID {
        var array = devices
        var argument = blk_snap_snapshot_create()
        argument.count = UInt32(array.count)
        let fd = try control.descriptor(for: operation)
        let result = array.withUnsafeMutableBufferPointer { buffer in
            argument.dev_id_array = buffer.baseAddress
            return kernel.ioctlResult(fd, BLK_SNAP_REQ_SNAPSHOT_CREATE, on: &argument)
        }
        try check(result, operation, devicePath: devicePath)
        return SnapshotID(val6: argument.id)
    }

    /// Every `IOCTL_BLK_SNAP_TRACKER_COLLECT` entry: the count first (NULL array), then
    /// that many; `ENOBUFS` (the list grew; nothing written, the size not reported) asks
    /// again, up to `attempts` times. Zeroed entries (the list shrank) are left out.
    private func trackers(operation: BlksnapOperation, devicePath: String?,
                          attempts: Int = 8) throws(BlksnapError) -> [blk_snap_cbt_info] {
        let fd = try control.descriptor(for: operation)
        let listed = CountThenFill.collect(attempts: attempts, restartOn: .noBufferSpace, blank: blk_snap_cbt_info()) { buffer in
            var request = blk_snap_tracker_collect()
            request.count = UInt32(buffer?.count ?? 0)
            request.cbt_info_array = buffer?.baseAddress
            return kernel.ioctlResult(fd, BLK_SNAP_REQ_TRACKER_COLLECT, on: &request).map { _ in request.count }
        }
        switch listed {
        case .success(let entries): return entries.filter { !$0.dev_id.isNone }
        case .failure(let error): throw BlksnapError(.val6, operation: operation, errno: error, devicePath: devicePath)
        }
    }

    /// The tracker entry of `number` with its CBT parameters, or nil.
    private func trackerEntry(_ number: DeviceNumber, operation: BlksnapOperation,
                              devicePath: String?) throws(BlksnapError) -> blk_snap_cbt_info? {
        try trackers(operation: operation, devicePath: devicePath)
            .first { $0.dev_id.deviceNumber == number && $0.blk_size != 0 }
    }

    /// `IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES` of one snapshot: its `{original, image}`
    /// pairs in create order; nil when it is not taken (`ENODEV`), empty when it is gone
    /// (`ESRCH`). A too-small array gives `ENODATA` with the needed count, which is used.
    private func images(of id: SnapshotID, operation: BlksnapOperation, devicePath: String?,
                        attempts: Int = 8) throws(BlksnapError) -> [blk_snap_image_info]? {
        let fd = try control.descriptor(for: operation, snapshotID: id)
        var query = blk_snap_snapshot_collect_images()
        query.id = blk_snap_uuid(id)
        switch kernel.ioctlResult(fd, BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES, on: &query) {
        case .success:
            break
        case .failure(let error) where error == .operationNotSupportedByDevice:
            return nil
        case .failure(let error) where error == .noSuchProcess:
            return []
        case .failure(let error):
            throw BlksnapError(.val6, operation: operation, errno: error, devicePath: devicePath, snapshotID: id)
        }
        var needed = Int(query.count)
        var lastError = Errno.noData
        for _ in 0..<attempts {
            if needed == 0 { return [] }
            var entries = [blk_snap_image_info](repeating: blk_snap_image_info(), count: needed)
            var request = blk_snap_snapshot_collect_images()
            request.id = blk_snap_uuid(id)
            request.count = UInt32(needed)
            let result = entries.withUnsafeMutableBufferPointer { buffer in
                request.image_info_array = buffer.baseAddress
                return kernel.ioctlResult(fd, BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES, on: &request)
            }
            switch result {
            case .success:
                return Array(entries[0..<min(Int(request.count), needed)])
            case .failure(let error) where error == .noData && Int(request.count) > needed:
                lastError = error
                needed = Int(request.count)
            case .failure(let error) where error == .operationNotSupportedByDevice:
                return nil
            case .failure(let error) where error == .noSuchProcess:
                return []
            case .failure(let error):
                throw BlksnapError(.val6, operation: operation, errno: error, devicePath: devicePath, snapshotID: id)
            }
        }
        throw BlksnapError(.val6, operation: operation, errno: lastError, devicePath: devicePath, snapshotID: id)
    }

    /// The `dev_t` of an opened device; `0:0` (not a device node) is refused.
    private func deviceNumber(of device: BlockDevice, _ operation: BlksnapOperation) throws(BlksnapError) -> DeviceNumber {
        let number = try device.deviceNumber()
        guard number.rawValue != 0 else {
            throw .val6InvalidRequest(operation, "\(device.path) is not a block device (device number 0:0)",
                                  errno: .notBlockDevice, devicePath: device.path)
        }
        return number
    }

    /// The `dev_t` of the block device at `path` in the kernel's namespace.
    private func blockDeviceNumber(_ path: String, _ operation: BlksnapOperation,
                                   snapshotID: SnapshotID? = nil) throws(BlksnapError) -> DeviceNumber {
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw .val6InvalidRequest(operation, "the device path is empty or contains a NUL byte", devicePath: path,
                                  snapshotID: snapshotID)
        }
        let status: KernelFileStatus
        do throws(Errno) {
            status = try kernel.stat(path)
        } catch {
            throw BlksnapError(.val6, operation: .stat, errno: error, devicePath: path, snapshotID: snapshotID)
        }
        guard status.isBlockDevice, status.deviceNumber.rawValue != 0 else {
            throw .val6InvalidRequest(operation, "\(path) is not a block device: VAL-6.x names devices by number",
                                  errno: .notBlockDevice, devicePath: path, snapshotID: snapshotID)
        }
        return status.deviceNumber
    }

    /// Runs `body` holding the lifecycle lock (``VAL6Coordination/withLifecycleLock(_:)``).
    private func underLifecycleLock<Value: Sendable>(
        _ body: () throws(BlksnapError) -> Value
    ) throws(BlksnapError) -> Value {
        try coordination.withLifecycleLock(body)
    }

    private func perform<T>(_ operation: BlksnapOperation, _ request: UInt, on value: inout T,
                            devicePath: String? = nil, snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        let fd = try control.descriptor(for: operation, snapshotID: snapshotID)
        try check(kernel.ioctlResult(fd, request, on: &value), operation, devicePath: devicePath, snapshotID: snapshotID)
    }

    private func check(_ result: Result<CInt, Errno>, _ operation: BlksnapOperation,
                       devicePath: String? = nil, snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        if case .failure(let error) = result {
            throw BlksnapError(.val6, operation: operation, errno: error, devicePath: devicePath, snapshotID: snapshotID)
        }
    }
}
