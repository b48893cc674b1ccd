#if canImport(Glibc)
import Glibc
#endif
import CVeeamBlkSnapV1UAPI

/// The ioctls of VAL-6.3.1's `/dev/veeamblksnap` (kernel: ctrl.c, snapshot.c, tracker.c;
/// field spec §1.3, §1.4), each with its checks in the module's order.
///
/// Dispatch looks at `_IOC_NR` alone (type, direction and size bits are ignored): nr 0–11
/// reach the main table, nr 12 reads one slot past it in the module
/// (Quirk.val6ControlNumberTwelve: `ENOTTY` here), 13–31 `ENOTTY`, 32–34 the
/// "modification" table (GET_SECTOR_STATE, not built, `ENOTTY`), ≥ 35 `ENOTTY`.
///
/// Devices are named `{mj, mn}` and turned into a `dev_t` with the kernel's `MKDEV`
/// (a minor ≥ 2^20 spills into the major), then opened by number: a `dev_t` with no disk
/// gives `ENXIO`. Struct pointers are raw C pointers; their value is the user address.
struct VAL6Control {
    let params: LiveParams
    let snapshots: SnapshotList
    let blockLayer: BlockLayer
    let log: ModuleLog
    let trackedDevices: TrackedDeviceList

    /// The v5 handlers VAL-6.3.1 shares (DESTROY, WAIT_EVENT).
    private var v5: V5Control { V5Control(params: params, snapshots: snapshots, blockLayer: blockLayer) }

    /// Handles one control ioctl. Returns a non-negative result (READ_CBT_MAP: bytes
    /// copied) or a negative errno.
    func ioctl(request: UInt, argument: UInt64, memory: some UserMemory, interrupted: () -> Bool) -> Int32 {
        let nr = UInt32(truncatingIfNeeded: request) & 0xff
        switch nr {
        case blk_snap_ioctl_version.rawValue: return version(argument, memory)
        case blk_snap_ioctl_tracker_remove.rawValue: return trackerRemove(argument, memory)
        case blk_snap_ioctl_tracker_collect.rawValue: return trackerCollect(argument, memory)
        case blk_snap_ioctl_tracker_read_cbt_map.rawValue: return readCBTMap(argument, memory)
        case blk_snap_ioctl_tracker_mark_dirty_blocks.rawValue: return markDirtyBlocks(argument, memory)
        case blk_snap_ioctl_snapshot_create.rawValue: return create(argument, memory)
        case blk_snap_ioctl_snapshot_destroy.rawValue: return v5.destroy(argument, memory)
        case blk_snap_ioctl_snapshot_append_storage.rawValue: return appendStorage(argument, memory)
        case blk_snap_ioctl_snapshot_take.rawValue: return take(argument, memory)
        case blk_snap_ioctl_snapshot_collect.rawValue: return collect(argument, memory)
        case blk_snap_ioctl_snapshot_collect_images.rawValue: return collectImages(argument, memory)
        case blk_snap_ioctl_snapshot_wait_event.rawValue:
            return v5.waitEvent(argument, memory, interrupted: interrupted, faultErrno: EINVAL,
                                copyInBytes: Int(BLK_SNAP_EVENT_COPY_IN_SIZE))
        case blk_snap_ioctl_mod.rawValue: return mod(argument, memory)
        case blk_snap_ioctl_setlog.rawValue: return setLog(argument, memory)
        default: return -ENOTTY  // nr 12 (Quirk.val6ControlNumberTwelve), 13–31, 34, ≥ 35
        }
    }

    // MARK: - Helpers

    /// The user address a raw C pointer of a request struct holds.
    private static func address<T>(_ pointer: UnsafeMutablePointer<T>?) -> UInt64 {
        UInt64(UInt(bitPattern: pointer))
    }

    /// `MKDEV(mj, mn)` split again with `MAJOR`/`MINOR`: a 32-bit `dev_t` of a 12-bit
    /// major and a 20-bit minor, the minor's high bits spilling into the major.
    static func deviceNumber(_ id: blk_snap_dev_t) -> (major: UInt32, minor: UInt32) {
        let devt = (id.mj << 20) | id.mn
        return (devt >> 20, devt & 0xfffff)
    }

    /// `blkdev_get_by_dev`: the live disk with this `dev_t`, or nil (`ENXIO`).
    private func open(_ number: (major: UInt32, minor: UInt32)) -> GenDisk? {
        guard let disk = blockLayer.disk(major: number.major, minor: number.minor), !disk.isDeleted else { return nil }
        return disk
    }

    /// `count × elementBytes` bytes at `address`, copied a page at a time (the module's
    /// `big_buffer` and `kcalloc` copies); nil on a fault. Never allocates more than was
    /// readable, whatever the count claims.
    private static func readArray(at address: UInt64, count: UInt64, elementBytes: Int,
                                  _ memory: some UserMemory) -> [UInt8]? {
        let total = count * UInt64(elementBytes)
        var bytes: [UInt8] = []
        var done: UInt64 = 0
        while done < total {
            let step = Int(min(4096, total - done))
            guard let page = memory.readBytes(at: address &+ done, count: step) else { return nil }
            bytes += page
            done += UInt64(step)
        }
        return bytes
    }

    /// Loads the `index`-th `T` of a byte array read with ``readArray(at:count:elementBytes:_:)``.
    private static func element<T>(_ type: T.Type, _ bytes: [UInt8], _ index: Int) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self) }
    }

    /// Raw bytes of `values`.
    private static func bytes<T>(of values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    // MARK: - Service

    /// VERSION (§1.4.1): 1.0.0.0; fault → ENODATA.
    private func version(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        let version = blk_snap_version(major: UInt16(BLK_SNAP_V1_VERSION_MAJOR), minor: UInt16(BLK_SNAP_V1_VERSION_MINOR),
                                       revision: UInt16(BLK_SNAP_V1_VERSION_REVISION),
                                       build: UInt16(BLK_SNAP_V1_VERSION_BUILD))
        return memory.write(version, at: argument) ? 0 : -ENODATA
    }

    /// MOD (§1.4.13): `{0x2, "standalone"}`; fault → ENODATA.
    private func mod(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        var reply = blk_snap_mod()
        reply.compatibility_flags = UInt64(BLK_SNAP_MOD_COMPAT_FLAGS_STANDALONE)
        withUnsafeMutableBytes(of: &reply.name) { $0.copyBytes(from: Array(BLK_SNAP_MOD_NAME_STANDALONE.utf8)) }
        return memory.write(reply, at: argument) ? 0 : -ENODATA
    }

    /// SETLOG (§1.4.14): ENODATA (copy-in); no path → logging off, 0 (`level < 0` is
    /// never true: `level` is u32); `filepath_size == 0` → EINVAL; `kzalloc(size + 1)`
    /// beyond `KMALLOC_MAX_SIZE` → ENOMEM; the path copy → ENODATA; then `log_restart`
    /// with the level as the module's `int`. `filepath_size` 0xffffffff wraps to
    /// `kzalloc(0)` and a 4 GiB copy the real module oopses on (hardened usercopy); the
    /// simulator answers ENODATA. No file is written (Quirk.val6SetlogWritesNoFile).
    private func setLog(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let request = memory.read(blk_snap_setlog.self, at: argument) else { return -ENODATA }
        if request.filepath == nil {
            log.disable()
            return 0
        }
        if request.filepath_size == 0 { return -EINVAL }
        if request.filepath_size == UInt32.max { return -ENODATA }
        guard Kmalloc.fits(Int(request.filepath_size) + 1) else { return -ENOMEM }
        guard var path = memory.readBytes(at: Self.address(request.filepath), count: Int(request.filepath_size))
        else { return -ENODATA }
        if let end = path.firstIndex(of: 0) { path.removeSubrange(end...) }
        return log.restart(ModuleLog.Configuration(path: path, level: Int32(bitPattern: request.level)))
    }

    // MARK: - Trackers

    /// TRACKER_REMOVE (§1.4.2): ENODATA; a `dev_t` that cannot be opened falls back to
    /// dropping the bdevfilter extension's filter (ENOENT without one, else 0 with the
    /// list entry kept); no tracker → ENODATA; taken → EBUSY; else the filter is detached
    /// and the entry removed. A member of a snapshot not yet taken is accepted: its image
    /// will show later writes (no COW).
    private func trackerRemove(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let request = memory.read(blk_snap_tracker_remove.self, at: argument) else { return -ENODATA }
        let number = Self.deviceNumber(request.dev_id)
        guard let disk = open(number) else {
            return trackedDevices.dropFilter(major: number.major, minor: number.minor) ? 0 : -ENOENT
        }
        return disk.queue.withWriteLock {
            guard let tracker = disk.filter else { return -ENODATA }
            if tracker.snapshotIsTaken { return -EBUSY }
            disk.setFilter(nil)
            trackedDevices.remove(major: number.major, minor: number.minor)
            return 0
        }
    }

    /// TRACKER_COLLECT (§1.4.3): ENODATA; a NULL array asks the number of entries;
    /// `kcalloc(count, 48)` beyond `KMALLOC_MAX_SIZE` → ENOMEM; more entries than
    /// `count` → ENOBUFS with nothing written back; else one record per entry (CBT fields
    /// zero where the device cannot be opened or has no tracker), the array, then the
    /// struct with `count` := entries (faults → ENODATA).
    private func trackerCollect(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard var request = memory.read(blk_snap_tracker_collect.self, at: argument) else { return -ENODATA }
        let entries = trackedDevices.deviceNumbers
        if request.cbt_info_array == nil {
            request.count = UInt32(entries.count)
            return memory.write(request, at: argument) ? 0 : -ENODATA
        }
        guard Kmalloc.fits(Int(request.count) * MemoryLayout<blk_snap_cbt_info>.size) else { return -ENOMEM }
        if entries.count > Int(request.count) { return -ENOBUFS }
        let records = entries.map { number -> blk_snap_cbt_info in
            var info = blk_snap_cbt_info()
            info.dev_id = blk_snap_dev_t(mj: number.major, mn: number.minor)
            guard let tracker = open(number)?.filter else { return info }
            let cbt = tracker.cbt
            info.device_capacity = cbt.capacitySectors &<< 9
            info.blk_size = UInt32(truncatingIfNeeded: cbt.blockSizeBytes)
            info.blk_count = UInt32(truncatingIfNeeded: cbt.blockCount)
            info.snap_number = UInt8(truncatingIfNeeded: cbt.previousNumber)
            withUnsafeMutableBytes(of: &info.generation_id.b) { $0.copyBytes(from: cbt.generationID.bytes) }
            return info
        }
        if !records.isEmpty, !memory.copyToUser(Self.address(request.cbt_info_array), fromBytes: Self.bytes(of: records)) {
            return -ENODATA
        }
        request.count = UInt32(entries.count)
        return memory.write(request, at: argument) ? 0 : -ENODATA
    }

    /// TRACKER_READ_CBT_MAP (§1.4.4): ENODATA; ENXIO (open); no tracker → ENODATA; not
    /// taken → EPERM; corrupted → EFAULT; `offset ≥ blk_count` → EINVAL; then the read
    /// map from `offset`, `length` clamped, copied a page of the map at a time. Returns
    /// the bytes copied: a fault stops the copy and returns what was copied before it
    /// (possibly 0), never an error.
    private func readCBTMap(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let request = memory.read(blk_snap_tracker_read_cbt_bitmap.self, at: argument) else { return -ENODATA }
        guard let disk = open(Self.deviceNumber(request.dev_id)) else { return -ENXIO }
        guard let tracker = disk.filter else { return -ENODATA }
        guard tracker.snapshotIsTaken else { return -EPERM }
        let bytes: [UInt8]
        switch tracker.cbt.clampedReadMapBytes(offset: request.offset, length: request.length) {
        case .success(let read): bytes = read
        case .failure(let error): return -error.code
        }
        // big_buffer_copy_to_user: up to the next page boundary of the map, then page by page.
        let destination = Self.address(request.buff)
        var copied = 0
        var mapOffset = Int(request.offset)
        while copied < bytes.count {
            let step = min(4096 - mapOffset % 4096, bytes.count - copied)
            let ok = bytes[copied..<copied + step].withUnsafeBytes {
                memory.copyToUser(destination &+ UInt64(copied), from: $0)
            }
            if !ok { break }
            copied += step
            mapOffset += step
        }
        return Int32(copied)
    }

    /// TRACKER_MARK_DIRTY_BLOCKS (§1.4.5): ENODATA; `count > KMALLOC_MAX_SIZE/16` →
    /// ENOMEM; the array copy → ENODATA. An image's major searches the listed snapshots'
    /// images (none listed → 0; not found → ENODEV; an empty image slot met on the way
    /// oopses the module, Quirk.val6MarkImageEmptySlot: EFAULT here) and marks its
    /// original's CBT; any other `dev_t`: ENXIO (open), no tracker → ENODEV. Every range
    /// is marked "set both" in turn; the first failure (EINVAL) stops, earlier ones stay.
    private func markDirtyBlocks(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let request = memory.read(blk_snap_tracker_mark_dirty_blocks.self, at: argument) else { return -ENODATA }
        let rangeBytes = MemoryLayout<blk_snap_block_range>.size
        if Int(request.count) > Kmalloc.maxSize / rangeBytes { return -ENOMEM }
        guard let array = Self.readArray(at: Self.address(request.dirty_blocks_array), count: UInt64(request.count),
                                         elementBytes: rangeBytes, memory) else { return -ENODATA }
        let ranges = (0..<Int(request.count)).map { Self.element(blk_snap_block_range.self, array, $0) }
        func mark(_ cbt: CBTMap) -> Int32 {
            for range in ranges {
                let result = cbt.markBoth(sector: range.sector_offset, count: range.sector_count)
                if result != 0 { return result }
            }
            return 0
        }
        let number = Self.deviceNumber(request.dev_id)
        if request.dev_id.mj == BlockLayer.val6ImageMajor {
            return snapshots.withSnapshots { list in
                if list.isEmpty { return 0 }
                for snapshot in list {
                    switch snapshot.val6ImageCBT(major: number.major, minor: number.minor) {
                    case .found(let cbt): return mark(cbt)
                    case .emptySlot: return -EFAULT
                    case .none: continue
                    }
                }
                return -ENODEV
            }
        }
        guard let disk = open(number) else { return -ENXIO }
        guard let tracker = disk.filter else { return -ENODEV }
        return mark(tracker.cbt)
    }

    // MARK: - Snapshots

    /// SNAPSHOT_CREATE (§1.4.6): ENODATA; `kcalloc(count, 8)` beyond `KMALLOC_MAX_SIZE`
    /// → ENOMEM; the array copy → ENODATA; the same `{mj, mn}` twice → EINVAL; then per
    /// device in array order: ENXIO (open), an image → EOPNOTSUPP
    /// (Quirk.val6ImageAsMember), a tracker owned by another snapshot → EALREADY, an
    /// unowned one is taken over, else a new tracker is attached (ENOMEM for 0 sectors)
    /// and listed. A failure frees the snapshot; trackers made so far stay attached,
    /// unowned. On success the snapshot is listed with VAL-6.3.1's swapped
    /// `list_add_tail`, orphaning every older one (Quirk.val6CreateOrphansOlder), and the
    /// whole struct is copied back with the id (a fault → ENODATA, the snapshot stays).
    /// The creation queues one low_free_space event. `count == 0` makes a snapshot
    /// without devices (the module's `check_same_devices` first loops ~2^32 times).
    private func create(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard var request = memory.read(blk_snap_snapshot_create.self, at: argument) else { return -ENODATA }
        let idBytes = MemoryLayout<blk_snap_dev_t>.size
        guard Kmalloc.fits(Int(request.count) * idBytes) else { return -ENOMEM }
        guard let array = Self.readArray(at: Self.address(request.dev_id_array), count: UInt64(request.count),
                                         elementBytes: idBytes, memory) else { return -ENODATA }
        let ids = (0..<Int(request.count)).map { Self.element(blk_snap_dev_t.self, array, $0) }
        for (index, first) in ids.enumerated() {
            for second in ids[(index + 1)...] where first.mj == second.mj && first.mn == second.mn { return -EINVAL }
        }
        let snapshot = Snapshot(params: params, blockLayer: blockLayer)
        snapshot.storage.emitCreationEvent()
        for id in ids {
            let result = attachOrTakeOver(Self.deviceNumber(id), for: snapshot)
            if result != 0 {
                snapshot.put()
                return result
            }
        }
        snapshots.appendOrphaningOthers(snapshot)
        withUnsafeMutableBytes(of: &request.id.b) { $0.copyBytes(from: snapshot.id.bytes) }
        return memory.write(request, at: argument) ? 0 : -ENODATA
    }

    /// `tracker_create_or_get` for one CREATE member; 0 or the negative errno.
    private func attachOrTakeOver(_ number: (major: UInt32, minor: UInt32), for snapshot: Snapshot) -> Int32 {
        guard let disk = open(number) else { return -ENXIO }
        // The real module would track the image and snapshot it; the simulator does not nest snapshots.
        guard disk.device != nil else { return -EOPNOTSUPP }
        let outcome: Result<Tracker, SimErrno> = disk.queue.withWriteLock {
            if disk.isDeleted { return .failure(SimErrno(ENXIO)) }
            if let tracker = disk.filter {
                return tracker.link() ? .success(tracker) : .failure(SimErrno(EALREADY))
            }
            let tracker: Tracker
            do throws(SimErrno) {
                tracker = try Tracker(disk: disk, params: params, dialect: .val6)
            } catch {
                return .failure(error)
            }
            _ = tracker.link()
            disk.setFilter(tracker)
            trackedDevices.append(major: number.major, minor: number.minor, tracker: tracker)
            return .success(tracker)
        }
        switch outcome {
        case .success(let tracker):
            snapshot.appendVAL6Member(tracker)
            return 0
        case .failure(let error):
            return -error.code
        }
    }

    /// SNAPSHOT_APPEND_STORAGE (§1.4.8): struct fault → EINVAL; the whole range array is
    /// copied first (`big_buffer_alloc` beyond `KMALLOC_MAX_SIZE` → ENOMEM, any fault →
    /// ENODATA, nothing added); ESRCH; the storage device by `dev_t` (ENXIO; an image →
    /// EOPNOTSUPP, Quirk.storageOnImage); the ranges, unvalidated, then the re-arm rule.
    /// A range start that is not a multiple of 8 sectors is only refused at its first
    /// store (Quirk.val6MisalignedRangeCorrupts).
    private func appendStorage(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let request = memory.read(blk_snap_snapshot_append_storage.self, at: argument) else { return -EINVAL }
        let rangeBytes = MemoryLayout<blk_snap_block_range>.size
        let total = UInt64(request.count) * UInt64(rangeBytes)
        let pages = (total + 4095) / 4096
        guard pages <= UInt64(Kmalloc.maxSize / 8), Kmalloc.fits(8 + Int(pages) * 8) else { return -ENOMEM }
        guard let array = Self.readArray(at: Self.address(request.ranges), count: UInt64(request.count),
                                         elementBytes: rangeBytes, memory) else { return -ENODATA }
        let id = withUnsafeBytes(of: request.id.b) { SimUUID(bytes: Array($0)) }
        guard let snapshot = snapshots.get(id) else { return -ESRCH }
        defer { snapshot.put() }
        guard let disk = open(Self.deviceNumber(request.dev_id)) else { return -ENXIO }
        guard let device = disk.device else { return -EOPNOTSUPP }
        let ranges = (0..<Int(request.count)).map { index -> (offset: UInt64, count: UInt64) in
            let range = Self.element(blk_snap_block_range.self, array, index)
            return (range.sector_offset, range.sector_count)
        }
        snapshot.storage.append(device: device, ranges: ranges, completed: true)
        return 0
    }

    /// SNAPSHOT_TAKE (§1.4.9): ENODATA; ESRCH; then ``Snapshot/takeVAL6()``, whose
    /// failures before the images destroy the snapshot (unlinked, the list's reference
    /// dropped): a retry gets ESRCH.
    private func take(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let bytes = memory.readBytes(at: argument, count: MemoryLayout<blk_snap_snapshot_take>.size) else {
            return -ENODATA
        }
        let id = SimUUID(bytes: bytes)
        guard let snapshot = snapshots.get(id) else { return -ESRCH }
        defer { snapshot.put() }
        let (result, destroy) = snapshot.takeVAL6()
        if destroy { snapshots.unlink(id)?.put() }
        return result
    }

    /// SNAPSHOT_COLLECT (§1.4.10): as v5's, except that a fault writing an id returns
    /// ENODATA; `count` := ids written; the struct is always copied back (fault → ENODATA).
    private func collect(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard var request = memory.read(blk_snap_snapshot_collect.self, at: argument) else { return -ENODATA }
        let ids = Self.address(request.ids)
        let result: Int32 = snapshots.withSnapshots { list in
            var written: UInt32 = 0
            defer { request.count = written }
            if list.isEmpty { return 0 }
            if ids == 0 {
                written = UInt32(truncatingIfNeeded: list.count)
                return 0
            }
            for snapshot in list {
                if written >= request.count { return -ENODATA }
                if !memory.copyToUser(ids &+ UInt64(written) &* 16, fromBytes: snapshot.id.bytes) { return -ENODATA }
                written += 1
            }
            return 0
        }
        return memory.write(request, at: argument) ? result : -ENODATA
    }

    /// SNAPSHOT_COLLECT_IMAGES (§1.4.11): ENODATA; ESRCH; not taken → ENODEV; NULL array →
    /// 0; `count` below the members → ENODATA; else `{original, image}` per member in
    /// CREATE order (`{0,0}` for a missing image), array fault → ENODATA. Past ESRCH
    /// `count` := members; the struct is always copied back (fault → ENODATA).
    private func collectImages(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard var request = memory.read(blk_snap_snapshot_collect_images.self, at: argument) else { return -ENODATA }
        let id = withUnsafeBytes(of: request.id.b) { SimUUID(bytes: Array($0)) }
        var result: Int32
        if let snapshot = snapshots.get(id) {
            defer { snapshot.put() }
            let members = snapshot.val6Members
            if !snapshot.taken {
                result = -ENODEV
            } else if request.image_info_array == nil {
                result = 0
            } else if request.count < UInt32(members.count) {
                result = -ENODATA
            } else {
                let records = members.map { member -> blk_snap_image_info in
                    var info = blk_snap_image_info()
                    info.orig_dev_id = blk_snap_dev_t(mj: member.major, mn: member.minor)
                    if let image = member.image { info.image_dev_id = blk_snap_dev_t(mj: image.major, mn: image.minor) }
                    return info
                }
                result = records.isEmpty
                    || memory.copyToUser(Self.address(request.image_info_array), fromBytes: Self.bytes(of: records)) ? 0 : -ENODATA
            }
            request.count = UInt32(members.count)
        } else {
            result = -ESRCH
        }
        return memory.write(request, at: argument) ? result : -ENODATA
    }
}
