#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
@testable import SimKernel
import Testing

/// §1.2: the control ioctls on live snapshots (CREATE, DESTROY, APPEND_STORAGE, TAKE, COLLECT).
@Suite("§1.2 control ioctls on snapshots")
struct SnapshotControlTests {
    @Test("CREATE: random v4 id, listed, creation event queued with diff_storage_minimum")
    func create() throws {
        let sim = Sim()
        let id = sim.create()
        #expect(id.bytes[6] >> 4 == 4 && id.bytes[8] >> 6 == 2)
        #expect(sim.kernel.snapshotIDs == [id])
        #expect(sim.kernel.pendingEventCount(snapshot: id) == 1)
        let counters = try #require(sim.kernel.storageCounters(snapshot: id))
        #expect(counters == SimStorageCounters(capacitySectors: 0, filledSectors: 0, requestedSectors: 8192))
        #expect(sim.create() != id)
        // Direction and type bits are ignored: nr 1 with no bits creates too.
        let out = sim.user.zeros(16)
        #expect(sim.ioctl(sim.control, 1, out) == 0)
        #expect(sim.kernel.snapshotIDs.count == 3)
    }

    @Test("CREATE copy-out fault → ENODATA, but the snapshot exists and can be destroyed")
    func createFault() throws {
        let sim = Sim()
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_CREATE, UserSpace.unmapped) == -ENODATA)
        let readOnly = sim.user.zeros(16, writable: false)
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_CREATE, readOnly) == -ENODATA)
        let ids = sim.kernel.snapshotIDs
        #expect(ids.count == 2)
        let (result, count, array) = sim.collect(count: 2, capacity: 2)
        #expect(result == 0 && count == 2)
        #expect(Array(array[0..<16]) == ids[0].bytes && Array(array[16..<32]) == ids[1].bytes)
        #expect(sim.destroy(ids[0]) == 0 && sim.destroy(ids[1]) == 0)
        #expect(sim.kernel.snapshotIDs.isEmpty)
    }

    @Test("DESTROY: 0 then ENODEV; destroyed snapshots are not listed")
    func destroyTwice() {
        let sim = Sim()
        let a = sim.create(), b = sim.create()
        #expect(sim.destroy(a) == 0)
        #expect(sim.destroy(a) == -ENODEV)
        #expect(sim.kernel.snapshotIDs == [b])
        #expect(sim.take(a) == -ESRCH)
        #expect(sim.append(a, path: "/dev/blksnap-control", ranges: []) == -ESRCH)
        #expect(sim.waitEvent(a, timeout: 0).0 == -ESRCH)
    }

    @Test("COLLECT: ids 0 → count; big array → all in creation order; small → partial fill + ENODATA")
    func collect() {
        let sim = Sim()
        let ids = (0..<3).map { _ in sim.create() }
        let (r0, c0, _) = sim.collect(count: 0, capacity: 0)
        #expect(r0 == 0 && c0 == 3)
        let (r1, c1, a1) = sim.collect(count: 5, capacity: 5)
        #expect(r1 == 0 && c1 == 3)
        #expect(Array(a1[0..<48]) == ids.flatMap(\.bytes) && a1[48...].allSatisfy { $0 == 0 })
        let (r2, c2, a2) = sim.collect(count: 2, capacity: 3)
        #expect(r2 == -ENODATA && c2 == 2)
        #expect(Array(a2[0..<32]) == ids[0..<2].flatMap(\.bytes) && a2[32...].allSatisfy { $0 == 0 })
        let (r3, c3, _) = sim.collect(count: 0, capacity: 1)
        #expect(r3 == -ENODATA && c3 == 0)
    }

    @Test("COLLECT: a fault writing an id stops the walk with result 0 and count = ids written")
    func collectFaultReturnsZero() {
        let sim = Sim()
        let ids = (0..<3).map { _ in sim.create() }
        let array = sim.user.zeros(20)  // room for one id only
        var request = blksnap_snapshot_collect()
        request.count = 3
        request.ids = array
        let address = sim.user.alloc(request)
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_COLLECT, address) == 0)
        #expect(sim.user.load(blksnap_snapshot_collect.self, at: address).count == 1)
        #expect(sim.user.bytes(at: array, count: 16) == ids[0].bytes)
        // Copy-back fault after a partial fill → ENODATA.
        let readOnly = sim.user.alloc(blksnap_snapshot_collect(), writable: false)
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_COLLECT, readOnly) == -ENODATA)
    }

    @Test("APPEND_STORAGE: ENOENT unknown path, ENOTBLK control device, ESRCH before opening")
    func appendPaths() throws {
        let sim = Sim()
        let id = sim.create()
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        #expect(sim.append(id, path: "/dev/missing", ranges: [(0, 8)]) == -ENOENT)
        #expect(sim.append(id, path: "/dev/blksnap-control", ranges: [(0, 8)]) == -ENOTBLK)
        #expect(sim.append(SimUUID(bytes: [UInt8](repeating: 9, count: 16)), path: "/dev/missing", ranges: []) == -ESRCH)
        #expect(sim.kernel.storageCounters(snapshot: id)?.capacitySectors == 0)
        // Nothing validated: zero-length and past-the-end ranges count as given.
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 0), (1 << 40, 16), (8, 8)]) == 0)
        #expect(sim.append(id, path: "/dev/store", ranges: []) == 0)
        #expect(sim.kernel.storageCounters(snapshot: id)?.capacitySectors == 24)
    }

    @Test("APPEND_STORAGE: a range-copy fault → EINVAL, earlier ranges kept")
    func appendPartialRanges() throws {
        let sim = Sim()
        let id = sim.create()
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        let path = Array("/dev/store".utf8) + [0]
        // Two full ranges then 8 bytes of a third: the third copy faults.
        let ranges = sim.user.alloc(bytes(of: blksnap_sectors(offset: 0, count: 100))
                                    + bytes(of: blksnap_sectors(offset: 100, count: 200)) + [UInt8](repeating: 0, count: 8))
        var request = blksnap_snapshot_append_storage()
        withUnsafeMutableBytes(of: &request.id.b) { $0.copyBytes(from: id.bytes) }
        request.bdev_path = sim.user.alloc(path)
        request.bdev_path_size = UInt32(path.count)
        request.count = 5
        request.ranges = ranges
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, sim.user.alloc(request)) == -EINVAL)
        #expect(sim.kernel.storageCounters(snapshot: id)?.capacitySectors == 300)
    }

    @Test("TAKE: ENODEV without devices, EFAULT without storage (retry possible), then EALREADY")
    func takeErrors() throws {
        let sim = Sim()
        let id = sim.create()
        #expect(sim.take(id) == -ENODEV)
        let fd = sim.device("sda")
        #expect(sim.attach(fd) == 0)
        #expect(sim.add(fd, to: id) == 0)
        #expect(sim.take(id) == -EFAULT)
        #expect(sim.kernel.isTaken(snapshot: id) == false)
        #expect(sim.kernel.listDevices().allSatisfy { !$0.isImage })
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == 0)
        #expect(sim.take(id) == -EALREADY)
        #expect(sim.cbtInfo(fd).changes_number == 1)
    }

    @Test("TAKE of a member whose device was removed → ENXIO (opening by dev_t fails)")
    func takeRemovedMember() throws {
        let sim = Sim()
        let id = sim.create()
        let fd = sim.device("sda")
        #expect(sim.attach(fd) == 0)
        #expect(sim.add(fd, to: id) == 0)
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        try sim.kernel.removeDevice(name: "sda")
        #expect(sim.take(id) == -ENXIO)
        #expect(sim.kernel.isTaken(snapshot: id) == false)
    }

    @Test("TAKE fails EFAULT when the chunk would exceed chunk_maximum_shift (io_min too large)")
    func takeChunkTooLarge() throws {
        var params = smallParams()
        params.chunkMaximumShift = 16
        let sim = Sim(params: params)
        _ = try sim.kernel.addDevice(name: "sda", capacitySectors: 16_384, ioMin: 131_072)
        let fd = sim.kernel.open("/dev/sda", flags: O_RDWR)
        let id = sim.create()
        #expect(sim.attach(fd) == 0 && sim.add(fd, to: id) == 0)
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == -EFAULT)
        #expect(sim.cbtInfo(fd).changes_number == 0)
    }
}
