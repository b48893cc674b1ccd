#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import CBlksnapUAPI
import SimKernel
import SystemPackage
import Testing

@Suite("Conformance §1.2: control ioctls through BlksnapKit")
struct ConformanceControlTests {
    @Test("request numbers keep v5's bits exactly (§1.2, §11.1)")
    func requestNumbers() {
        #expect(BLKSNAP_REQ_VERSION == 0x4008_5600)
        #expect(BLKSNAP_REQ_SNAPSHOT_CREATE == 0x4010_5601)
        #expect(BLKSNAP_REQ_SNAPSHOT_DESTROY == 0x8010_5602)
        #expect(BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE == 0x4028_5603)
        #expect(BLKSNAP_REQ_SNAPSHOT_TAKE == 0x8010_5604)
        #expect(BLKSNAP_REQ_SNAPSHOT_COLLECT == 0x4010_5605)
        #expect(BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT == 0x5000_5606)
        #expect(BLKSNAP_REQ_BLKFILTER_ATTACH == 0xc020_128c)
        #expect(BLKSNAP_REQ_BLKFILTER_DETACH == 0xc020_128d)
        #expect(BLKSNAP_REQ_BLKFILTER_CTL == 0xc030_128e)
    }

    @Test("VERSION reports 2.0.0.0")
    func version() throws {
        let sim = try ConformanceSim()
        #expect(try sim.control.version() == Version(major: 2, minor: 0, revision: 0, build: 0))
    }

    @Test("raw: VERSION with a faulting argument → ENODATA (not EFAULT)")
    func versionFault() throws {
        let sim = try ConformanceSim()
        let fd = try sim.open(Control.defaultPath)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_VERSION, faultPointer) == -ENODATA)
    }

    @Test("raw: dispatch looks at _IOC_NR only: any type/direction/size with nr 0 is VERSION")
    func dispatchByNumber() throws {
        let sim = try ConformanceSim()
        let fd = try sim.open(Control.defaultPath)
        for request: UInt in [0x0000_0000, 0xc0ff_1200, 0x8008_5600, 0x0000_7700] {
            var version = blksnap_version(major: 9, minor: 9, revision: 9, build: 9)
            #expect(sim.rawIoctl(fd, request, on: &version) == 0, "request \(String(request, radix: 16))")
            #expect(version.major == 2 && version.minor == 0 && version.revision == 0 && version.build == 0)
        }
        // nr 4 with a foreign type byte is TAKE: an unknown id → ESRCH.
        var uuid = blksnap_uuid()
        #expect(sim.rawIoctl(fd, 0x0000_0004, on: &uuid) == -ESRCH)
    }

    @Test("raw: nr 7 → ENOTTY (simulator divergence: v5 reads past its table), nr ≥ 8 → ENOTTY")
    func numberSevenAndBeyond() throws {
        let sim = try ConformanceSim()
        let fd = try sim.open(Control.defaultPath)
        var buffer = [UInt8](repeating: 0, count: 4096)
        for nr: UInt in [7, 8, 9, 0x40, 0xff] {
            let request = (BLKSNAP_REQ_VERSION & ~0xff) | nr
            #expect(buffer.withUnsafeMutableBytes { sim.rawIoctl(fd, request, $0.baseAddress!) } == -ENOTTY, "nr \(nr)")
        }
    }

    @Test("CREATE returns a new listed id each time; the snapshots list in creation order")
    func create() throws {
        let sim = try ConformanceSim()
        let a = try sim.control.createSnapshot()
        let b = try sim.control.createSnapshot()
        #expect(a != b)
        #expect(try sim.control.collectSnapshots() == [a, b])
        // v4 UUID.
        #expect(a.rawValue[6] & 0xf0 == 0x40)
    }

    @Test("raw: CREATE with a faulting argument → ENODATA, but the snapshot WAS created and can be destroyed")
    func createFaultKeepsSnapshot() throws {
        let sim = try ConformanceSim()
        let fd = try sim.open(Control.defaultPath)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_CREATE, faultPointer) == -ENODATA)
        let listed = try sim.control.collectSnapshots()
        #expect(listed.count == 1)
        let id = try #require(listed.first)
        // Its creation event is queued too.
        #expect(try sim.drainEvents(id).count == 1)
        try sim.control.destroySnapshot(id)
        #expect(try sim.control.collectSnapshots().isEmpty)
    }

    @Test("DESTROY: unknown id → ENODEV (not ESRCH); twice → ENODEV")
    func destroyUnknown() throws {
        let sim = try ConformanceSim()
        let id = try sim.control.createSnapshot()
        try sim.control.destroySnapshot(id)
        #expect(errnoOf { try sim.control.destroySnapshot(id) } == ENODEV)
        let never = try #require(SnapshotID(rawValue: [UInt8](repeating: 7, count: 16)))
        #expect(errnoOf { try sim.control.destroySnapshot(never) } == ENODEV)
    }

    @Test("raw: DESTROY and TAKE with a faulting argument → ENODATA")
    func destroyTakeFault() throws {
        let sim = try ConformanceSim()
        let fd = try sim.open(Control.defaultPath)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_DESTROY, faultPointer) == -ENODATA)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_TAKE, faultPointer) == -ENODATA)
    }

    @Test("APPEND_STORAGE: unknown id → ESRCH; missing path → ENOENT; control device → ENOTBLK; count 0 → 0")
    func appendErrors() throws {
        let sim = try ConformanceSim()
        let id = try sim.control.createSnapshot()
        let never = try #require(SnapshotID(rawValue: [UInt8](repeating: 3, count: 16)))
        let range = [SectorRange(offsetSectors: 0, countSectors: 1024)]
        #expect(errnoOf { try sim.control.appendStorageUnchecked(never, devicePath: sim.storagePath, ranges: range) } == ESRCH)
        #expect(errnoOf { try sim.control.appendStorageUnchecked(id, devicePath: "/dev/nothing", ranges: range) } == ENOENT)
        #expect(errnoOf { try sim.control.appendStorageUnchecked(id, devicePath: Control.defaultPath, ranges: range) } == ENOTBLK)
        #expect(errnoOf { try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath, ranges: []) } == nil)
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.capacitySectors == 0)
        // Nothing is validated: zero-length, overlapping and past-the-end ranges are accepted.
        let odd = [SectorRange(offsetSectors: 5, countSectors: 0), SectorRange(offsetSectors: 0, countSectors: 100),
                   SectorRange(offsetSectors: 50, countSectors: 100), SectorRange(offsetSectors: 1 << 40, countSectors: 7)]
        #expect(errnoOf { try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath, ranges: odd) } == nil)
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.capacitySectors == 207)
    }

    /// A hand-built append request; `path` nil leaves `bdev_path` as given.
    private func rawAppend(_ sim: ConformanceSim, id: SnapshotID, pathAddress: UInt64?, pathSize: UInt32,
                           ranges: UInt64, count: UInt32) throws -> Int32 {
        let fd = try sim.open(Control.defaultPath)
        var path = Array(sim.storagePath.utf8CString)
        return path.withUnsafeMutableBytes { pathBytes in
            var request = blksnap_snapshot_append_storage()
            request.id = id.uuid
            request.bdev_path = pathAddress ?? address(pathBytes.baseAddress)
            request.bdev_path_size = pathSize
            request.count = count
            request.ranges = ranges
            return sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, on: &request)
        }
    }

    @Test("raw: APPEND_STORAGE copy faults: struct → EINVAL, path size 0 or bad pointer → EFAULT, no NUL → EINVAL")
    func appendCopyFaults() throws {
        let sim = try ConformanceSim()
        let id = try sim.control.createSnapshot()
        let fd = try sim.open(Control.defaultPath)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, faultPointer) == -EINVAL)
        let length = UInt32(sim.storagePath.utf8.count)
        #expect(try rawAppend(sim, id: id, pathAddress: nil, pathSize: 0, ranges: 0, count: 0) == -EFAULT)
        #expect(try rawAppend(sim, id: id, pathAddress: faultAddress, pathSize: 64, ranges: 0, count: 0) == -EFAULT)
        #expect(try rawAppend(sim, id: id, pathAddress: nil, pathSize: length, ranges: 0, count: 0) == -EINVAL)
        #expect(try rawAppend(sim, id: id, pathAddress: nil, pathSize: length + 1, ranges: 0, count: 0) == 0)
        // A path check runs before the id lookup: unknown id with a bad path → EFAULT.
        let never = try #require(SnapshotID(rawValue: [UInt8](repeating: 1, count: 16)))
        #expect(try rawAppend(sim, id: never, pathAddress: nil, pathSize: 0, ranges: 0, count: 0) == -EFAULT)
    }

    @Test("raw: APPEND_STORAGE with a faulting second range → EINVAL, the first range stays added")
    func appendPartialRanges() throws {
        let sim = try ConformanceSim()
        let id = try sim.control.createSnapshot()
        // One readable range placed right before an unmapped page.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = try #require(mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        #expect(mapping != MAP_FAILED)
        defer { munmap(mapping, 2 * page) }
        #expect(mprotect(mapping + page, page, PROT_NONE) == 0)
        let first = (mapping + page - 16).bindMemory(to: blksnap_sectors.self, capacity: 1)
        first.pointee = blksnap_sectors(offset: 0, count: 4096)
        let result = try rawAppend(sim, id: id, pathAddress: nil, pathSize: 64, ranges: address(first), count: 3)
        #expect(result == -EINVAL)
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.capacitySectors == 4096)
    }

    @Test("TAKE: unknown id → ESRCH; no devices → ENODEV; no storage → EFAULT; twice → EALREADY")
    func takeErrors() throws {
        let sim = try ConformanceSim()
        let never = try #require(SnapshotID(rawValue: [UInt8](repeating: 9, count: 16)))
        #expect(errnoOf { try sim.control.takeSnapshot(never) } == ESRCH)
        let empty = try sim.snapshot([], storageSectors: 1024)
        #expect(errnoOf { try sim.control.takeSnapshot(empty) } == ENODEV)
        let device = try sim.addDevice("sda", sectors: 2048)
        let noStorage = try sim.snapshot([device], storageSectors: 0)
        #expect(errnoOf { try sim.control.takeSnapshot(noStorage) } == EFAULT)
        try sim.control.appendStorageUnchecked(noStorage, devicePath: sim.storagePath,
                                      ranges: [SectorRange(offsetSectors: 0, countSectors: 1024)])
        try sim.control.takeSnapshot(noStorage)
        #expect(errnoOf { try sim.control.takeSnapshot(noStorage) } == EALREADY)
    }
}

@Suite("Conformance §7: COLLECT")
struct ConformanceCollectTests {
    /// A raw COLLECT with `count` and an ids buffer of `capacity` slots (nil: ids = 0).
    private func rawCollect(_ sim: ConformanceSim, count: UInt32, capacity: Int?)
        throws -> (result: Int32, count: UInt32, ids: [[UInt8]]) {
        let fd = try sim.open(Control.defaultPath)
        var request = blksnap_snapshot_collect()
        request.count = count
        guard let capacity else {
            request.ids = 0
            let result = sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &request)
            return (result, request.count, [])
        }
        var ids = [UInt8](repeating: 0xee, count: capacity * 16)
        let result = ids.withUnsafeMutableBytes { bytes in
            request.ids = address(bytes.baseAddress)
            return sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &request)
        }
        return (result, request.count, (0..<capacity).map { Array(ids[$0 * 16..<$0 * 16 + 16]) })
    }

    @Test("empty list → count 0, result 0 regardless of ids")
    func empty() throws {
        let sim = try ConformanceSim()
        #expect(try sim.control.collectSnapshots().isEmpty)
        let raw = try rawCollect(sim, count: 5, capacity: 2)
        #expect(raw.result == 0 && raw.count == 0)
        #expect(raw.ids.allSatisfy { $0 == [UInt8](repeating: 0xee, count: 16) })
        // Even with a faulting ids pointer.
        let fd = try sim.open(Control.defaultPath)
        var request = blksnap_snapshot_collect(count: 3, ids: faultAddress)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &request) == 0)
        #expect(request.count == 0)
    }

    @Test("raw: ids = 0 → count of snapshots, result 0")
    func countOnly() throws {
        let sim = try ConformanceSim()
        for _ in 0..<3 { _ = try sim.control.createSnapshot() }
        let raw = try rawCollect(sim, count: 0, capacity: nil)
        #expect(raw.result == 0 && raw.count == 3)
    }

    @Test("raw: too-small array → filled up to count, count unchanged, ENODATA (partial fill quirk, §10.2)")
    func partialFill() throws {
        let sim = try ConformanceSim()
        let ids = try (0..<3).map { _ in try sim.control.createSnapshot() }
        let raw = try rawCollect(sim, count: 2, capacity: 3)
        #expect(raw.result == -ENODATA)
        #expect(raw.count == 2)
        #expect(raw.ids[0] == ids[0].rawValue && raw.ids[1] == ids[1].rawValue)
        #expect(raw.ids[2] == [UInt8](repeating: 0xee, count: 16))
        let zero = try rawCollect(sim, count: 0, capacity: 1)
        #expect(zero.result == -ENODATA && zero.count == 0)
    }

    @Test("big enough array → all ids in creation order, count = number")
    func full() throws {
        let sim = try ConformanceSim()
        let ids = try (0..<3).map { _ in try sim.control.createSnapshot() }
        let raw = try rawCollect(sim, count: 10, capacity: 10)
        #expect(raw.result == 0 && raw.count == 3)
        #expect(Array(raw.ids[0..<3]) == ids.map(\.rawValue))
        #expect(try sim.control.collectSnapshots() == ids)
    }

    @Test("raw: a fault writing an id stops the walk with result 0 (§1.2 BUG); copy-in fault → ENODATA")
    func faults() throws {
        let sim = try ConformanceSim()
        for _ in 0..<2 { _ = try sim.control.createSnapshot() }
        let fd = try sim.open(Control.defaultPath)
        var request = blksnap_snapshot_collect(count: 5, ids: faultAddress)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &request) == 0)
        #expect(request.count == 0)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, faultPointer) == -ENODATA)
    }

    @Test("destroyed snapshots are not listed")
    func destroyedNotListed() throws {
        let sim = try ConformanceSim()
        let a = try sim.control.createSnapshot()
        let b = try sim.control.createSnapshot()
        try sim.control.destroySnapshot(a)
        #expect(try sim.control.collectSnapshots() == [b])
    }
}

@Suite("Conformance §1.1: module parameters")
struct ConformanceParamsTests {
    @Test("the v5 defaults, the simulated HZ 250, and the load-time adjustments")
    func defaults() {
        let params = Params()
        #expect(params.trackingBlockMinimumShift == 16)
        #expect(params.trackingBlockMaximumCount == 2_097_152)
        #expect(params.trackingBlockMaximumShift == 26)
        #expect(params.chunkMinimumShift == 18)
        #expect(params.chunkMaximumCountShift == 40)
        #expect(params.chunkMaximumShift == 26)
        #expect(params.chunkMaximumInQueue == 16)
        #expect(params.freeDiffBufferPoolSize == 128)
        #expect(params.diffStorageMinimum == 2_097_152)
        #expect(params.hz == 250)
        #expect(params.normalized() == params)

        var odd = Params()
        odd.trackingBlockMaximumShift = 12
        odd.chunkMaximumShift = 12
        odd.chunkMaximumCountShift = 80
        odd.hz = 0
        let normalized = odd.normalized()
        #expect(normalized.trackingBlockMaximumShift == 16, "raised to the minimum")
        #expect(normalized.chunkMaximumShift == 18, "raised to the minimum")
        #expect(normalized.chunkMaximumCountShift == 64, "clamped on 64-bit")
        #expect(normalized.hz == 250)
        #expect(odd.normalized(for: .val7) == normalized)
    }

    @Test("VAL-6.3.1's load-time adjustments (field spec §1.1): the chunk minimum lowered, then PAGE_SHIFT; the storage minimum in chunks")
    func val6Normalization() {
        #expect(Params().normalized(for: .val6) == Params())
        var odd = Params()
        odd.trackingBlockMaximumShift = 12
        odd.chunkMinimumShift = 27
        odd.chunkMaximumCountShift = 80
        odd.diffStorageMinimum = 100
        let fixed = odd.normalized(for: .val6)
        #expect(fixed.trackingBlockMaximumShift == 16)
        #expect(fixed.chunkMinimumShift == 26 && fixed.chunkMaximumShift == 26, "the minimum lowered, not the maximum raised")
        #expect(fixed.chunkMaximumCountShift == 40)
        #expect(fixed.diffStorageMinimum == 262_144, "two 64 MiB chunks")
        var small = Params()
        small.chunkMinimumShift = 9
        small.diffStorageMinimum = 100
        let page = small.normalized(for: .val6)
        #expect(page.chunkMinimumShift == 12, "raised to PAGE_SHIFT")
        #expect(page.diffStorageMinimum == 96, "a multiple of 8 sectors")
        #expect(SimKernel(params: small, dialect: .val6).params.current.diffStorageMinimum == 96)
        #expect(SimKernel(params: small, dialect: .val7).params.current.diffStorageMinimum == 100)
    }
}
