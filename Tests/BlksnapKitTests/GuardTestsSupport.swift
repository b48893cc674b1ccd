#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import SimKernel
import SystemPackage
import Testing

/// A ``SimMachine`` with an original `/dev/sda`, a second original `/dev/sdb` and a
/// storage device `/dev/store`, driven either by raw ioctls (the kernel's silent
/// behaviour) or by BlksnapKit's guards. 64 KiB chunks, 8 MiB originals.
final class GuardFixture {
    static let chunkBytes = SimMachine.smallChunkBytes
    static let deviceSectors: UInt64 = 16_384  // 8 MiB

    let machine: SimMachine
    let control: Control
    var sim: SimKernel { machine.kernel }
    var kernel: SimKernelBackend { machine.backend }

    init(storageLogicalBlockSize: UInt32 = 512) throws {
        machine = SimMachine(params: SimMachine.smallParams())
        try machine.addDevice("sda", sectors: Self.deviceSectors)
        try machine.addDevice("sdb", sectors: Self.deviceSectors)
        try machine.addDevice("store", sectors: 65_536, logicalBlockSize: storageLogicalBlockSize)
        control = try machine.openControl()
    }

    // MARK: Raw ioctls (no BlksnapKit logic: request number + C struct)

    /// `ioctl(fd, request, &argument)`: 0 or `-errno`.
    func raw<T>(_ path: String, _ request: UInt, _ argument: inout T) -> Int32 {
        let fd = sim.open(path, flags: 0)
        precondition(fd >= 0, "open \(path)")
        defer { _ = sim.close(fd) }
        return withUnsafeMutableBytes(of: &argument) { bytes in
            sim.ioctl(fd, request, UInt64(UInt(bitPattern: bytes.baseAddress!)), memory: ProcessUserMemory())
        }
    }

    func rawAttach(_ path: String) -> Int32 {
        var name = filterName()
        return raw(path, BLKSNAP_REQ_BLKFILTER_ATTACH, &name)
    }

    func rawDetach(_ path: String) -> Int32 {
        var name = filterName()
        return raw(path, BLKSNAP_REQ_BLKFILTER_DETACH, &name)
    }

    func rawFilterControl<T>(_ path: String, _ command: blkfilter_ctl_blksnap, _ option: inout T) -> Int32 {
        var ctl = blkfilter_ctl()
        withUnsafeMutableBytes(of: &ctl.name) { $0.copyBytes(from: Array("blksnap".utf8)) }
        ctl.cmd = command.rawValue
        ctl.optlen = UInt32(MemoryLayout<T>.size)
        return withUnsafeMutableBytes(of: &option) { bytes in
            ctl.opt = UInt64(UInt(bitPattern: bytes.baseAddress!))
            return raw(path, BLKSNAP_REQ_BLKFILTER_CTL, &ctl)
        }
    }

    func rawAdd(_ path: String, to id: SnapshotID) -> Int32 {
        var add = blksnap_snapshotadd(id: id.uuid)
        return rawFilterControl(path, blkfilter_ctl_blksnap_snapshotadd, &add)
    }

    /// snapshotinfo on a zeroed argument: (result, error_code, image name).
    func rawSnapshotInfo(_ path: String) -> (Int32, Int32, String) {
        var info = blksnap_snapshotinfo()
        let result = rawFilterControl(path, blkfilter_ctl_blksnap_snapshotinfo, &info)
        let name = withUnsafeBytes(of: &info.image) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return (result, info.error_code, name)
    }

    func rawCreate() -> SnapshotID {
        var uuid = blksnap_uuid()
        precondition(raw("/dev/blksnap-control", BLKSNAP_REQ_SNAPSHOT_CREATE, &uuid) == 0)
        return SnapshotID(uuid)
    }

    func rawTake(_ id: SnapshotID) -> Int32 {
        var uuid = id.uuid
        return raw("/dev/blksnap-control", BLKSNAP_REQ_SNAPSHOT_TAKE, &uuid)
    }

    func rawAppend(_ id: SnapshotID, path: String, ranges: [(UInt64, UInt64)]) -> Int32 {
        var pathBytes = Array(path.utf8CString)
        var sectors = ranges.map { blksnap_sectors(offset: $0.0, count: $0.1) }
        var argument = blksnap_snapshot_append_storage()
        argument.id = id.uuid
        argument.bdev_path_size = UInt32(pathBytes.count)
        argument.count = UInt32(sectors.count)
        return pathBytes.withUnsafeMutableBufferPointer { pathBuffer in
            sectors.withUnsafeMutableBufferPointer { rangeBuffer in
                argument.bdev_path = UInt64(UInt(bitPattern: pathBuffer.baseAddress!))
                argument.ranges = rangeBuffer.isEmpty ? 0 : UInt64(UInt(bitPattern: rangeBuffer.baseAddress!))
                return raw("/dev/blksnap-control", BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, &argument)
            }
        }
    }

    /// WAIT_EVENT with timeout 0: the event code, or nil (`ENOENT`: nothing queued).
    func rawPollEvent(_ id: SnapshotID) -> UInt32? {
        let event = UnsafeMutablePointer<blksnap_snapshot_event>.allocate(capacity: 1)
        defer { event.deallocate() }
        event.initialize(to: blksnap_snapshot_event())
        event.pointee.id = id.uuid
        let fd = sim.open("/dev/blksnap-control", flags: 0)
        defer { _ = sim.close(fd) }
        let result = sim.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, UInt64(UInt(bitPattern: event)), memory: ProcessUserMemory())
        return result == 0 ? event.pointee.code : nil
    }

    private func filterName() -> blkfilter_name {
        var name = blkfilter_name()
        withUnsafeMutableBytes(of: &name.name) { $0.copyBytes(from: Array("blksnap".utf8)) }
        return name
    }

    // MARK: Scenarios

    /// sda holds pattern 1, tracked, in a snapshot with 16 MiB of `/dev/store`, taken.
    /// Only raw ioctls; the creation event is drained.
    func rawTakenSnapshot(devices: [String] = ["/dev/sda"]) -> SnapshotID {
        for device in devices { write(device, atByte: 0, pattern: 1, count: 1 << 20) }
        let id = rawCreate()
        for device in devices {
            let attached = rawAttach(device)
            precondition(attached == 0 || attached == -EALREADY)
            precondition(rawAdd(device, to: id) == 0)
        }
        precondition(rawAppend(id, path: "/dev/store", ranges: [(0, 32_768)]) == 0)
        precondition(rawTake(id) == 0)
        precondition(rawPollEvent(id) == 0, "the creation event")
        return id
    }

    // MARK: Data

    /// Writes ``DataPattern`` `seed`'s bytes for `offset..<offset+count` there.
    func write(_ path: String, atByte offset: UInt64, pattern seed: UInt8, count: Int) {
        do throws(Errno) {
            try machine.fill(path, with: DataPattern(seed: seed), atByte: offset, count: count)
        } catch {
            preconditionFailure("write \(path) at \(offset): \(error)")
        }
    }

    func read(_ path: String, atByte offset: UInt64, count: Int) -> [UInt8] {
        let bytes = try? machine.read(path, atByte: offset, count: count)
        precondition(bytes?.count == count, "read \(path) at \(offset): \(String(describing: bytes?.count))")
        return bytes ?? []
    }

    func device(_ path: String) throws -> BlockDevice { try BlockDevice(path: path, kernel: kernel) }

    // MARK: State, to prove a refusal changed nothing

    /// Everything observable in the simulator: devices (capacity, filter, images),
    /// snapshots (taken, storage counters, pending events), and every CBT.
    var state: String {
        var lines: [String] = []
        for info in sim.listDevices() {
            lines.append("device \(info.name) \(info.major):\(info.minor) \(info.capacitySectors) filter=\(info.filter ?? "-") image=\(info.isImage)")
            if let cbt = sim.cbtState(device: info.name) { lines.append("  cbt \(cbt)") }
        }
        for id in sim.snapshotIDs {
            lines.append("snapshot \(id) taken=\(String(describing: sim.isTaken(snapshot: id))) storage=\(String(describing: sim.storageCounters(snapshot: id))) events=\(String(describing: sim.pendingEventCount(snapshot: id)))")
        }
        return lines.joined(separator: "\n")
    }
}
