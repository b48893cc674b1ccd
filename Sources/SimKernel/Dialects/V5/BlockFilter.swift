#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI

/// The block-device side of the filter mechanism (kernel: block/blk-filter.c, spec
/// §1.3) plus the standard size ioctls of a block device.
///
/// Only one filter exists, `blksnap`; its attach callback creates a ``Tracker``.
struct BlockFilter {
    /// The filter's registered name.
    static let name = "blksnap"

    let params: LiveParams
    let snapshots: SnapshotList
    /// VAL-7.0's stock kernel has no block-device filter ioctls: `/dev/bdevfilter` does it.
    let dialect: SimDialect

    /// `strncmp(name, "blksnap", 32) == 0` on the user's 32 bytes.
    static func nameMatches(_ bytes: [UInt8]) -> Bool {
        let expected = Array(name.utf8)
        return Array(bytes.prefix(expected.count)) == expected && bytes.count > expected.count
            && bytes[expected.count] == 0
    }

    /// One ioctl on an open disk. Returns ≥ 0 or a negative errno.
    func ioctl(disk: GenDisk, request: UInt, argument: UInt64, memory: some UserMemory) -> Int32 {
        let command = UInt(UInt32(truncatingIfNeeded: request))
        switch command {
        case BLKSNAP_REQ_BLKGETSIZE64:
            return memory.write(disk.capacitySectors &* 512, at: argument) ? 0 : -EFAULT
        case BLKSNAP_REQ_BLKSSZGET:
            return memory.write(Int32(bitPattern: disk.logicalBlockSize), at: argument) ? 0 : -EFAULT
        case BLKSNAP_REQ_BLKPBSZGET:
            return memory.write(disk.physicalBlockSize, at: argument) ? 0 : -EFAULT
        case BLKSNAP_REQ_BLKIOMIN:
            return memory.write(disk.ioMin, at: argument) ? 0 : -EFAULT
        case BLKSNAP_REQ_BLKFILTER_ATTACH, BLKSNAP_REQ_BLKFILTER_DETACH, BLKSNAP_REQ_BLKFILTER_CTL:
            guard dialect == .v5 else { return -ENOTTY }
            // Images take a filter too (Quirk.filterOnImages).
            switch command {
            case BLKSNAP_REQ_BLKFILTER_ATTACH: return attach(disk: disk, argument, memory)
            case BLKSNAP_REQ_BLKFILTER_DETACH: return detach(disk: disk, argument, memory)
            default: return control(disk: disk, argument, memory)
            }
        default:
            return -ENOTTY
        }
    }

    /// BLKFILTER_ATTACH: EFAULT, ENOENT (unknown filter), EALREADY (already attached),
    /// ENOMEM (0-sector device). The queue freeze runs even on the EALREADY path.
    private func attach(disk: GenDisk, _ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let name = memory.readBytes(at: argument, count: Int(BLKFILTER_NAME_LENGTH)) else { return -EFAULT }
        guard Self.nameMatches(name) else { return -ENOENT }
        // freeze_bdev: no filesystem in the simulator. Then the queue freeze.
        return disk.queue.withWriteLock {
            if disk.isDeleted { return -ENXIO }
            if disk.filter != nil { return -EALREADY }
            do throws(SimErrno) {
                disk.setFilter(try Tracker(disk: disk, params: params))
                return 0
            } catch {
                return -error.code
            }
        }
    }

    /// BLKFILTER_DETACH: EFAULT, ENOENT (no filter), EINVAL (another name). Never
    /// refused by blksnap, even for a member of a taken snapshot (Quirk.detachNeverRefused).
    private func detach(disk: GenDisk, _ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let name = memory.readBytes(at: argument, count: Int(BLKFILTER_NAME_LENGTH)) else { return -EFAULT }
        return detach(disk: disk, name: name)
    }

    /// The detach both dialects share: ENOENT (no filter), EINVAL (another name).
    func detach(disk: GenDisk, name: [UInt8]) -> Int32 {
        disk.queue.withWriteLock {
            guard disk.filter != nil else { return -ENOENT }
            guard Self.nameMatches(name) else { return -EINVAL }
            disk.setFilter(nil)
            return 0
        }
    }

    /// BLKFILTER_CTL: EFAULT, ENODEV (dead disk), ENOENT (not tracked or another name),
    /// then the sub-command; `optlen` is never copied back (Quirk.ctlOptlenNotWrittenBack).
    private func control(disk: GenDisk, _ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let request = memory.read(blkfilter_ctl.self, at: argument) else { return -EFAULT }
        // blk_queue_enter: waits while the queue is frozen (Quirk.ctlQueueEnterNotHeld).
        let tracker: Tracker? = disk.queue.withReadLock { disk.isDeleted ? nil : disk.filter }
        if disk.isDeleted { return -ENODEV }
        let name = withUnsafeBytes(of: request.name) { Array($0) }
        guard let tracker, Self.nameMatches(name) else { return -ENOENT }
        return tracker.control(cmd: request.cmd, opt: request.opt, optlen: request.optlen,
                               memory: memory, snapshots: snapshots, dialect: dialect)
    }
}
