#if canImport(Glibc)
import Glibc
#endif
import CVeeamBlksnapUAPI

/// The ioctls of VAL-7.0's `/dev/veeamblksnap` (kernel: main.c, field spec §2.4).
///
/// Dispatch is on the full request number: wrong direction or size bits give `ENOTTY`
/// (v5 looks at the nr alone; Quirk.val7FullNumberDispatch). Copy faults are `ENODATA` throughout; string pointers
/// fail as `strndup_user` does (`EFAULT`, `EINVAL` without a NUL in 4096 bytes).
/// DESTROY, TAKE, COLLECT and WAIT_EVENT enter as v5's do (``V5Control``), with `ENODATA` for
/// WAIT_EVENT's faults.
struct VAL7Control {
    let params: LiveParams
    let snapshots: SnapshotList
    let blockLayer: BlockLayer
    let log: ModuleLog

    /// What `blksnap_mod.compatibility_flags` reports: `1 << blksnap_compat_flag_setlog`.
    static let compatibilityFlags: UInt64 = 1 << UInt64(blksnap_compat_flag_setlog.rawValue)
    /// What `blksnap_mod.name` reports.
    static let modificationName = "standalone"

    /// The v5 handlers VAL-7.0 shares.
    private var v5: V5Control { V5Control(params: params, snapshots: snapshots, blockLayer: blockLayer) }

    /// Handles one control ioctl. Returns 0 or a negative errno.
    func ioctl(request: UInt, argument: UInt64, memory: some UserMemory, interrupted: () -> Bool) -> Int32 {
        switch UInt(UInt32(truncatingIfNeeded: request)) {
        case VEEAMBLKSNAP_REQ_VERSION: return version(argument, memory)
        case VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE: return create(argument, memory)
        case VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY: return v5.destroy(argument, memory)
        case VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE: return v5.take(argument, memory)
        case VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT: return v5.collect(argument, memory)
        case VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT:
            return v5.waitEvent(argument, memory, interrupted: interrupted, faultErrno: ENODATA)
        case VEEAMBLKSNAP_REQ_MOD: return mod(argument, memory)
        case VEEAMBLKSNAP_REQ_SETLOG: return setLog(argument, memory)
        case VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE: return appendStorage(argument, memory)
        default: return -ENOTTY
        }
    }

    /// VERSION: 7.0.0.0; fault → ENODATA.
    private func version(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        memory.write(blksnap_version(major: 7, minor: 0, revision: 0, build: 0), at: argument) ? 0 : -ENODATA
    }

    /// CREATE (§2.4.2): ENODATA (copy-in), the storage path's errors, then the storage:
    /// `diff_storage_filename == 0` is range mode (a low_free_space event queued at
    /// once); a block device is used whole from sector 4096. The id is copied back
    /// after the snapshot is listed; a fault there destroys it again and returns ENODATA.
    private func create(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard var request = memory.read(blksnap_snapshot_create.self, at: argument) else { return -ENODATA }
        let snapshot = Snapshot(params: params, blockLayer: blockLayer)
        if request.diff_storage_filename == 0 {
            snapshot.storage.setVAL7Ranges(limitSectors: request.diff_storage_limit_sect)
        } else {
            let path: [UInt8]
            switch memory.stringFromUser(at: request.diff_storage_filename, limit: BdevFilter.pathLimit) {
            case .success(let bytes): path = bytes
            case .failure(let error): return -error.code
            }
            switch blockLayer.lookup(path: String(decoding: path, as: UTF8.self)) {
            case nil:
                // No files or directories in the simulator's namespace (Quirk.val7FileStorageNotSimulated).
                return -ENOENT
            case .control?, .filterControl?:
                return -EINVAL  // "should be a block device, directory or regular file"
            case .disk(let disk)?:
                guard let device = disk.device else { return -EOPNOTSUPP }  // Quirk.storageOnImage
                let result = snapshot.storage.setVAL7BlockDevice(device, limitSectors: request.diff_storage_limit_sect)
                if result != 0 { return result }
            }
        }
        snapshots.append(snapshot)
        withUnsafeMutableBytes(of: &request.id) { $0.copyBytes(from: snapshot.id.bytes) }
        guard memory.write(request, at: argument) else {
            snapshots.unlink(snapshot.id)?.put()
            return -ENODATA
        }
        return 0
    }

    /// MOD: `{compatibility_flags 0x2, "standalone"}`; fault → ENODATA.
    private func mod(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        var reply = blksnap_mod()
        reply.compatibility_flags = Self.compatibilityFlags
        withUnsafeMutableBytes(of: &reply.name) { $0.copyBytes(from: Array(Self.modificationName.utf8)) }
        return memory.write(reply, at: argument) ? 0 : -ENODATA
    }

    /// SETLOG (§2.4.7): ENODATA (copy-in); a negative level or no path disables the log
    /// (0); `filepath_size == 0` → EINVAL; `kzalloc(filepath_size + 1)` beyond
    /// `KMALLOC_MAX_SIZE` → ENOMEM; the path copy → ENODATA; the configuration already in
    /// force → EALREADY. `filepath_size` 0xffffffff wraps the u32 sum to `kzalloc(0)`, whose
    /// `ZERO_SIZE_PTR` the real module then copies 4 GiB into (a hardened-usercopy oops);
    /// the simulator answers ENODATA there, as for a copy that faults. The simulator keeps the configuration but writes no
    /// log file (Quirk.val7SetlogWritesNoFile).
    private func setLog(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let request = memory.read(blksnap_setlog.self, at: argument) else { return -ENODATA }
        if request.level < 0 || request.filepath == 0 {
            log.disable()
            return 0
        }
        if request.filepath_size == 0 { return -EINVAL }
        if request.filepath_size == UInt32.max { return -ENODATA }
        guard Kmalloc.fits(Int(request.filepath_size) + 1) else { return -ENOMEM }
        guard var path = memory.readBytes(at: request.filepath, count: Int(request.filepath_size)) else { return -ENODATA }
        if let end = path.firstIndex(of: 0) { path.removeSubrange(end...) }
        return log.restart(ModuleLog.Configuration(path: path, level: request.level))
    }

    /// APPEND_STORAGE (§2.4.8): ENODATA (copy-in), the path's string and open errors
    /// (before the id is looked up), ESRCH, then each range in turn (a fault → ENODATA,
    /// earlier ranges kept); the low-space flag is re-checked in every case.
    private func appendStorage(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let request = memory.read(veeamblksnap_snapshot_append_storage.self, at: argument) else { return -ENODATA }
        let path: [UInt8]
        switch memory.stringFromUser(at: request.devpath, limit: BdevFilter.pathLimit) {
        case .success(let bytes): path = bytes
        case .failure(let error): return -error.code
        }
        let device: SimBlockDevice
        switch blockLayer.openBlockDevice(path: String(decoding: path, as: UTF8.self)) {
        case .success(let opened): device = opened
        case .failure(let error): return -error.code
        }
        let id = withUnsafeBytes(of: request.id.b) { SimUUID(bytes: Array($0)) }
        guard let snapshot = snapshots.get(id) else { return -ESRCH }
        defer { snapshot.put() }
        var ranges: [(offset: UInt64, count: UInt64)] = []
        var result: Int32 = 0
        let stride = UInt64(MemoryLayout<blksnap_sectors>.size)
        for index in 0..<UInt64(request.count) {
            guard let range = memory.read(blksnap_sectors.self, at: request.ranges &+ index &* stride) else {
                result = -ENODATA
                break
            }
            ranges.append((range.offset, range.count))
        }
        snapshot.storage.appendVAL7(device: device, ranges: ranges)
        return result
    }
}
