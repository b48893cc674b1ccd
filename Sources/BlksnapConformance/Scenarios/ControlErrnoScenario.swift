import BlksnapKit
import CBlksnapUAPI

extension Harness {
    /// An id no snapshot has.
    static let unknownID = SnapshotID(rawValue: [UInt8](repeating: 0x5a, count: 16))!

    /// Area `lifecycle`: the control device's ioctls, every errno path of spec §1.2
    /// that can be provoked without crashing the module (never nr 7), and the snapshot
    /// state machine of §2.2.
    func lifecycleScenario() {
        transcript.area = "lifecycle"
        step("version") { () throws(BlksnapError) -> String? in
            let v = try control.version()
            return "\(v.major).\(v.minor).\(v.revision).\(v.build)"
        }
        emit("version fault: " + raw(controlFD, BLKSNAP_REQ_VERSION, faults.bad))
        // Dispatch by _IOC_NR only: other type/direction bits reach the same handler.
        for request: UInt in [0x5600, 0x8008_5600, 0xc008_1200] {
            var version = blksnap_version()
            let result = raw(controlFD, request, on: &version)
            emit("request 0x\(String(request, radix: 16)) (nr 0): \(result) \(version.major).\(version.minor)")
        }
        for nr: UInt in [8, 9, 64, 255] {
            var scratch = [UInt8](repeating: 0, count: 64)
            let result = scratch.withUnsafeMutableBytes { raw(controlFD, 0x4000_5600 | nr, $0.baseAddress!) }
            emit("request nr \(nr): \(result)")
        }

        // COLLECT on an empty list.
        var query = blksnap_snapshot_collect()
        query.count = 7
        emit("collect empty ids=0: \(raw(controlFD, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &query)) count=\(query.count)")
        var emptyIDs = [blksnap_uuid](repeating: blksnap_uuid(), count: 2)
        query = blksnap_snapshot_collect()
        query.count = 0
        let emptyResult = emptyIDs.withUnsafeMutableBytes { bytes -> String in
            query.ids = UInt64(UInt(bitPattern: bytes.baseAddress))
            return raw(controlFD, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &query)
        }
        emit("collect empty count=0: \(emptyResult) count=\(query.count)")

        guard let s1 = create() else { return }
        waitEvent(s1.id, label: "wait after create")
        waitEvent(s1.id, label: "wait again")
        emit("create fault: " + raw(controlFD, BLKSNAP_REQ_SNAPSHOT_CREATE, faults.bad))
        // The snapshot exists although its id could not be copied out.
        step("collect after create fault") { () throws(BlksnapError) -> String? in
            let ids = try control.collectSnapshots()
            for id in ids where snapshotModel(id) == nil { snapshots.append(SnapshotModel(id: id)) }
            return "count=\(ids.count) [" + ids.map { symbols.snapshot($0) }.joined(separator: ",") + "]"
        }
        if let orphan = snapshots.last, orphan !== s1 { destroy(orphan.id) }

        emit("destroy fault: " + raw(controlFD, BLKSNAP_REQ_SNAPSHOT_DESTROY, faults.bad))
        step("destroy unknown") { () throws(BlksnapError) -> String? in
            try control.destroySnapshot(Self.unknownID)
            return nil
        }
        emit("take fault: " + raw(controlFD, BLKSNAP_REQ_SNAPSHOT_TAKE, faults.bad))
        step("take unknown") { () throws(BlksnapError) -> String? in
            try control.takeSnapshot(Self.unknownID)
            return nil
        }
        take(s1.id)  // no devices: ENODEV
        attach(orig0)
        add(orig0, to: s1.id)
        take(s1.id)  // no storage: EFAULT
        appendErrnoPaths(s1.id)
        take(s1.id)
        take(s1.id)  // EALREADY
        info(orig0)
        imageNode(orig0)

        guard let s3 = create() else { return }
        collectErrnoPaths()
        waitErrnoPaths(s3.id)

        destroy(s1.id)
        step("destroy \(symbols.snapshot(s1.id)) again") { () throws(BlksnapError) -> String? in
            try control.destroySnapshot(s1.id)
            return nil
        }
        step("take destroyed") { () throws(BlksnapError) -> String? in
            try control.takeSnapshot(s1.id)
            return nil
        }
        step("append destroyed") { () throws(BlksnapError) -> String? in
            try control.appendStorageUnchecked(s1.id, devicePath: store.path, ranges: [])
            return nil
        }
        waitEvent(s1.id, label: "wait destroyed")
        info(orig0)
        imageNode(orig0)
        for snapshot in snapshots { destroy(snapshot.id) }
        collect("collect at end")
    }

    /// APPEND_STORAGE's checks in their order (§1.2).
    private func appendErrnoPaths(_ id: SnapshotID) {
        emit("append struct fault: " + raw(controlFD, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, faults.bad))
        var path = Array(store.path.utf8CString)
        var ranges = [blksnap_sectors(offset: 0, count: 1024)]
        func send(_ label: String, id: SnapshotID = id, pathSize: UInt32? = nil, pathPointer: UnsafeMutableRawPointer? = nil,
                  count: UInt32 = 1, rangesPointer: UnsafeMutableRawPointer? = nil) {
            var argument = blksnap_snapshot_append_storage()
            argument.id = id.uuid
            let result = path.withUnsafeMutableBytes { pathBytes in
                ranges.withUnsafeMutableBytes { rangeBytes in
                    argument.bdev_path = UInt64(UInt(bitPattern: pathPointer ?? pathBytes.baseAddress))
                    argument.bdev_path_size = pathSize ?? UInt32(pathBytes.count)
                    argument.count = count
                    argument.ranges = UInt64(UInt(bitPattern: rangesPointer ?? rangeBytes.baseAddress))
                    return raw(controlFD, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, on: &argument)
                }
            }
            emit("append \(label): \(result)")
        }
        send("path size 0", pathSize: 0)
        send("path fault", pathPointer: faults.bad)
        send("no NUL within size", pathSize: UInt32(path.count - 1))
        send("unknown id", id: Self.unknownID)
        // Ranges whose second element faults: the first one is added (partial success).
        let edge = faults.edge(readable: MemoryLayout<blksnap_sectors>.size)
        edge.storeBytes(of: blksnap_sectors(offset: 1024, count: 1024), as: blksnap_sectors.self)
        send("second range fault", count: 2, rangesPointer: edge)
        send("ranges fault", rangesPointer: faults.bad)
        append(id, [], path: "/dev/blksnap-missing-device")
        append(id, [], path: Control.defaultPath)
        append(id, [], path: orig1.path)
        append(id, [])
        path = Array(store.path.utf8CString)
        ranges = [blksnap_sectors(offset: 2048, count: 2048)]
        send("valid")
    }

    /// COLLECT's results (§1.2, §7) with two snapshots listed.
    private func collectErrnoPaths() {
        emit("collect fault: " + raw(controlFD, BLKSNAP_REQ_SNAPSHOT_COLLECT, faults.bad))
        var query = blksnap_snapshot_collect()
        emit("collect ids=0: \(raw(controlFD, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &query)) count=\(query.count)")
        for capacity in [1, 2, 4] {
            var ids = [blksnap_uuid](repeating: blksnap_uuid(), count: capacity)
            var request = blksnap_snapshot_collect()
            request.count = UInt32(capacity)
            let result = ids.withUnsafeMutableBytes { bytes -> String in
                request.ids = UInt64(UInt(bitPattern: bytes.baseAddress))
                return raw(controlFD, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &request)
            }
            let listed = ids.prefix(Int(min(request.count, UInt32(capacity)))).map { symbols.snapshot(SnapshotID($0)) }
            emit("collect capacity \(capacity): \(result) count=\(request.count) [\(listed.joined(separator: ","))]")
        }
        // The second element faults: the walk stops with result 0 (§1.2 [BUG]).
        let edge = faults.edge(readable: MemoryLayout<blksnap_uuid>.size)
        var request = blksnap_snapshot_collect()
        request.count = 4
        request.ids = UInt64(UInt(bitPattern: edge))
        let result = raw(controlFD, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &request)
        let first = symbols.snapshot(SnapshotID(edge.load(as: blksnap_uuid.self)))
        emit("collect second id faults: \(result) count=\(request.count) first=\(first)")
    }

    /// WAIT_EVENT's results (§1.2, §6.3); timeouts far below 2^31.
    private func waitErrnoPaths(_ id: SnapshotID) {
        emit("wait struct fault: " + raw(controlFD, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, faults.bad))
        waitEvent(Self.unknownID, label: "wait unknown")
        waitEvent(id, label: "wait \(symbols.snapshot(id)) first")
        waitEvent(id, ticks: 1, label: "wait \(symbols.snapshot(id)) 1 tick")
        // Copy-in of the first 20 bytes works, the copy-out faults: EINVAL, and the event?
        guard let s4 = create() else { return }
        let edge = faults.edge(readable: Int(BLKSNAP_EVENT_COPY_IN_SIZE))
        withUnsafeBytes(of: s4.id.uuid) { edge.copyMemory(from: $0.baseAddress!, byteCount: 16) }
        emit("wait copy-out fault: " + raw(controlFD, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, edge))
        waitEvent(s4.id, label: "wait after copy-out fault")
        var event = blksnap_snapshot_event()
        event.id = s4.id.uuid
        event.timeout_ms = 0
        let result = raw(controlFD, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, on: &event)
        emit("wait raw empty: \(result) code=\(event.code) timeout_ms=\(event.timeout_ms)")
    }

    /// Area `filter`: BLKFILTER_ATTACH/DETACH/CTL and each blksnap sub-command (§1.3, §1.4).
    func filterScenario() {
        transcript.area = "filter"
        let device = orig1
        emit("ctl untracked cbtinfo: " + withInfo { filterCtl(device, cmd: 0, optlen: 40, opt: $0) })
        detach(device)
        emit("attach fault: " + raw(device.fd, BLKSNAP_REQ_BLKFILTER_ATTACH, faults.bad))
        var wrongName = FilterNames.named("blksnaq")
        emit("attach wrong name: " + raw(device.fd, BLKSNAP_REQ_BLKFILTER_ATTACH, on: &wrongName))
        attach(device)
        attach(device)
        emit("detach fault: " + raw(device.fd, BLKSNAP_REQ_BLKFILTER_DETACH, faults.bad))
        var otherName = FilterNames.named("other")
        emit("detach other name: " + raw(device.fd, BLKSNAP_REQ_BLKFILTER_DETACH, on: &otherName))
        emit("ctl fault: " + raw(device.fd, BLKSNAP_REQ_BLKFILTER_CTL, faults.bad))
        emit("ctl other name: " + withInfo { filterCtl(device, name: "other", cmd: 0, optlen: 40, opt: $0) })
        for cmd: UInt32 in [6, 7, 100] {
            emit("ctl cmd \(cmd): " + withInfo { filterCtl(device, cmd: cmd, optlen: 40, opt: $0) })
        }
        let sizes: [UInt32] = [40, 16, 16, 16, 36]
        for (cmd, size) in sizes.enumerated() {
            emit("ctl cmd \(cmd) optlen \(size - 1): " + withInfo { filterCtl(device, cmd: UInt32(cmd), optlen: size - 1, opt: $0) })
            emit("ctl cmd \(cmd) optlen 0: " + withInfo { filterCtl(device, cmd: UInt32(cmd), optlen: 0, opt: $0) })
            emit("ctl cmd \(cmd) opt fault: " + filterCtl(device, cmd: UInt32(cmd), optlen: size, opt: faults.bad))
        }
        // cbtinfo with a long optlen; optlen is never written back (§1.3).
        var info = blksnap_cbtinfo()
        var ctl = blkfilter_ctl()
        ctl.name = FilterNames.named("blksnap").name
        ctl.cmd = 0
        ctl.optlen = 4096
        let result = withUnsafeMutableBytes(of: &info) { bytes -> String in
            ctl.opt = UInt64(UInt(bitPattern: bytes.baseAddress))
            return raw(device.fd, BLKSNAP_REQ_BLKFILTER_CTL, on: &ctl)
        }
        emit("cbtinfo optlen 4096: \(result) optlen after=\(ctl.optlen) count=\(info.block_count) changes=\(info.changes_number)")
        cbtInfo(device)
        cbtMapErrnoPaths(device)
        cbtDirtyErrnoPaths(device)
        snapshotAddErrnoPaths(device)
        detach(device)
        detach(device)
    }

    private func withInfo(_ body: (UnsafeMutableRawPointer) -> String) -> String {
        var scratch = [UInt8](repeating: 0, count: 64)
        return scratch.withUnsafeMutableBytes { body($0.baseAddress!) }
    }

    private func cbtMapErrnoPaths(_ device: DeviceState) {
        func map(_ label: String, offset: UInt32, length: UInt32, buffer: UnsafeMutableRawPointer? = nil) {
            var bytes = [UInt8](repeating: 0xee, count: 1024)
            var request = blksnap_cbtmap()
            request.offset = offset
            request.length = length
            let result = bytes.withUnsafeMutableBytes { raw -> String in
                request.buffer = UInt64(UInt(bitPattern: buffer ?? raw.baseAddress))
                return withUnsafeMutableBytes(of: &request) { filterCtl(device, cmd: 1, optlen: 16, opt: $0.baseAddress!) }
            }
            let shown = bytes.prefix(Int(min(length, 1024)))
            emit("cbtmap \(label): \(result) " + (result == "ok" && length > 0 ? Pattern.runs(Array(shown)) : ""))
        }
        map("0+512", offset: 0, length: 512)
        map("0+513", offset: 0, length: 513)
        map("512+1", offset: 512, length: 1)
        map("512+0", offset: 512, length: 0)
        map("100+0", offset: 100, length: 0)
        map("500+12", offset: 500, length: 12)
        map("buffer fault", offset: 0, length: 16, buffer: faults.bad)
    }

    private func cbtDirtyErrnoPaths(_ device: DeviceState) {
        func dirty(_ label: String, count: UInt32, _ ranges: [blksnap_sectors], pointer: UnsafeMutableRawPointer? = nil) {
            var array = ranges
            var request = blksnap_cbtdirty()
            request.count = count
            let result = array.withUnsafeMutableBytes { raw -> String in
                request.dirty_sectors = UInt64(UInt(bitPattern: pointer ?? raw.baseAddress))
                return withUnsafeMutableBytes(of: &request) { filterCtl(device, cmd: 2, optlen: 16, opt: $0.baseAddress!) }
            }
            emit("cbtdirty \(label): \(result)")
        }
        let sectors = ConformanceBackend.originalBytes / 512
        dirty("count 0", count: 0, [blksnap_sectors(offset: 0, count: 128)])
        dirty("ranges fault", count: 1, [], pointer: faults.bad)
        dirty("past end", count: 1, [blksnap_sectors(offset: sectors, count: 8)])
        dirty("straddles end", count: 1, [blksnap_sectors(offset: sectors - 8, count: 16)])
        // Only dirty_sectors[0] is applied, count times (§1.4 [BUG]).
        dirty("two ranges", count: 2, [blksnap_sectors(offset: 1280, count: 8), blksnap_sectors(offset: 40960, count: 8)])
        dirty("aligned zero-length", count: 1, [blksnap_sectors(offset: 2560, count: 0)])
        dirty("unaligned zero-length", count: 1, [blksnap_sectors(offset: 3900, count: 0)])
        cbtMap(device)
        dirty("offset 0 zero-length", count: 1, [blksnap_sectors(offset: 0, count: 0)])
        cbtMap(device)
        // The write map (now all marked) becomes the read map at the next take.
        guard let snapshot = create() else { return }
        add(device, to: snapshot.id)
        append(snapshot.id, [SectorRange(offsetSectors: 0, countSectors: 4096)])
        take(snapshot.id)
        cbtInfo(device)
        cbtMap(device)
        destroy(snapshot.id)
    }

    private func snapshotAddErrnoPaths(_ device: DeviceState) {
        guard let first = create(), let second = create() else { return }
        var add = blksnap_snapshotadd(id: Self.unknownID.uuid)
        emit("snapshotadd unknown: " + withUnsafeMutableBytes(of: &add) { filterCtl(device, cmd: 3, optlen: 16, opt: $0.baseAddress!) })
        self.add(device, to: first.id)
        self.add(device, to: first.id)
        self.add(device, to: second.id)
        info(device)
        // snapshotinfo echoes the caller's image bytes when there is no image (§1.4).
        var info = blksnap_snapshotinfo()
        info.error_code = 77
        withUnsafeMutableBytes(of: &info.image) { bytes in for (i, b) in "ECHO".utf8.enumerated() { bytes[i] = b } }
        let result = withUnsafeMutableBytes(of: &info) { filterCtl(device, cmd: 4, optlen: 36, opt: $0.baseAddress!) }
        let image = withUnsafeBytes(of: &info.image) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        emit("snapshotinfo prefilled: \(result) error=\(info.error_code) image=\(symbols.imageName(image))")
        destroy(first.id)
        destroy(second.id)
        self.add(device, to: first.id)
    }
}

/// Filter names as the 32-byte NUL-padded field of the BLKFILTER requests.
enum FilterNames {
    /// A `blkfilter_name` holding `name`.
    static func named(_ name: String) -> blkfilter_name {
        var value = blkfilter_name()
        withUnsafeMutableBytes(of: &value.name) { bytes in
            for (index, byte) in name.utf8.prefix(31).enumerated() { bytes[index] = byte }
        }
        return value
    }
}
