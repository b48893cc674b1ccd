#if canImport(Glibc)
import Glibc
#endif
import CVeeamBlksnapUAPI

/// VAL-7.0's filter manager, `/dev/bdevfilter` (kernel: bdevfilter.c, field spec §2.3).
///
/// Dispatch is on the full request number (anything else `ENOTTY`). Every request names
/// its block device by a user pointer to a NUL-terminated path (`strndup_user(PATH_MAX)`:
/// a fault `EFAULT`, no NUL within 4096 bytes `EINVAL`), opened like `bdev_open`: unknown
/// path `ENOENT`, a character device `ENOTBLK`. The one registered filter is `blksnap`.
struct BdevFilter {
    let params: LiveParams
    let snapshots: SnapshotList
    let blockLayer: BlockLayer

    /// `PATH_MAX`: the most bytes `strndup_user` looks through for the NUL.
    static let pathLimit = 4096

    /// One ioctl of `/dev/bdevfilter`. Returns 0 or a negative errno.
    func ioctl(request: UInt, argument: UInt64, memory: some UserMemory) -> Int32 {
        switch UInt(UInt32(truncatingIfNeeded: request)) {
        case BDEVFILTER_REQ_ATTACH: return attach(argument, memory)
        case BDEVFILTER_REQ_DETACH: return detach(argument, memory)
        case BDEVFILTER_REQ_CTL: return control(argument, memory)
        default: return -ENOTTY
        }
    }

    /// The request struct at `argument` (a fault → EFAULT) and the disk its `devpath`
    /// names (the path's and the open's errors), or the negative errno.
    private func request<Request>(_ type: Request.Type, at argument: UInt64, _ memory: some UserMemory,
                                  devpath: (Request) -> UInt64) -> Result<(Request, GenDisk), SimErrno> {
        guard let request = memory.read(type, at: argument) else { return .failure(SimErrno(EFAULT)) }
        return disk(path: devpath(request), memory).map { (request, $0) }
    }

    /// The disk at the path `address` points to, as `bdev_open` finds it.
    private func disk(path address: UInt64, _ memory: some UserMemory) -> Result<GenDisk, SimErrno> {
        let path: [UInt8]
        switch memory.stringFromUser(at: address, limit: Self.pathLimit) {
        case .success(let bytes): path = bytes
        case .failure(let error): return .failure(error)
        }
        switch blockLayer.lookup(path: String(decoding: path, as: UTF8.self)) {
        case nil: return .failure(SimErrno(ENOENT))
        case .control?, .filterControl?: return .failure(SimErrno(ENOTBLK))
        case .disk(let disk)?: return .success(disk)
        }
    }

    /// ATTACH: EFAULT (struct), path and open errors, ENOENT (unknown filter name),
    /// ENODEV (disk gone), ENOMEM (a 0-sector device: the tracker and its CBT map are
    /// made first), then EALREADY when the device has the filter already (checked only
    /// after the new tracker was allocated, and then dropped). No filesystem or queue
    /// freeze (v5 freezes both; not observable in the simulator).
    private func attach(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        let request: bdevfilter_name, disk: GenDisk
        switch self.request(bdevfilter_name.self, at: argument, memory, devpath: \.devpath) {
        case .success(let found): (request, disk) = found
        case .failure(let error): return -error.code
        }
        guard BlockFilter.nameMatches(withUnsafeBytes(of: request.name) { Array($0) }) else { return -ENOENT }
        return disk.queue.withWriteLock {
            if disk.isDeleted { return -ENODEV }
            let tracker: Tracker
            do throws(SimErrno) {
                tracker = try Tracker(disk: disk, params: params, dialect: .val7)
            } catch {
                return -error.code
            }
            if disk.filter != nil { return -EALREADY }
            disk.setFilter(tracker)
            return 0
        }
    }

    /// DETACH: EFAULT, path and open errors, ENODEV (disk gone), ENOENT (no filter),
    /// EINVAL (another filter's name). Never refused for a member of a taken snapshot.
    private func detach(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        let request: bdevfilter_name, disk: GenDisk
        switch self.request(bdevfilter_name.self, at: argument, memory, devpath: \.devpath) {
        case .success(let found): (request, disk) = found
        case .failure(let error): return -error.code
        }
        let name = withUnsafeBytes(of: request.name) { Array($0) }
        return disk.queue.withWriteLock {
            if disk.isDeleted { return -ENODEV }
            guard disk.filter != nil else { return -ENOENT }
            guard BlockFilter.nameMatches(name) else { return -EINVAL }
            disk.setFilter(nil)
            return 0
        }
    }

    /// CTL: EFAULT, path and open errors, ENOENT (no filter or another name), then the
    /// sub-command under the tracker's ctl lock; `optlen` is never copied back.
    private func control(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        let request: bdevfilter_ctl, disk: GenDisk
        switch self.request(bdevfilter_ctl.self, at: argument, memory, devpath: \.devpath) {
        case .success(let found): (request, disk) = found
        case .failure(let error): return -error.code
        }
        let tracker: Tracker? = disk.queue.withReadLock { disk.isDeleted ? nil : disk.filter }
        let name = withUnsafeBytes(of: request.name) { Array($0) }
        guard let tracker, BlockFilter.nameMatches(name) else { return -ENOENT }
        return tracker.control(cmd: request.cmd, opt: request.opt, optlen: request.optlen,
                               memory: memory, snapshots: snapshots, dialect: .val7)
    }
}
