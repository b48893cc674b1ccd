#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI

/// The ioctls of `/dev/blksnap-control` (kernel: main.c, spec §1.2, §6, §7).
///
/// Dispatch looks only at `_IOC_NR(request)`: type, direction and size bits are
/// ignored, so any request whose low byte is 0…6 reaches a handler
/// (Quirk.controlDispatchByNumber); nr ≥ 7 → `ENOTTY` (Quirk.controlNumberSeven).
struct V5Control {
    let params: LiveParams
    let snapshots: SnapshotList
    let blockLayer: BlockLayer

    /// Handles one control ioctl. Returns 0 or a negative errno.
    func ioctl(request: UInt, argument: UInt64, memory: some UserMemory,
               interrupted: () -> Bool) -> Int32 {
        let nr = UInt32(truncatingIfNeeded: request) & 0xff
        switch nr {
        case UInt32(blksnap_ioctl_version.rawValue): return version(argument, memory)
        case UInt32(blksnap_ioctl_snapshot_create.rawValue): return create(argument, memory)
        case UInt32(blksnap_ioctl_snapshot_destroy.rawValue): return destroy(argument, memory)
        case UInt32(blksnap_ioctl_snapshot_append_storage.rawValue): return appendStorage(argument, memory)
        case UInt32(blksnap_ioctl_snapshot_take.rawValue): return take(argument, memory)
        case UInt32(blksnap_ioctl_snapshot_collect.rawValue): return collect(argument, memory)
        case UInt32(blksnap_ioctl_snapshot_wait_event.rawValue):
            return waitEvent(argument, memory, interrupted: interrupted)
        default: return -ENOTTY
        }
    }

    /// Reads a 16-byte id; nil on a fault.
    private func readID(_ address: UInt64, _ memory: some UserMemory) -> SimUUID? {
        memory.readBytes(at: address, count: 16).map { SimUUID(bytes: $0) }
    }

    /// VERSION: 2.0.0.0; fault → ENODATA.
    private func version(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        let version = blksnap_version(major: UInt16(BLKSNAP_V5_VERSION_MAJOR), minor: UInt16(BLKSNAP_V5_VERSION_MINOR),
                                      revision: UInt16(BLKSNAP_V5_VERSION_REVISION),
                                      build: UInt16(BLKSNAP_V5_VERSION_BUILD))
        return memory.write(version, at: argument) ? 0 : -ENODATA
    }

    /// CREATE: the snapshot is listed and its creation event queued before the id is
    /// copied out; a copy-out fault returns ENODATA but the snapshot stays
    /// (Quirk.createFaultKeepsSnapshot).
    private func create(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        let snapshot = Snapshot(params: params, blockLayer: blockLayer)
        snapshot.storage.emitCreationEvent()
        snapshots.append(snapshot)
        return memory.copyToUser(argument, fromBytes: snapshot.id.bytes) ? 0 : -ENODATA
    }

    /// DESTROY: fault → ENODATA; unknown → ENODEV (not ESRCH); teardown at the last put.
    /// VAL-7.0's is the same (field spec §2.4.3).
    func destroy(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let id = readID(argument, memory) else { return -ENODATA }
        guard let snapshot = snapshots.unlink(id) else { return -ENODEV }
        snapshot.put()
        return 0
    }

    /// APPEND_STORAGE (§1.2 steps 1–6).
    private func appendStorage(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let request = memory.read(blksnap_snapshot_append_storage.self, at: argument) else { return -EINVAL }
        let path: [UInt8]
        switch memory.stringFromUser(at: request.bdev_path, limit: Int(request.bdev_path_size)) {
        case .success(let bytes): path = bytes
        case .failure(let error): return -error.code
        }
        let id = withUnsafeBytes(of: request.id.b) { SimUUID(bytes: Array($0)) }
        guard let snapshot = snapshots.get(id) else { return -ESRCH }
        defer { snapshot.put() }
        let device: SimBlockDevice
        switch blockLayer.openBlockDevice(path: String(decoding: path, as: UTF8.self)) {
        case .success(let opened): device = opened
        case .failure(let error): return -error.code
        }
        var ranges: [(offset: UInt64, count: UInt64)] = []
        var completed = true
        let stride = UInt64(MemoryLayout<blksnap_sectors>.size)
        for index in 0..<UInt64(request.count) {
            guard let range = memory.read(blksnap_sectors.self, at: request.ranges &+ index &* stride) else {
                completed = false
                break
            }
            ranges.append((range.offset, range.count))
        }
        snapshot.storage.append(device: device, ranges: ranges, completed: completed)
        return completed ? 0 : -EINVAL
    }

    /// TAKE: fault → ENODATA; unknown → ESRCH; then §2.3 (VAL-7.0: the same entry, field
    /// spec §2.4.4; the take itself differs by dialect).
    func take(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard let id = readID(argument, memory) else { return -ENODATA }
        guard let snapshot = snapshots.get(id) else { return -ESRCH }
        defer { snapshot.put() }
        return snapshot.take()
    }

    /// COLLECT (§1.2, §7): partial fill with ENODATA, a fault while writing an id stops
    /// the walk with result 0 (Quirk.collectPartialFill, Quirk.collectFaultReturnsZero).
    func collect(_ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        guard var request = memory.read(blksnap_snapshot_collect.self, at: argument) else { return -ENODATA }
        let result: Int32 = snapshots.withSnapshots { list in
            var written: UInt32 = 0
            var result: Int32 = 0
            if list.isEmpty {
                written = 0
            } else if request.ids == 0 {
                written = UInt32(truncatingIfNeeded: list.count)
            } else {
                for snapshot in list {
                    if written >= request.count {
                        result = -ENODATA
                        break
                    }
                    let address = request.ids &+ UInt64(written) &* 16
                    if !memory.copyToUser(address, fromBytes: snapshot.id.bytes) { break }
                    written += 1
                }
            }
            request.count = written
            return result
        }
        return memory.write(request, at: argument) ? result : -ENODATA
    }

    /// WAIT_EVENT (§6.3): 20 bytes in (fault → EINVAL; VAL-7.0 `faultErrno` ENODATA),
    /// ESRCH, a wait of `timeout_ms` jiffies (Quirk.waitTimeoutInJiffies), ENOENT on
    /// timeout, EINTR on a signal, the full 4096-byte struct out only on success (fault →
    /// `faultErrno`). VAL-7.0's `event_wait` is v5's (field spec §2.4.6); VAL-6.3.1's too,
    /// with the whole 4096 bytes copied in (`copyInBytes`, field spec §1.4.12), so the
    /// caller's bytes past the payload come back unchanged.
    func waitEvent(_ argument: UInt64, _ memory: some UserMemory, interrupted: () -> Bool,
                   faultErrno: Int32 = EINVAL, copyInBytes: Int = Int(BLKSNAP_EVENT_COPY_IN_SIZE)) -> Int32 {
        let copyIn = copyInBytes
        guard let header = memory.readBytes(at: argument, count: copyIn) else { return -faultErrno }
        let id = SimUUID(bytes: Array(header[0..<16]))
        let timeoutJiffies = header[16..<20].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard let snapshot = snapshots.get(id) else { return -ESRCH }
        let hz = UInt64(params.current.hz == 0 ? 250 : params.current.hz)  // 0 is normalized to 250 at load
        let timeoutNanoseconds = UInt64(timeoutJiffies) * 1_000_000_000 / hz
        if timeoutJiffies > UInt32(Int32.max) {
            // Quirk.waitTimeoutIntOverflow: v5's event_wait keeps the remaining ticks in an int.
            let waited = snapshot.events.waitUntilQueued(timeoutNanoseconds: timeoutNanoseconds, interrupted: interrupted)
            snapshot.put()
            switch waited {
            case .failure(let error): return -error.code
            case .success: return Self.overflowedWaitResult(timeoutJiffies: timeoutJiffies)
            }
        }
        let outcome = snapshot.events.wait(timeoutNanoseconds: timeoutNanoseconds, interrupted: interrupted)
        // The waiter's reference: if the snapshot was destroyed meanwhile, this put
        // runs the deferred teardown (§6.4).
        snapshot.put()
        let event: SimEvent
        switch outcome {
        case .success(let received): event = received
        case .failure(let error): return -error.code
        }
        if event.payload.count > Int(BLKSNAP_EVENT_DATA_CAPACITY) { return -ENOSPC }
        var reply = [UInt8](repeating: 0, count: MemoryLayout<blksnap_snapshot_event>.size)
        reply.replaceSubrange(0..<copyIn, with: header)
        withUnsafeBytes(of: event.code.littleEndian) { reply.replaceSubrange(20..<24, with: $0) }
        withUnsafeBytes(of: event.timeLabel.littleEndian) { reply.replaceSubrange(24..<32, with: $0) }
        reply.replaceSubrange(32..<32 + event.payload.count, with: event.payload)
        return memory.copyToUser(argument, fromBytes: reply) ? 0 : -faultErrno
    }

    /// What v5 answers when a WAIT_EVENT of `timeoutJiffies` ≥ 2^31 ends with an event
    /// queued (spec §12.1 item 10, Quirk.waitTimeoutIntOverflow): `int ret` holds the
    /// remaining ticks truncated, a negative number, so the event stays queued and
    /// `ret` becomes the error: `-ERESTARTSYS` (−512) turns into EINTR, −4095...−1 is
    /// returned as that errno (EPERM for `UInt32.max`). Below −4095 the value is no
    /// error pointer: v5 dereferences it and oopses (the caller is killed); the
    /// simulator answers EFAULT (Quirk.waitTimeoutOverflowOops). The remaining ticks are
    /// taken to be the whole timeout, exact when the event was queued before the call;
    /// for a later event v5 subtracts the ticks slept (errno 678 after ~2.7 s at HZ=250,
    /// an oops after ~16 s), which the simulator does not (Quirk.waitTimeoutOverflowLaterEvent).
    static func overflowedWaitResult(timeoutJiffies: UInt32) -> Int32 {
        let ret = Int32(truncatingIfNeeded: timeoutJiffies)
        if ret == -512 { return -EINTR }  // -ERESTARTSYS
        if ret >= -4095 { return ret }
        return -EFAULT
    }
}

extension UserMemory {
    /// `copy_to_user` of a byte array; false on a fault.
    func copyToUser(_ destination: UInt64, fromBytes bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { copyToUser(destination, from: $0) }
    }
}
