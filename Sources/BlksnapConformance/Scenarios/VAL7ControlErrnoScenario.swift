#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import CVeeamBlksnapUAPI

/// VAL-7.0's own `lifecycle` and `filter` areas: raw requests of `/dev/veeamblksnap`
/// (field spec §2.4) and `/dev/bdevfilter` (§2.3) in their check order, with the paths
/// passed as user pointers (valid, faulting, unterminated, unknown, not a block device).
/// Only what can be provoked without crashing the module (never `timeout_ms` ≥ 2^31 with
/// an event queued) and without files on the host (no file or directory storage).
extension Harness {
    /// A NUL-terminated copy of `text` that lives as long as the harness.
    private func cString(_ text: String) -> UnsafeMutableRawPointer {
        let bytes = Array(text.utf8) + [0]
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 8)
        pointer.copyMemory(from: bytes, byteCount: bytes.count)
        keepAlive.append(pointer)
        return pointer
    }

    /// 4096 bytes without a NUL, so `strndup_user(PATH_MAX)` fails `EINVAL`.
    private var unterminated: UnsafeMutableRawPointer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
        pointer.initializeMemory(as: UInt8.self, repeating: 0x41, count: 4096)
        keepAlive.append(pointer)
        return pointer
    }

    private func address(_ pointer: UnsafeMutableRawPointer?) -> UInt64 { UInt64(UInt(bitPattern: pointer)) }

    /// Area `lifecycle` on VAL-7.0.
    func val7LifecycleScenario() {
        transcript.area = "lifecycle"
        step("version") { () throws(BlksnapError) -> String? in
            let v = try control.version()
            return "\(v.major).\(v.minor).\(v.revision).\(v.build)"
        }
        emit("version fault: " + raw(controlFD, VEEAMBLKSNAP_REQ_VERSION, faults.bad))
        // Dispatch on the whole number: other direction or size bits are ENOTTY.
        for request: UInt in [0x5600, 0x4008_5600, 0x8010_5600, 0x8008_5606, 0x4000_5640] {
            var version = blksnap_version()
            emit("request 0x\(String(request, radix: 16)): \(raw(controlFD, request, on: &version))")
        }
        var mod = blksnap_mod()
        let modResult = raw(controlFD, VEEAMBLKSNAP_REQ_MOD, on: &mod)
        let modName = withUnsafeBytes(of: mod.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        emit("mod: \(modResult) flags=0x\(String(mod.compatibility_flags, radix: 16)) name=\(modName)")
        emit("mod fault: " + raw(controlFD, VEEAMBLKSNAP_REQ_MOD, faults.bad))

        var query = blksnap_snapshot_collect()
        query.count = 7
        emit("collect empty ids=0: \(raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT, on: &query)) count=\(query.count)")
        emit("collect fault: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT, faults.bad))

        // CREATE: the struct, then the storage path's string and open errors.
        emit("create fault: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE, faults.bad))
        let paths: [(String, UnsafeMutableRawPointer?)] = [
            ("path fault", faults.bad), ("path unterminated", unterminated), ("path unknown", cString("/dev/no-such-device")),
            ("path control node", cString(VEEAMBLKSNAP_CTL_PATH)), ("path filter node", cString(BDEVFILTER_PATH)),
        ]
        for (label, path) in paths {
            var request = blksnap_snapshot_create()
            request.diff_storage_limit_sect = 8192
            request.diff_storage_filename = address(path)
            emit("create \(label): " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE, on: &request))
        }
        // Range mode with and without a limit; block-device storage (STORE, used from 2 MiB).
        let unlimited = createRaw("create range limit 0", limit: 0, path: nil)
        if let unlimited { waitRaw(unlimited, label: "wait range limit 0") }
        let ranged = createRaw("create range limit 8192", limit: 8192, path: nil)
        if let ranged {
            waitRaw(ranged, label: "wait range creation event")
            waitRaw(ranged, label: "wait range again")
        }
        let onDevice = createRaw("create on STORE", limit: 16384, path: cString(store.path))
        if let onDevice { waitRaw(onDevice, label: "wait block-device storage") }
        collect("collect three")

        // WAIT_EVENT: the 20 bytes in, the id.
        emit("wait fault: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, faults.bad))
        waitRaw(Self.unknownID, label: "wait unknown")
        // DESTROY and TAKE: the id, then the lookup.
        emit("destroy fault: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY, faults.bad))
        emit("take fault: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE, faults.bad))
        var unknown = Self.unknownID.uuid
        emit("destroy unknown: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY, on: &unknown))
        emit("take unknown: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE, on: &unknown))
        if let ranged {
            var id = ranged.uuid
            emit("take \(symbols.snapshot(ranged)) without devices: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE, on: &id))
            appendErrnoPathsVAL7(ranged)
        }
        setLogErrnoPaths()
        for id in [unlimited, ranged, onDevice].compactMap({ $0 }) {
            var uuid = id.uuid
            emit("destroy \(symbols.snapshot(id)): " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY, on: &uuid))
            emit("destroy \(symbols.snapshot(id)) again: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY, on: &uuid))
        }
        collect("collect at end")
    }

    /// A raw CREATE; prints the result and the id's symbol, returns the id.
    private func createRaw(_ label: String, limit: UInt64, path: UnsafeMutableRawPointer?) -> SnapshotID? {
        var request = blksnap_snapshot_create()
        request.diff_storage_limit_sect = limit
        request.diff_storage_filename = address(path)
        let result = raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE, on: &request)
        guard result == "ok", let id = SnapshotID(rawValue: withUnsafeBytes(of: request.id.b) { Array($0) }) else {
            emit("\(label): \(result)")
            return nil
        }
        snapshots.append(SnapshotModel(id: id))
        emit("\(label): ok \(symbols.snapshot(id))")
        return id
    }

    /// A raw WAIT_EVENT polling (timeout 0): the code and the first 8 payload bytes.
    private func waitRaw(_ id: SnapshotID, label: String) {
        var event = blksnap_snapshot_event()
        event.id = id.uuid
        event.timeout_ms = 0
        let result = raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, on: &event)
        guard result == "ok" else { return emit("\(label): \(result)") }
        let payload = withUnsafeBytes(of: event.data) { $0.load(as: UInt64.self) }
        emit("\(label): ok code=\(event.code) payload=\(payload)")
    }

    /// APPEND_STORAGE (§2.4.8): struct, the path (before the id), the id, the ranges.
    private func appendErrnoPathsVAL7(_ id: SnapshotID) {
        emit("append struct fault: " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, faults.bad))
        var ranges = [blksnap_sectors(offset: 0, count: 2048), blksnap_sectors(offset: 4096, count: 2048)]
        func send(_ label: String, id: SnapshotID = id, path: UnsafeMutableRawPointer?, count: UInt32 = 1,
                  rangesPointer: UnsafeMutableRawPointer? = nil) {
            var argument = veeamblksnap_snapshot_append_storage()
            argument.id = id.uuid
            argument.devpath = address(path)
            argument.count = count
            let result = ranges.withUnsafeMutableBytes { bytes in
                argument.ranges = address(rangesPointer ?? bytes.baseAddress)
                return raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, on: &argument)
            }
            emit("append \(label): \(result)")
        }
        send("path fault", path: faults.bad)
        send("path unterminated", path: unterminated)
        send("path unknown", path: cString("/dev/no-such-device"))
        send("path control node", path: cString(VEEAMBLKSNAP_CTL_PATH))
        send("unknown id, path unknown", id: Self.unknownID, path: cString("/dev/no-such-device"))
        send("unknown id", id: Self.unknownID, path: cString(store.path))
        send("ranges fault", path: cString(store.path), rangesPointer: faults.bad)
        send("second range faults", path: cString(store.path), count: 2,
             rangesPointer: faults.edge(readable: MemoryLayout<blksnap_sectors>.size))
        send("count 0", path: cString(store.path), count: 0)
        send("two ranges", path: cString(store.path), count: 2)
        waitRaw(id, label: "wait after appends")
    }

    /// SETLOG (§2.4.7): disabled, size 0, path fault, a path twice (EALREADY), disabled.
    private func setLogErrnoPaths() {
        emit("setlog fault: " + raw(controlFD, VEEAMBLKSNAP_REQ_SETLOG, faults.bad))
        let path = "/tmp/conformance-veeamblksnap.log"
        let cases: [(String, Int32, UInt32, UnsafeMutableRawPointer?)] = [
            ("level -1", -1, 0, nil), ("no path", 6, 0, nil), ("size 0", 6, 0, cString(path)),
            ("path fault", 6, 16, faults.bad), ("path", 6, UInt32(path.utf8.count), cString(path)),
            ("same path again", 6, UInt32(path.utf8.count), cString(path)), ("disabled", 6, 0, nil),
        ]
        for (label, level, size, pointer) in cases {
            var request = blksnap_setlog()
            request.level = level
            request.filepath_size = size
            request.filepath = address(pointer)
            emit("setlog \(label): " + raw(controlFD, VEEAMBLKSNAP_REQ_SETLOG, on: &request))
        }
    }

    /// Area `filter` on VAL-7.0: `/dev/bdevfilter`'s requests and the blksnap
    /// sub-commands, each path and length check in its order.
    func val7FilterScenario() {
        transcript.area = "filter"
        let filterFD: CInt
        do {
            filterFD = try kernel.open(BDEVFILTER_PATH, flags: O_RDWR)
        } catch {
            return emit("open \(BDEVFILTER_PATH): \(Self.name(error))")
        }
        defer { try? kernel.close(filterFD) }
        let orig = cString(orig0.path)
        func named(_ request: UInt, _ label: String, path: UnsafeMutableRawPointer?, name: String = "blksnap") {
            var argument = bdevfilter_name()
            argument.devpath = address(path)
            withUnsafeMutableBytes(of: &argument.name) { bytes in
                for (index, byte) in name.utf8.prefix(31).enumerated() { bytes[index] = byte }
            }
            emit("\(label): " + raw(filterFD, request, on: &argument))
        }
        emit("attach fault: " + raw(filterFD, BDEVFILTER_REQ_ATTACH, faults.bad))
        named(BDEVFILTER_REQ_ATTACH, "attach path fault", path: faults.bad)
        named(BDEVFILTER_REQ_ATTACH, "attach unterminated", path: unterminated)
        named(BDEVFILTER_REQ_ATTACH, "attach unknown path", path: cString("/dev/no-such-device"))
        named(BDEVFILTER_REQ_ATTACH, "attach control node", path: cString(VEEAMBLKSNAP_CTL_PATH))
        named(BDEVFILTER_REQ_ATTACH, "attach other filter", path: orig, name: "other")
        named(BDEVFILTER_REQ_DETACH, "detach untracked", path: orig)
        named(BDEVFILTER_REQ_ATTACH, "attach ORIG0", path: orig)
        orig0.tracker = 0  // the model's only use: reset() detaches it
        named(BDEVFILTER_REQ_ATTACH, "attach ORIG0 again", path: orig)
        for request: UInt in [0xc020_468c, 0x4028_468c, 0xc028_128c] {
            var argument = bdevfilter_name()
            argument.devpath = address(orig)
            emit("request 0x\(String(request, radix: 16)): " + raw(filterFD, request, on: &argument))
        }

        // CTL: struct, path, filter name, then the sub-command's own checks.
        func ctl(_ label: String, path: UnsafeMutableRawPointer? = nil, name: String = "blksnap", cmd: UInt32,
                 optlen: UInt32, opt: UnsafeMutableRawPointer?) {
            var argument = bdevfilter_ctl()
            argument.devpath = address(path ?? orig)
            withUnsafeMutableBytes(of: &argument.name) { bytes in
                for (index, byte) in name.utf8.prefix(31).enumerated() { bytes[index] = byte }
            }
            argument.cmd = cmd
            argument.optlen = optlen
            argument.opt = address(opt)
            emit("ctl \(label): " + raw(filterFD, BDEVFILTER_REQ_CTL, on: &argument))
        }
        let cbtinfo = UInt32(BLKFILTER_CTL_BLKSNAP_CBTINFO.rawValue), cbtmap = UInt32(BLKFILTER_CTL_BLKSNAP_CBTMAP.rawValue)
        let cbtdirty = UInt32(BLKFILTER_CTL_BLKSNAP_CBTDIRTY.rawValue)
        let snapshotadd = UInt32(BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD.rawValue)
        let snapshotinfo = UInt32(BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO.rawValue)
        emit("ctl fault: " + raw(filterFD, BDEVFILTER_REQ_CTL, faults.bad))
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        keepAlive.append(scratch)
        ctl("path fault", path: faults.bad, cmd: cbtinfo, optlen: 40, opt: scratch)
        ctl("untracked device", path: cString(orig1.path), cmd: cbtinfo, optlen: 40, opt: scratch)
        ctl("other filter name", name: "other", cmd: cbtinfo, optlen: 40, opt: scratch)
        ctl("cmd 5", cmd: 5, optlen: 40, opt: scratch)
        ctl("cbtinfo short", cmd: cbtinfo, optlen: 39, opt: scratch)
        ctl("cbtinfo fault", cmd: cbtinfo, optlen: 40, opt: faults.bad)
        cbtInfo(orig0)
        var map = blksnap_cbtmap(offset: 0, length: 16, buffer: address(scratch + 1024))
        ctl("cbtmap short", cmd: cbtmap, optlen: 15, opt: &map)
        ctl("cbtmap fault", cmd: cbtmap, optlen: 16, opt: faults.bad)
        map = blksnap_cbtmap(offset: 0, length: 100_000, buffer: address(scratch + 1024))
        ctl("cbtmap too long", cmd: cbtmap, optlen: 16, opt: &map)
        map = blksnap_cbtmap(offset: 0, length: 16, buffer: address(faults.bad))
        ctl("cbtmap buffer fault", cmd: cbtmap, optlen: 16, opt: &map)
        map = blksnap_cbtmap(offset: 0, length: 16, buffer: address(scratch + 1024))
        ctl("cbtmap", cmd: cbtmap, optlen: 16, opt: &map)
        var ranges = [blksnap_sectors(offset: 0, count: 8), blksnap_sectors(offset: 1 << 20, count: 8)]
        ranges.withUnsafeMutableBytes { bytes in
            var dirty = blksnap_cbtdirty(count: 1, dirty_sectors: address(bytes.baseAddress))
            ctl("cbtdirty short", cmd: cbtdirty, optlen: 15, opt: &dirty)
            ctl("cbtdirty", cmd: cbtdirty, optlen: 16, opt: &dirty)
            dirty.count = 2  // the second range lies past the device
            ctl("cbtdirty past the end", cmd: cbtdirty, optlen: 16, opt: &dirty)
            dirty.dirty_sectors = address(faults.bad)
            ctl("cbtdirty ranges fault", cmd: cbtdirty, optlen: 16, opt: &dirty)
        }
        cbtMap(orig0)

        guard let s1 = createRaw("create range", limit: 8192, path: nil) else { return }
        var add = blksnap_snapshotadd(id: Self.unknownID.uuid)
        ctl("snapshotadd short", cmd: snapshotadd, optlen: 15, opt: &add)
        ctl("snapshotadd fault", cmd: snapshotadd, optlen: 16, opt: faults.bad)
        ctl("snapshotadd unknown", cmd: snapshotadd, optlen: 16, opt: &add)
        add.id = s1.uuid
        ctl("snapshotadd", cmd: snapshotadd, optlen: 16, opt: &add)
        ctl("snapshotadd again", cmd: snapshotadd, optlen: 16, opt: &add)
        var info = blksnap_snapshotinfo()
        withUnsafeMutableBytes(of: &info.image) { $0.copyBytes(from: Array("caller".utf8)) }
        ctl("snapshotinfo short", cmd: snapshotinfo, optlen: 35, opt: &info)
        ctl("snapshotinfo fault", cmd: snapshotinfo, optlen: 36, opt: faults.bad)
        ctl("snapshotinfo before take", cmd: snapshotinfo, optlen: 36, opt: &info)
        let kept = withUnsafeBytes(of: info.image) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        emit("snapshotinfo before take: error=\(info.error_code) image=\(kept)")
        named(BDEVFILTER_REQ_DETACH, "detach ORIG0 (a member)", path: orig)
        named(BDEVFILTER_REQ_DETACH, "detach ORIG0 again", path: orig)
        orig0.tracker = nil
        var uuid = s1.uuid
        emit("destroy \(symbols.snapshot(s1)): " + raw(controlFD, VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY, on: &uuid))
        snapshots.removeAll()
    }
}
