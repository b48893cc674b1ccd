#if canImport(Glibc)
import Glibc
#endif
import BlksnapDrivers
import BlksnapKit
import BlksnapSimulator
import BlksnapVAL6
import CVeeamBlkSnapV1UAPI
import SimKernel
import SystemPackage
import Testing

/// SimKernel speaking VAL-6.3.1 (`veeam-field-modules.md` §1): every ioctl's errno paths
/// in the module's check order, sent raw with the module's own structs, and the library's
/// VAL6Driver end to end.
@Suite("SimKernel VAL-6.3.1 dialect")
struct VAL6DialectTests {
    /// A VAL-6.3.1 simulator with `/dev/sda` and `/dev/sdb` (8 MiB), `/dev/store`
    /// (128 MiB), 64 KiB chunks, a 4 MiB `diff_storage_minimum`, and the control device open.
    final class Machine {
        let sim: SimKernel
        let fd: Int32

        init(minimumSectors: UInt32 = 8192) throws {
            var params = Params()
            params.chunkMinimumShift = 16
            params.diffStorageMinimum = minimumSectors
            sim = SimKernel(params: params, dialect: .val6)
            _ = try sim.addDevice(name: "sda", capacitySectors: 16384)
            _ = try sim.addDevice(name: "sdb", capacitySectors: 16384)
            _ = try sim.addDevice(name: "store", capacitySectors: 262144)
            fd = sim.open("/dev/veeamblksnap", flags: O_RDWR)
            #expect(fd >= 0)
        }

        /// The `{mj, mn}` of a simulated device.
        func dev(_ name: String) -> blk_snap_dev_t {
            let info = sim.listDevices().first { $0.name == name }!
            return blk_snap_dev_t(mj: info.major, mn: info.minor)
        }

        /// One ioctl with `value` as the argument.
        func ioctl<T>(_ request: UInt, _ value: inout T) -> Int32 {
            withUnsafeMutablePointer(to: &value) {
                sim.ioctl(fd, request, UInt64(UInt(bitPattern: $0)), memory: ProcessUserMemory())
            }
        }

        /// One ioctl with a raw argument address.
        func ioctl(_ request: UInt, address: UInt64) -> Int32 {
            sim.ioctl(fd, request, address, memory: ProcessUserMemory())
        }

        /// CREATE of `devices`: the result and the id.
        func create(_ devices: [blk_snap_dev_t]) -> (Int32, blk_snap_uuid) {
            var array = devices
            return array.withUnsafeMutableBufferPointer { buffer in
                var request = blk_snap_snapshot_create()
                request.count = UInt32(buffer.count)
                request.dev_id_array = buffer.baseAddress
                let result = ioctl(BLK_SNAP_REQ_SNAPSHOT_CREATE, &request)
                return (result, request.id)
            }
        }

        /// APPEND_STORAGE of ranges of `/dev/store`.
        func append(_ id: blk_snap_uuid, _ ranges: [(UInt64, UInt64)], device: String = "store") -> Int32 {
            var array = ranges.map { blk_snap_block_range(sector_offset: $0.0, sector_count: $0.1) }
            return array.withUnsafeMutableBufferPointer { buffer in
                var request = blk_snap_snapshot_append_storage()
                request.id = id
                request.dev_id = dev(device)
                request.count = UInt32(buffer.count)
                request.ranges = buffer.baseAddress
                return ioctl(BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE, &request)
            }
        }

        func take(_ id: blk_snap_uuid) -> Int32 {
            var request = blk_snap_snapshot_take(id: id)
            return ioctl(BLK_SNAP_REQ_SNAPSHOT_TAKE, &request)
        }

        func destroy(_ id: blk_snap_uuid) -> Int32 {
            var request = blk_snap_snapshot_destroy(id: id)
            return ioctl(BLK_SNAP_REQ_SNAPSHOT_DESTROY, &request)
        }

        /// A snapshot of `devices` with 16384 sectors of storage, taken.
        func taken(_ devices: [String]) throws -> blk_snap_uuid {
            let (created, id) = create(devices.map(dev))
            try #require(created == 0)
            try #require(append(id, [(0, 16384)]) == 0)
            try #require(take(id) == 0)
            return id
        }

        /// WAIT_EVENT with timeout 0: the result and the event.
        func waitEvent(_ id: blk_snap_uuid) -> (Int32, blk_snap_snapshot_event) {
            var event = blk_snap_snapshot_event()
            event.id = id
            let result = ioctl(BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT, &event)
            return (result, event)
        }

        /// COLLECT_IMAGES into `capacity` entries (nil: a NULL array).
        func images(_ id: blk_snap_uuid, capacity: Int?) -> (Int32, UInt32, [blk_snap_image_info]) {
            var entries = [blk_snap_image_info](repeating: blk_snap_image_info(), count: capacity ?? 0)
            return entries.withUnsafeMutableBufferPointer { buffer in
                var request = blk_snap_snapshot_collect_images()
                request.id = id
                request.count = UInt32(capacity ?? 0)
                request.image_info_array = capacity == nil ? nil : buffer.baseAddress
                let result = ioctl(BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES, &request)
                return (result, request.count, Array(buffer))
            }
        }

        /// TRACKER_COLLECT into `capacity` records (nil: NULL).
        func trackers(capacity: Int?) -> (Int32, UInt32, [blk_snap_cbt_info]) {
            var records = [blk_snap_cbt_info](repeating: blk_snap_cbt_info(), count: capacity ?? 0)
            return records.withUnsafeMutableBufferPointer { buffer in
                var request = blk_snap_tracker_collect()
                request.count = UInt32(capacity ?? 0)
                request.cbt_info_array = capacity == nil ? nil : buffer.baseAddress
                let result = ioctl(BLK_SNAP_REQ_TRACKER_COLLECT, &request)
                return (result, request.count, Array(buffer))
            }
        }

        /// READ_CBT_MAP of `name` into `length` bytes.
        func readMap(_ name: String, offset: UInt32, length: UInt32, fault: Bool = false) -> (Int32, [UInt8]) {
            var bytes = [UInt8](repeating: 0xEE, count: Int(length))
            return bytes.withUnsafeMutableBufferPointer { buffer in
                var request = blk_snap_tracker_read_cbt_bitmap()
                request.dev_id = dev(name)
                request.offset = offset
                request.length = length
                request.buff = fault ? UnsafeMutablePointer(bitPattern: 0x10) : buffer.baseAddress
                let result = ioctl(BLK_SNAP_REQ_TRACKER_READ_CBT_MAP, &request)
                return (result, Array(buffer))
            }
        }

        /// MARK_DIRTY_BLOCKS of `ranges` on `device`.
        func markDirty(_ device: blk_snap_dev_t, _ ranges: [(UInt64, UInt64)]) -> Int32 {
            var array = ranges.map { blk_snap_block_range(sector_offset: $0.0, sector_count: $0.1) }
            return array.withUnsafeMutableBufferPointer { buffer in
                var request = blk_snap_tracker_mark_dirty_blocks()
                request.dev_id = device
                request.count = UInt32(buffer.count)
                request.dirty_blocks_array = buffer.baseAddress
                return ioctl(BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS, &request)
            }
        }

        func write(_ path: String, offset: UInt64, bytes: [UInt8]) -> Int {
            let file = sim.open(path, flags: O_RDWR)
            defer { _ = sim.close(file) }
            return bytes.withUnsafeBytes { sim.pwrite(file, from: $0, at: offset) }
        }

        func read(_ path: String, offset: UInt64, count: Int) -> (Int, [UInt8]) {
            let file = sim.open(path, flags: O_RDONLY)
            defer { _ = sim.close(file) }
            var bytes = [UInt8](repeating: 0, count: count)
            let result = bytes.withUnsafeMutableBytes { sim.pread(file, into: $0, at: offset) }
            return (result, bytes)
        }
    }

    static let fault = UInt64(0x10)
    static func faultPointer<T>() -> UnsafeMutablePointer<T>? { UnsafeMutablePointer(bitPattern: 0x10) }

    @Test("nodes, numbers and identity: /dev/veeamblksnap of its own char major, VERSION 1.0.0.0, MOD, detection says VAL-6.x")
    func nodesAndIdentity() throws {
        let machine = try Machine()
        let kernel = machine.sim.kernelInterface
        #expect(throws: Errno.noSuchFileOrDirectory) { _ = try kernel.stat("/dev/blksnap-control") }
        #expect(throws: Errno.noSuchFileOrDirectory) { _ = try kernel.stat("/dev/bdevfilter") }
        let control = try kernel.stat("/dev/veeamblksnap")
        #expect(control.isCharacterDevice)
        #expect(control.deviceNumber == DeviceNumber(major: 254, minor: 0))
        var version = blk_snap_version()
        #expect(machine.ioctl(BLK_SNAP_REQ_VERSION, &version) == 0)
        #expect([version.major, version.minor, version.revision, version.build] == [1, 0, 0, 0])
        // Dispatch on the nr alone: v5's and VAL-7.0's VERSION numbers reach the same handler.
        for request: UInt in [0x4008_5600, 0x8008_5600, 0xC0FF_EE00] {
            version = blk_snap_version()
            #expect(machine.ioctl(request, &version) == 0)
            #expect(version.major == 1)
        }
        #expect(machine.ioctl(BLK_SNAP_REQ_VERSION, address: Self.fault) == -ENODATA)
        var mod = blk_snap_mod()
        #expect(machine.ioctl(BLK_SNAP_REQ_MOD, &mod) == 0)
        #expect(mod.compatibility_flags == 0x2)
        #expect(withUnsafeBytes(of: mod.name) { Array($0.prefix(11)) } == Array("standalone\0".utf8))
        #expect(machine.ioctl(BLK_SNAP_REQ_MOD, address: Self.fault) == -ENODATA)
        let detected = try BlksnapDrivers.detect(kernel: kernel, override: nil)
        #expect(detected.driver.abi == .val6)
    }

    @Test("dispatch: nr 12 (Quirk.val6ControlNumberTwelve), 13–31, GET_SECTOR_STATE and nr ≥ 35 give ENOTTY")
    func dispatchTable() throws {
        let machine = try Machine()
        var page = [UInt8](repeating: 0, count: 4096)
        for nr in [12, 13, 20, 31, 34, 35, 36, 255] {
            let result = page.withUnsafeMutableBytes {
                machine.ioctl(UInt(0xC000_5600 | nr), address: UInt64(UInt(bitPattern: $0.baseAddress!)))
            }
            #expect(result == -ENOTTY, "nr \(nr)")
        }
        var state = blk_snap_get_sector_state()
        #expect(machine.ioctl(BLK_SNAP_REQ_GET_SECTOR_STATE, &state) == -ENOTTY)
        #expect(SimKernel.allQuirks.contains { $0.id == "val6ControlNumberTwelve" && $0.handling == .diverged })
    }

    @Test("CREATE: ENODATA, ENOMEM, ENODATA (array), EINVAL (same device twice), ENXIO; trackers made so far stay, unowned")
    func createErrnoOrder() throws {
        let machine = try Machine()
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_CREATE, address: Self.fault) == -ENODATA)
        var huge = blk_snap_snapshot_create()
        huge.count = UInt32(4 << 20) / 8 + 1
        huge.dev_id_array = Self.faultPointer()
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_CREATE, &huge) == -ENOMEM)
        var faulting = blk_snap_snapshot_create()
        faulting.count = 1
        faulting.dev_id_array = Self.faultPointer()
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_CREATE, &faulting) == -ENODATA)
        #expect(machine.create([machine.dev("sda"), machine.dev("sda")]).0 == -EINVAL)
        #expect(machine.trackers(capacity: nil).1 == 0)
        // sda gets a tracker, then 7:7 cannot be opened: the snapshot is freed, the tracker stays.
        #expect(machine.create([machine.dev("sda"), blk_snap_dev_t(mj: 7, mn: 7)]).0 == -ENXIO)
        #expect(machine.sim.snapshotIDs.isEmpty)
        #expect(machine.trackers(capacity: nil).1 == 1)
        #expect(machine.sim.listDevices().first { $0.name == "sda" }?.filter == "blksnap")
        // Unowned: the next CREATE takes it over.
        let (created, id) = machine.create([machine.dev("sda")])
        #expect(created == 0)
        #expect(machine.sim.snapshotIDs == [SimUUID(bytes: withUnsafeBytes(of: id.b) { Array($0) })])
        // The creation event: low_free_space, code 0, diff_storage_minimum.
        let (waited, event) = machine.waitEvent(id)
        #expect(waited == 0)
        #expect(event.code == 0)
        #expect(withUnsafeBytes(of: event.data) { $0.loadUnaligned(as: UInt64.self) } == 8192)
    }

    @Test("CREATE: a member of another snapshot gives EALREADY (CREATED or TAKEN); a copy-back fault keeps the snapshot")
    func createOwnership() throws {
        let machine = try Machine()
        let (first, id) = machine.create([machine.dev("sda")])
        #expect(first == 0)
        #expect(machine.create([machine.dev("sda")]).0 == -EALREADY)
        #expect(machine.append(id, [(0, 16384)]) == 0)
        #expect(machine.take(id) == 0)
        #expect(machine.create([machine.dev("sdb"), machine.dev("sda")]).0 == -EALREADY)
        #expect(machine.sim.snapshotIDs.count == 1)  // the failed CREATE orphaned nothing
        #expect(machine.destroy(id) == 0)
        // A MKDEV spill: {0, major<<20 | minor} is the same dev_t, not the same pair.
        let sdb = machine.dev("sdb")
        #expect(machine.create([sdb, blk_snap_dev_t(mj: 0, mn: sdb.mj << 20 | sdb.mn)]).0 == -EALREADY)
        // The id copy-back faults (a read-only struct): ENODATA, and the snapshot is listed all the same.
        let request = blk_snap_snapshot_create(count: 1, dev_id_array: UnsafeMutablePointer(bitPattern: 0x2000),
                                               id: blk_snap_uuid())
        let memory = MappedUserMemory(regions: [
            .init(address: 0x1000, bytes: withUnsafeBytes(of: request) { Array($0) }, writable: false),
            .init(address: 0x2000, bytes: withUnsafeBytes(of: machine.dev("sda")) { Array($0) }),
        ])
        #expect(machine.sim.ioctl(machine.fd, BLK_SNAP_REQ_SNAPSHOT_CREATE, 0x1000, memory: memory) == -ENODATA)
        #expect(machine.sim.snapshotIDs.count == 1)
    }

    @Test("the §1.8.4 bug: a second CREATE orphans the first — unreachable, never torn down, its device EALREADY forever")
    func secondCreateOrphansFirst() throws {
        let machine = try Machine()
        let first = try machine.taken(["sda"])
        let image = machine.images(first, capacity: 1).2[0].image_dev_id
        let (created, second) = machine.create([machine.dev("sdb")])
        #expect(created == 0)
        #expect(machine.sim.snapshotIDs == [SimUUID(bytes: withUnsafeBytes(of: second.b) { Array($0) })])
        #expect(machine.sim.orphanedSnapshotCount == 1)
        #expect(machine.destroy(first) == -ENODEV)
        #expect(machine.take(first) == -ESRCH)
        #expect(machine.append(first, [(0, 8)]) == -ESRCH)
        #expect(machine.images(first, capacity: 1).0 == -ESRCH)
        #expect(machine.waitEvent(first).0 == -ESRCH)
        #expect(machine.create([machine.dev("sda")]).0 == -EALREADY)
        #expect(machine.destroy(second) == 0)
        #expect(machine.create([machine.dev("sda")]).0 == -EALREADY)  // forever
        // The orphan's image and COW stay.
        #expect(machine.sim.listDevices().contains { $0.isImage && $0.major == image.mj && $0.minor == image.mn })
        #expect(SimKernel.allQuirks.contains { $0.id == "val6CreateOrphansOlder" && $0.handling == .reproduced })
    }

    @Test("DESTROY: ENODATA, ENODEV; trackers stay attached and keep tracking after it")
    func trackersSurviveDestroy() throws {
        let machine = try Machine()
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_DESTROY, address: Self.fault) == -ENODATA)
        #expect(machine.destroy(blk_snap_uuid()) == -ENODEV)
        let id = try machine.taken(["sda", "sdb"])
        #expect(machine.destroy(id) == 0)
        #expect(machine.sim.listDevices().filter(\.isImage).isEmpty)
        let (listed, count, records) = machine.trackers(capacity: 2)
        #expect(listed == 0)
        #expect(count == 2)
        #expect(records.map(\.snap_number) == [1, 1])
        #expect(machine.write("/dev/sda", offset: 0, bytes: [1, 2, 3, 4]) == 4)
        #expect(machine.sim.cbtState(device: "sda")?.activeNumber == 2)
        // The unowned trackers are taken over by the next CREATE.
        #expect(machine.create([machine.dev("sda"), machine.dev("sdb")]).0 == 0)
    }

    @Test("TRACKER_COLLECT: ENODATA, the count, ENOMEM, ENOBUFS with nothing written, then 48-byte records")
    func trackerCollect() throws {
        let machine = try Machine()
        #expect(machine.ioctl(BLK_SNAP_REQ_TRACKER_COLLECT, address: Self.fault) == -ENODATA)
        #expect(machine.trackers(capacity: 0).0 == 0)
        _ = try machine.taken(["sda", "sdb"])
        #expect(machine.trackers(capacity: nil).1 == 2)
        var huge = blk_snap_tracker_collect()
        huge.count = UInt32(4 << 20) / 48 + 1
        huge.cbt_info_array = Self.faultPointer()
        #expect(machine.ioctl(BLK_SNAP_REQ_TRACKER_COLLECT, &huge) == -ENOMEM)
        let (small, count, untouched) = machine.trackers(capacity: 1)
        #expect(small == -ENOBUFS)
        #expect(count == 1)
        #expect(untouched[0].blk_size == 0)
        let (result, total, records) = machine.trackers(capacity: 3)
        #expect(result == 0)
        #expect(total == 2)
        let sda = machine.dev("sda")
        #expect(records[0].dev_id.mj == sda.mj && records[0].dev_id.mn == sda.mn)
        #expect(records[0].blk_size == 65536)
        #expect(records[0].device_capacity == 16384 * 512)
        #expect(records[0].blk_count == 128)
        #expect(records[0].snap_number == 1)
        #expect(withUnsafeBytes(of: records[0].generation_id.b) { $0.contains { $0 != 0 } })
        #expect(records[2].blk_size == 0)
        var faulting = blk_snap_tracker_collect(count: 2, cbt_info_array: Self.faultPointer())
        #expect(machine.ioctl(BLK_SNAP_REQ_TRACKER_COLLECT, &faulting) == -ENODATA)
    }

    @Test("TRACKER_REMOVE: ENODATA, ENOENT (no extension), ENODATA (untracked), EBUSY while taken, accepted before take (no COW)")
    func trackerRemove() throws {
        let machine = try Machine()
        func remove(_ device: blk_snap_dev_t) -> Int32 {
            var request = blk_snap_tracker_remove(dev_id: device)
            return machine.ioctl(BLK_SNAP_REQ_TRACKER_REMOVE, &request)
        }
        #expect(machine.ioctl(BLK_SNAP_REQ_TRACKER_REMOVE, address: Self.fault) == -ENODATA)
        #expect(remove(blk_snap_dev_t(mj: 7, mn: 7)) == -ENOENT)
        #expect(remove(machine.dev("sda")) == -ENODATA)
        let id = try machine.taken(["sda"])
        #expect(remove(machine.dev("sda")) == -EBUSY)
        #expect(machine.destroy(id) == 0)
        #expect(remove(machine.dev("sda")) == 0)
        #expect(machine.trackers(capacity: nil).1 == 0)
        // Removed while CREATED: TAKE still makes an image, but no COW protects it.
        let (_, second) = machine.create([machine.dev("sdb")])
        #expect(remove(machine.dev("sdb")) == 0)
        #expect(machine.append(second, [(0, 16384)]) == 0)
        #expect(machine.take(second) == 0)
        let image = machine.images(second, capacity: 1).2[0].image_dev_id
        #expect(machine.write("/dev/sdb", offset: 0, bytes: [9, 9, 9, 9]) == 4)
        #expect(machine.read("/dev/veeamblksnapimg\(image.mn)", offset: 0, count: 4).1 == [9, 9, 9, 9])
        #expect(machine.destroy(second) == 0)
        // A tracked device that disappears: the fallback drops the filter once, the entry stays.
        let (_, third) = machine.create([machine.dev("sda")])
        let sda = machine.dev("sda")
        #expect(machine.destroy(third) == 0)
        try machine.sim.removeDevice(name: "sda")
        #expect(remove(sda) == 0)
        #expect(remove(sda) == -ENOENT)
        let (_, count, records) = machine.trackers(capacity: 1)
        #expect(count == 1)
        #expect(records[0].blk_size == 0)  // cannot be opened: zeroed fields
    }

    @Test("READ_CBT_MAP: ENODATA, ENXIO, ENODATA, EPERM before take; byte count, clamp, EINVAL past the end, 0 on a fault")
    func readCBTMap() throws {
        let machine = try Machine()
        #expect(machine.ioctl(BLK_SNAP_REQ_TRACKER_READ_CBT_MAP, address: Self.fault) == -ENODATA)
        var unknown = blk_snap_tracker_read_cbt_bitmap()
        unknown.dev_id = blk_snap_dev_t(mj: 7, mn: 7)
        #expect(machine.ioctl(BLK_SNAP_REQ_TRACKER_READ_CBT_MAP, &unknown) == -ENXIO)
        #expect(machine.readMap("sda", offset: 0, length: 128).0 == -ENODATA)
        let (_, id) = machine.create([machine.dev("sda")])
        #expect(machine.readMap("sda", offset: 0, length: 128).0 == -EPERM)
        #expect(machine.write("/dev/sda", offset: 65536 * 3, bytes: [1]) == 1)
        #expect(machine.append(id, [(0, 16384)]) == 0)
        #expect(machine.take(id) == 0)
        let (count, map) = machine.readMap("sda", offset: 0, length: 128)
        #expect(count == 128)
        #expect(map[3] == 1 && map[2] == 0)
        let (clamped, tail) = machine.readMap("sda", offset: 120, length: 100)
        #expect(clamped == 8)
        #expect(tail[8] == 0xEE)
        #expect(machine.readMap("sda", offset: 128, length: 1).0 == -EINVAL)
        #expect(machine.readMap("sda", offset: 0, length: 128, fault: true).0 == 0)
        #expect(machine.destroy(id) == 0)
        #expect(machine.readMap("sda", offset: 0, length: 128).0 == -EPERM)
    }

    @Test("MARK_DIRTY_BLOCKS: ENODATA, ENOMEM above KMALLOC_MAX_SIZE/16, ENODATA, ENODEV; all ranges; an image's dev_t marks its original")
    func markDirtyBlocks() throws {
        let machine = try Machine()
        #expect(machine.ioctl(BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS, address: Self.fault) == -ENODATA)
        var huge = blk_snap_tracker_mark_dirty_blocks()
        huge.count = 262_145
        huge.dirty_blocks_array = Self.faultPointer()
        #expect(machine.ioctl(BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS, &huge) == -ENOMEM)
        huge.count = 1
        #expect(machine.ioctl(BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS, &huge) == -ENODATA)
        #expect(machine.markDirty(blk_snap_dev_t(mj: 7, mn: 7), [(0, 1)]) == -ENXIO)
        #expect(machine.markDirty(machine.dev("sda"), [(0, 1)]) == -ENODEV)
        // An image major with no snapshot listed: 0, nothing done.
        #expect(machine.markDirty(blk_snap_dev_t(mj: 252, mn: 0), [(0, 1)]) == 0)
        let (_, id) = machine.create([machine.dev("sda")])
        // Listed but not taken: the module walks an empty image slot and oopses.
        #expect(machine.markDirty(blk_snap_dev_t(mj: 252, mn: 0), [(0, 1)]) == -EFAULT)
        // Every range is applied (v5 applies element 0 only); the first failure stops.
        #expect(machine.markDirty(machine.dev("sda"), [(0, 1), (128 * 10, 1), (1 << 40, 1), (128 * 20, 1)]) == -EINVAL)
        #expect(machine.append(id, [(0, 16384)]) == 0)
        #expect(machine.take(id) == 0)
        let map = machine.readMap("sda", offset: 0, length: 128).1
        #expect(map[0] == 1 && map[10] == 1 && map[20] == 0)
        #expect(machine.markDirty(blk_snap_dev_t(mj: 252, mn: 0), [(128 * 30, 1)]) == 0)
        #expect(machine.readMap("sda", offset: 0, length: 128).1[30] == 1)  // "set both": the read map too
        #expect(machine.markDirty(blk_snap_dev_t(mj: 252, mn: 9), [(0, 1)]) == -ENODEV)
        #expect(machine.markDirty(machine.dev("sda"), []) == 0)
    }

    @Test("APPEND_STORAGE: EINVAL (struct), ENODATA with nothing added, ESRCH, ENXIO; TAKE: ENODATA, ESRCH, EFAULT destroys, EALREADY, ENODEV")
    func appendAndTake() throws {
        let machine = try Machine()
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE, address: Self.fault) == -EINVAL)
        let (_, id) = machine.create([machine.dev("sda")])
        let uuid = SimUUID(bytes: withUnsafeBytes(of: id.b) { Array($0) })
        var faulting = blk_snap_snapshot_append_storage()
        faulting.id = id
        faulting.dev_id = machine.dev("store")
        faulting.count = 2
        faulting.ranges = Self.faultPointer()
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE, &faulting) == -ENODATA)
        #expect(machine.sim.storageCounters(snapshot: uuid)?.capacitySectors == 0)
        faulting.count = UInt32.max
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE, &faulting) == -ENOMEM)
        #expect(machine.append(blk_snap_uuid(), [(0, 8)]) == -ESRCH)
        var unknownDevice = blk_snap_snapshot_append_storage()
        unknownDevice.id = id
        unknownDevice.dev_id = blk_snap_dev_t(mj: 7, mn: 7)
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE, &unknownDevice) == -ENXIO)
        // TAKE.
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_TAKE, address: Self.fault) == -ENODATA)
        #expect(machine.take(blk_snap_uuid()) == -ESRCH)
        // No storage: EFAULT, and the snapshot is gone; its tracker stays, unowned.
        #expect(machine.take(id) == -EFAULT)
        #expect(machine.sim.snapshotIDs.isEmpty)
        #expect(machine.take(id) == -ESRCH)
        #expect(machine.destroy(id) == -ENODEV)
        let second = try machine.taken(["sda"])
        #expect(machine.take(second) == -EALREADY)
        #expect(machine.destroy(second) == 0)
        // No devices (count 0): ENODEV, the snapshot stays.
        let (empty, none) = machine.create([])
        #expect(empty == 0)
        #expect(machine.take(none) == -ENODEV)
        #expect(machine.sim.snapshotIDs.count == 1)
    }

    @Test("COLLECT: count, ENODATA for a small array or a faulting element; COLLECT_IMAGES: ESRCH, ENODEV with count, NULL, ENODATA with the size, pairs")
    func collectAndImages() throws {
        let machine = try Machine()
        var none = blk_snap_snapshot_collect()
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_COLLECT, &none) == 0)
        #expect(none.count == 0)
        let (_, id) = machine.create([machine.dev("sda"), machine.dev("sdb")])
        var ids = [blk_snap_uuid](repeating: blk_snap_uuid(), count: 1)
        var small = blk_snap_snapshot_collect(count: 0, ids: nil)
        #expect(ids.withUnsafeMutableBufferPointer { buffer in
            small.ids = buffer.baseAddress
            return machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_COLLECT, &small)
        } == -ENODATA)
        var faulting = blk_snap_snapshot_collect(count: 1, ids: Self.faultPointer())
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_COLLECT, &faulting) == -ENODATA)
        #expect(faulting.count == 0)
        #expect(machine.ioctl(BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES, address: Self.fault) == -ENODATA)
        #expect(machine.images(blk_snap_uuid(), capacity: 2).0 == -ESRCH)
        let (notTaken, members, _) = machine.images(id, capacity: 0)
        #expect(notTaken == -ENODEV)
        #expect(members == 2)
        #expect(machine.append(id, [(0, 16384)]) == 0)
        #expect(machine.take(id) == 0)
        #expect(machine.images(id, capacity: nil).0 == 0)
        #expect(machine.images(id, capacity: nil).1 == 2)
        let (tooSmall, needed, untouched) = machine.images(id, capacity: 1)
        #expect(tooSmall == -ENODATA)
        #expect(needed == 2)
        #expect(untouched[0].image_dev_id.mj == 0)
        let (result, count, pairs) = machine.images(id, capacity: 3)
        #expect(result == 0)
        #expect(count == 2)
        #expect(pairs[0].orig_dev_id.mn == machine.dev("sda").mn && pairs[1].orig_dev_id.mn == machine.dev("sdb").mn)
        #expect(pairs.prefix(2).map { [$0.image_dev_id.mj, $0.image_dev_id.mn] } == [[252, 0], [252, 1]])
        let images = machine.sim.listDevices().filter(\.isImage)
        #expect(images.map(\.name) == ["veeamblksnapimg0", "veeamblksnapimg1"])
        #expect(images.allSatisfy { $0.logicalBlockSize == 512 && $0.physicalBlockSize == 512 })
    }

    @Test("WAIT_EVENT copies in the whole page: a short readable buffer gives EINVAL; the caller's bytes past the payload come back")
    func waitEventPage() throws {
        let machine = try Machine()
        let (_, id) = machine.create([machine.dev("sda")])
        var head = [UInt8](repeating: 0, count: 20)
        withUnsafeBytes(of: id.b) { head.replaceSubrange(0..<16, with: $0) }
        let short = MappedUserMemory(regions: [.init(address: 0x1000, bytes: head + [UInt8](repeating: 0, count: 100))])
        #expect(machine.sim.ioctl(machine.fd, BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT, 0x1000, memory: short) == -EINVAL)
        var page = head + [UInt8](repeating: 0, count: 4096 - 20)
        page[100] = 0x5A
        let full = MappedUserMemory(regions: [.init(address: 0x1000, bytes: page)])
        #expect(machine.sim.ioctl(machine.fd, BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT, 0x1000, memory: full) == 0)
        let reply = full.regions[0].bytes
        #expect(reply[20..<24] == [0, 0, 0, 0])  // low_free_space
        #expect(reply[100] == 0x5A)
        #expect(machine.waitEvent(id).0 == -ENOENT)
        #expect(machine.waitEvent(blk_snap_uuid()).0 == -ESRCH)
    }

    @Test("SETLOG: ENODATA, NULL path disables, EINVAL for size 0, ENOMEM, ENODATA, EALREADY; a level ≥ 2^31 changes nothing")
    func setLog() throws {
        let machine = try Machine()
        #expect(machine.ioctl(BLK_SNAP_REQ_SETLOG, address: Self.fault) == -ENODATA)
        var off = blk_snap_setlog()
        off.level = UInt32.max  // `level < 0` is never true: u32
        #expect(machine.ioctl(BLK_SNAP_REQ_SETLOG, &off) == 0)
        var path = Array("/var/log/veeam.log".utf8)
        func setlog(level: UInt32, size: UInt32? = nil, fault: Bool = false) -> Int32 {
            path.withUnsafeMutableBufferPointer { buffer in
                var request = blk_snap_setlog()
                request.level = level
                request.filepath_size = size ?? UInt32(buffer.count)
                request.filepath = fault ? Self.faultPointer() : buffer.baseAddress
                return machine.ioctl(BLK_SNAP_REQ_SETLOG, &request)
            }
        }
        #expect(setlog(level: 6, size: 0) == -EINVAL)
        #expect(setlog(level: 6, size: 4 << 20) == -ENOMEM)
        #expect(setlog(level: 6, fault: true) == -ENODATA)
        #expect(setlog(level: 6) == 0)
        #expect(setlog(level: 6) == -EALREADY)
        #expect(setlog(level: 7) == 0)
        #expect(setlog(level: 0x8000_0000) == 0)
        #expect(setlog(level: 7) == -EALREADY)  // the huge level changed nothing
    }

    @Test("overflow: corrupted event code 1 err_code 28, then every image read and write gives ENOSPC")
    func overflowGivesENOSPC() throws {
        let machine = try Machine()
        let (_, id) = machine.create([machine.dev("sda")])
        #expect(machine.append(id, [(0, 128)]) == 0)  // one 64 KiB chunk
        #expect(machine.take(id) == 0)
        #expect(machine.waitEvent(id).1.code == 0)  // the creation event
        #expect(machine.write("/dev/sda", offset: 0, bytes: [1]) == 1)
        #expect(machine.write("/dev/sda", offset: 65536, bytes: [1]) == 1)
        let (waited, event) = machine.waitEvent(id)
        #expect(waited == 0)
        #expect(event.code == 1)
        let payload = withUnsafeBytes(of: event.data) { blk_snap_event_corrupted(orig_dev_id: $0.loadUnaligned(as: blk_snap_dev_t.self),
                                                                                  err_code: $0.loadUnaligned(fromByteOffset: 8, as: Int32.self)) }
        #expect(payload.orig_dev_id.mn == machine.dev("sda").mn && payload.err_code == 28)
        #expect(machine.read("/dev/veeamblksnapimg0", offset: 1 << 20, count: 512).0 == -Int(ENOSPC))
        #expect(machine.write("/dev/veeamblksnapimg0", offset: 0, bytes: [0]) == -Int(ENOSPC))
        #expect(machine.write("/dev/sda", offset: 1 << 20, bytes: [1]) == 1)  // the original still takes writes
    }

    @Test("a range start not on 8 sectors: APPEND and TAKE succeed, the first COW corrupts with err_code 22, image I/O ENOSPC")
    func misalignedRangeCorruptsAtFirstCOW() throws {
        let machine = try Machine()
        let (_, id) = machine.create([machine.dev("sda")])
        #expect(machine.append(id, [(3, 16384)]) == 0)
        #expect(machine.take(id) == 0)
        _ = machine.waitEvent(id)
        #expect(machine.write("/dev/sda", offset: 0, bytes: [1]) == 1)
        let (waited, event) = machine.waitEvent(id)
        #expect(waited == 0)
        #expect(event.code == 1)
        #expect(withUnsafeBytes(of: event.data) { $0.loadUnaligned(fromByteOffset: 8, as: Int32.self) } == 22)
        #expect(machine.read("/dev/veeamblksnapimg0", offset: 0, count: 512).0 == -Int(ENOSPC))
    }

    @Test("each COW chunk is stored at once (no batching); image writes mark CBT 'set both', and fail EIO once the CBT is corrupted")
    func storesAtOnceAndImageWrites() throws {
        let machine = try Machine()
        let (_, id) = machine.create([machine.dev("sda")])
        let uuid = SimUUID(bytes: withUnsafeBytes(of: id.b) { Array($0) })
        #expect(machine.append(id, [(0, 16384)]) == 0)
        #expect(machine.take(id) == 0)
        #expect(machine.write("/dev/sda", offset: 0, bytes: [1]) == 1)
        #expect(machine.sim.storageCounters(snapshot: uuid)?.filledSectors == 128)
        #expect(machine.write("/dev/veeamblksnapimg0", offset: 65536 * 5, bytes: [7]) == 1)
        #expect(machine.readMap("sda", offset: 0, length: 8).1[5] == 1)
        #expect(machine.read("/dev/veeamblksnapimg0", offset: 65536 * 5, count: 1).1 == [7])
        // A write past the CBT's end (the device grew) corrupts the CBT: image writes then fail EIO.
        try machine.sim.resizeDevice(name: "sda", capacitySectors: 32768)
        #expect(machine.write("/dev/sda", offset: 16384 * 512, bytes: [1]) == 1)
        #expect(machine.sim.cbtState(device: "sda")?.isCorrupted == true)
        #expect(machine.write("/dev/veeamblksnapimg0", offset: 0, bytes: [7]) == -Int(EIO))
    }

    @Test("image writes keep up to 32 loaded chunks in memory unstored; the 33rd stores the oldest; a COW stores the one it touches (the real module's write cache)")
    func imageWriteCache() throws {
        let machine = try Machine()
        let (_, id) = machine.create([machine.dev("sda")])
        let uuid = SimUUID(bytes: withUnsafeBytes(of: id.b) { Array($0) })
        #expect(machine.append(id, [(0, 16384)]) == 0)
        #expect(machine.take(id) == 0)
        func filled() -> UInt64? { machine.sim.storageCounters(snapshot: uuid)?.filledSectors }
        for chunk in 0..<32 {
            #expect(machine.write("/dev/veeamblksnapimg0", offset: UInt64(chunk) * 65536, bytes: [9]) == 1)
        }
        #expect(filled() == 0, "32 image-written chunks wait in memory")
        #expect(machine.write("/dev/veeamblksnapimg0", offset: 32 * 65536, bytes: [9]) == 1)
        #expect(filled() == 128, "the 33rd stores the oldest chunk")
        #expect(machine.write("/dev/sda", offset: 5 * 65536, bytes: [1]) == 1)
        #expect(filled() == 256, "a COW on a cached chunk stores it (its image data, not the original's)")
        #expect(machine.read("/dev/veeamblksnapimg0", offset: 5 * 65536, count: 1).1 == [9])
        #expect(machine.write("/dev/sda", offset: 5 * 65536 + 4096, bytes: [1]) == 1)
        #expect(filled() == 256, "stored once")
    }

    @Test("the library's VAL6Driver end to end: attach by create+destroy, snapshot, COW, image, CBT, events, destroy, detach")
    func driverEndToEnd() throws {
        let machine = try Machine()
        let driver = VAL6Driver(kernel: machine.sim.kernelInterface)
        let control = try Control(driver: driver)
        let sda = try BlockDevice(path: "/dev/sda", driver: driver)
        try sda.attachUnchecked()
        #expect(try sda.cbtInfo().changesNumber == 0)
        let before = machine.read("/dev/sda", offset: 0, count: 65536).1
        let id = try control.createSnapshot(SnapshotCreation(devices: ["/dev/sda"]))
        guard case .lowFreeSpace? = try control.waitEvent(id, timeoutTicks: 0) else {
            Issue.record("expected the creation event")
            return
        }
        try control.appendStorageUnchecked(id, devicePath: "/dev/store", ranges: [SectorRange(offsetSectors: 0, countSectors: 16384)])
        try control.takeSnapshot(id)
        let info = try sda.snapshotInfo()
        #expect(info.imageName == "veeamblksnapimg0")
        #expect(machine.write("/dev/sda", offset: 0, bytes: [UInt8](repeating: 0xAB, count: 65536)) == 65536)
        #expect(machine.read("/dev/veeamblksnapimg0", offset: 0, count: 65536).1 == before)
        let (cbt, map) = try sda.readCBT()
        #expect(cbt.changesNumber == 1)
        #expect(map.count == 128)
        try control.destroySnapshot(id)
        #expect(try control.collectSnapshots().isEmpty)
        try sda.detach()
        #expect(machine.trackers(capacity: nil).1 == 0)
        try sda.close()
    }
}
