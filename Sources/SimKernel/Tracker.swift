#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI

/// The blksnap filter instance of one tracked device (kernel: tracker.c, spec §2.1, §1.4).
///
/// Fields:
/// - `device`: the tracked original's media, nil when the tracked disk is a snapshot
///   image (v5 attaches to images too, spec §12.1 item 11);
/// - `major`, `minor`: the tracked disk's `dev_t`;
/// - `queue`: the original disk's request-queue freeze (the disk holds the tracker as its
///   filter while attached; the tracker holds only the queue, so there is no cycle);
/// - `cbt`: the CBT map, created at attach for the capacity of that moment;
/// - `ctlMutex`: serializes every BLKFILTER_CTL sub-command of this device (`ctl_lock`);
/// - `snapshotIsTaken`: COW is active (set at take step 4, cleared at release);
/// - `diffArea`: the COW state while the device is in a taken snapshot;
/// - `image`: the image disk while it exists;
/// - `isLinked`: a member of some snapshot (`!list_empty(&tracker->link)`).
///
/// Lifetime: created by BLKFILTER_ATTACH; referenced by the disk's filter slot (dropped
/// by detach or disk removal) and by the snapshot it belongs to (dropped at release).
final class Tracker: @unchecked Sendable {
    let device: SimBlockDevice?
    let major: UInt32
    let minor: UInt32
    let queue: RWSemaphore
    let cbt: CBTMap
    let ctlMutex = PthreadMutex(())
    /// The module whose filter this is (VAL-7.0 fails every `REQ_NOWAIT` write while taken).
    let dialect: SimDialect

    private struct State {
        var snapshotIsTaken = false
        var diffArea: DiffArea?
        var image: GenDisk?
        var isLinked = false
    }
    private let state = PthreadMutex(State())

    /// The attach callback: a tracker with a CBT map for the current capacity, on an
    /// original device or on a snapshot image (Quirk.filterOnImages).
    ///
    /// - Throws: `ENOMEM` for a 0-sector device (§1.3).
    init(disk: GenDisk, params: LiveParams, dialect: SimDialect = .v5) throws(SimErrno) {
        self.dialect = dialect
        self.device = disk.device
        self.major = disk.major
        self.minor = disk.minor
        self.queue = disk.queue
        self.cbt = try CBTMap(capacitySectors: disk.capacitySectors, params: params)
    }

    // MARK: State accessors (short critical sections, never held across blocking calls)

    var snapshotIsTaken: Bool {
        get { state.withLock { $0.snapshotIsTaken } }
        set { state.withLock { $0.snapshotIsTaken = newValue } }
    }
    var diffArea: DiffArea? {
        get { state.withLock { $0.diffArea } }
        set { state.withLock { $0.diffArea = newValue } }
    }
    var image: GenDisk? {
        get { state.withLock { $0.image } }
        set { state.withLock { $0.image = newValue } }
    }

    /// Links the tracker to a snapshot unless it already is a member of one.
    /// Returns false if it was already linked.
    func link() -> Bool {
        state.withLock { s in
            if s.isLinked { return false }
            s.isLinked = true
            return true
        }
    }

    /// Unlinks the tracker from its snapshot.
    func unlink() { state.withLock { $0.isLinked = false } }

    /// True while the tracker is a member of a snapshot.
    var isLinked: Bool { state.withLock { $0.isLinked } }

    // MARK: The filter path (§2.1)

    /// A write-class bio of `count` sectors at `sector` meets the filter. Zero-length
    /// bios pass; otherwise the CBT write map is marked; if that fails, or no snapshot
    /// is taken, or the diff area is corrupted, the bio passes; else COW runs first.
    ///
    /// - Returns: 0 (the write may proceed) or `-EAGAIN` (a `nowait` write met a chunk
    ///   that needs loading or is busy).
    func filterWrite(sector: UInt64, count: UInt64, nowait: Bool) -> Int32 {
        if count == 0 { return 0 }
        if cbt.markWrite(sector: sector, count: count) != 0 { return 0 }
        let (taken, area) = state.withLock { ($0.snapshotIsTaken, $0.diffArea) }
        // A failed take can leave `snapshot_is_taken` set with the diff area gone
        // (§2.3 step 4 BUG): the kernel would crash on the next write; we pass it.
        // A corrupted diff area lets the bio pass: copyOnWrite checks that under its own
        // lock (returning 0), so no separate lock round trip is spent on it here.
        guard taken, let area else { return 0 }
        // VAL-7.0 fails every REQ_NOWAIT write while a snapshot is taken (field spec
        // §2.8.1, Quirk.val7NowaitAlwaysFails); v5 only when the chunk needs work.
        if nowait && dialect == .val7 { return -EAGAIN }
        let result = area.copyOnWrite(sector: sector, count: count, nowait: nowait)
        return result == -EAGAIN ? -EAGAIN : 0
    }

    /// Final release of the snapshot's hold on this device (§2.4,
    /// `tracker_release_snapshot`): under a queue freeze, COW stops and the diff area is
    /// detached; then the diff area is released.
    func releaseSnapshot() {
        let area: DiffArea? = queue.withWriteLock {
            state.withLock { s in
                s.snapshotIsTaken = false
                let area = s.diffArea
                s.diffArea = nil
                return area
            }
        }
        area?.release()
    }

    // MARK: BLKFILTER_CTL sub-commands (§1.4)

    /// Runs sub-command `cmd` under the ctl mutex. `optlen` is the kernel's copy:
    /// whatever the handler would store in it never reaches user space.
    func control(cmd: UInt32, opt: UInt64, optlen: UInt32, memory: some UserMemory,
                 snapshots: SnapshotList, dialect: SimDialect) -> Int32 {
        // cmd > 5 → ENOTTY; cmd == 5 indexes past the table in v5 (Quirk.ctlCommandFive).
        guard cmd < 5 else { return -ENOTTY }
        return ctlMutex.withLock { _ in
            switch cmd {
            case UInt32(blkfilter_ctl_blksnap_cbtinfo.rawValue):
                return cbtInfo(opt: opt, optlen: optlen, memory: memory)
            case UInt32(blkfilter_ctl_blksnap_cbtmap.rawValue):
                return cbtMap(opt: opt, optlen: optlen, memory: memory)
            case UInt32(blkfilter_ctl_blksnap_cbtdirty.rawValue):
                return cbtDirty(opt: opt, optlen: optlen, memory: memory, everyRange: dialect == .val7)
            case UInt32(blkfilter_ctl_blksnap_snapshotadd.rawValue):
                return snapshotAdd(opt: opt, optlen: optlen, memory: memory, snapshots: snapshots)
            default:
                return snapshotInfo(opt: opt, optlen: optlen, memory: memory)
            }
        }
    }

    /// cbtinfo: 40 bytes out; padding zeroed (Quirk.cbtinfoPadding).
    private func cbtInfo(opt: UInt64, optlen: UInt32, memory: some UserMemory) -> Int32 {
        guard optlen >= UInt32(MemoryLayout<blksnap_cbtinfo>.size) else { return -EINVAL }
        let info = cbt.info()
        return memory.write(info, at: opt) ? 0 : -ENODATA
    }

    /// cbtmap: corrupted → EFAULT (checked before optlen); range check; returns 0.
    private func cbtMap(opt: UInt64, optlen: UInt32, memory: some UserMemory) -> Int32 {
        if cbt.isCorrupted { return -EFAULT }
        guard optlen >= UInt32(MemoryLayout<blksnap_cbtmap>.size) else { return -EINVAL }
        guard let request = memory.read(blksnap_cbtmap.self, at: opt) else { return -ENODATA }
        guard let bytes = cbt.readMapBytes(offset: request.offset, length: request.length) else {
            return -ENODATA
        }
        let ok = bytes.withUnsafeBytes { memory.copyToUser(request.buffer, from: $0) }
        return ok ? 0 : -EINVAL
    }

    /// cbtdirty: v5 applies `dirty_sectors[0]` `count` times (Quirk.cbtdirtyFirstRangeOnly);
    /// VAL-7.0 (`everyRange`) applies each range in turn (field spec §2.3). A fault reading
    /// a range gives ENODATA, the first marking error is returned; earlier ranges stay.
    private func cbtDirty(opt: UInt64, optlen: UInt32, memory: some UserMemory, everyRange: Bool) -> Int32 {
        guard optlen >= UInt32(MemoryLayout<blksnap_cbtdirty>.size) else { return -EINVAL }
        guard let request = memory.read(blksnap_cbtdirty.self, at: opt) else { return -ENODATA }
        var index: UInt32 = 0
        while index < request.count {
            // The v5 loop never advances the pointer.
            let stride = UInt64(MemoryLayout<blksnap_sectors>.size)
            let address = everyRange ? request.dirty_sectors &+ UInt64(index) &* stride : request.dirty_sectors
            guard let range = memory.read(blksnap_sectors.self, at: address) else {
                return -ENODATA
            }
            let result = cbt.markBoth(sector: range.offset, count: range.count)
            if result != 0 { return result }
            index += 1
        }
        return 0
    }

    /// snapshotadd: ESRCH / EALREADY / EBUSY per §1.4.
    private func snapshotAdd(opt: UInt64, optlen: UInt32, memory: some UserMemory,
                             snapshots: SnapshotList) -> Int32 {
        guard optlen >= UInt32(MemoryLayout<blksnap_snapshotadd>.size) else { return -EINVAL }
        guard let request = memory.read(blksnap_snapshotadd.self, at: opt) else { return -ENODATA }
        let id = withUnsafeBytes(of: request.id.b) { SimUUID(bytes: Array($0)) }
        guard let snapshot = snapshots.get(id) else { return -ESRCH }
        defer { snapshot.put() }
        // A tracked image would become a member and be snapshotted itself in v5; the
        // simulator does not nest snapshots (Quirk.noSnapshotOfImages).
        guard device != nil else { return -EOPNOTSUPP }
        return snapshot.addDevice(self)
    }

    /// snapshotinfo: the caller's 36 bytes are read first; `image` keeps them when
    /// there is no image (Quirk.snapshotinfoImageEcho).
    private func snapshotInfo(opt: UInt64, optlen: UInt32, memory: some UserMemory) -> Int32 {
        guard optlen >= UInt32(MemoryLayout<blksnap_snapshotinfo>.size) else { return -EINVAL }
        guard var info = memory.read(blksnap_snapshotinfo.self, at: opt) else { return -ENODATA }
        let (area, image) = state.withLock { ($0.diffArea, $0.image) }
        info.error_code = 0
        if let area, area.isCorrupted { info.error_code = area.errorCode }
        if let image {
            var name = Array(image.name.utf8.prefix(Int(IMAGE_DISK_NAME_LEN)))
            name += [UInt8](repeating: 0, count: Int(IMAGE_DISK_NAME_LEN) - name.count)
            withUnsafeMutableBytes(of: &info.image) { $0.copyBytes(from: name) }
        }
        return memory.write(info, at: opt) ? 0 : -ENODATA
    }
}
