#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
@testable import SimKernel
import Testing

/// §1.4: the BLKFILTER_CTL sub-commands, paths that need no snapshot.
@Suite("§1.4 BLKFILTER_CTL sub-commands")
struct TrackerCtlTests {
    /// A tracked 8 MiB device (128 CBT blocks of 64 KiB).
    func tracked() -> (Sim, Int32) {
        let sim = Sim()
        let fd = sim.device("sda", sectors: 16_384)
        #expect(sim.attach(fd) == 0)
        return (sim, fd)
    }

    @Test("optlen is never written back, on success or error", arguments: [UInt32(0), 1, 2, 3, 4])
    func optlenNeverWrittenBack(cmd: UInt32) {
        let (sim, fd) = tracked()
        let opt = sim.user.zeros(64)
        for optlen: UInt32 in [0, 64, 0xffff_ffff] {
            let ctl = sim.ctlStruct(cmd: cmd, opt: opt, optlen: optlen)
            let address = sim.user.alloc(ctl)
            _ = sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, address)
            #expect(sim.user.bytes(at: address, count: 48) == bytes(of: ctl))
        }
    }

    @Test("optlen below the struct size → EINVAL with nothing written",
          arguments: [(UInt32(0), UInt32(40)), (1, 16), (2, 16), (3, 16), (4, 36)])
    func optlenTooSmall(cmd: UInt32, size: UInt32) {
        let (sim, fd) = tracked()
        let opt = sim.user.alloc([UInt8](repeating: 0xEE, count: 64))
        #expect(sim.ctl(fd, cmd: cmd, opt: opt, optlen: size - 1) == -EINVAL)
        #expect(sim.ctl(fd, cmd: cmd, opt: opt, optlen: 0) == -EINVAL)
        #expect(sim.user.bytes(at: opt, count: 64).allSatisfy { $0 == 0xEE })
    }

    @Test("cbtinfo: capacity bytes, block size/count, generation, changes_number 0, zero padding")
    func cbtinfo() {
        let (sim, fd) = tracked()
        let opt = sim.user.alloc([UInt8](repeating: 0xEE, count: 40))
        #expect(sim.ctl(fd, cmd: 0, opt: opt, optlen: 40) == 0)
        let info = sim.user.load(blksnap_cbtinfo.self, at: opt)
        #expect(info.device_capacity == 16_384 * 512)
        #expect(info.block_size == 65_536 && info.block_count == 128)
        #expect(info.changes_number == 0)
        let generation = bytes(of: info.generation_id)
        #expect(generation[6] >> 4 == 4 && generation[8] >> 6 == 2)  // random v4 UUID
        #expect(sim.user.bytes(at: opt + 33, count: 7) == [0, 0, 0, 0, 0, 0, 0])
        #expect(sim.ctl(fd, cmd: 0, opt: UserSpace.unmapped, optlen: 40) == -ENODATA)
        #expect(sim.ctl(fd, cmd: 0, opt: sim.user.zeros(40, writable: false), optlen: 40) == -ENODATA)
    }

    @Test("cbtmap: returns 0 (not a count), honours offset, length 0 ok, range and fault codes")
    func cbtmap() {
        let (sim, fd) = tracked()
        let buffer = sim.user.alloc([UInt8](repeating: 0xEE, count: 200))
        func map(offset: UInt32, length: UInt32, buffer: UInt64) -> Int32 {
            sim.ctl(fd, cmd: 1, opt: sim.user.alloc(blksnap_cbtmap(offset: offset, length: length, buffer: buffer)),
                    optlen: 16)
        }
        #expect(map(offset: 0, length: 128, buffer: buffer) == 0)
        #expect(sim.user.bytes(at: buffer, count: 128).allSatisfy { $0 == 0 })
        #expect(sim.user.bytes(at: buffer + 128, count: 72).allSatisfy { $0 == 0xEE })
        #expect(map(offset: 128, length: 0, buffer: UserSpace.unmapped) == 0)
        #expect(map(offset: 0, length: 0, buffer: 0) == 0)
        #expect(map(offset: 100, length: 29, buffer: buffer) == -ENODATA)
        #expect(map(offset: 0, length: 129, buffer: buffer) == -ENODATA)
        // offset > block_count wraps the v5 check; the simulator refuses it.
        #expect(map(offset: 129, length: 0, buffer: buffer) == -ENODATA)
        #expect(map(offset: 0xffff_ffff, length: 1, buffer: buffer) == -ENODATA)
        #expect(map(offset: 0, length: 1, buffer: UserSpace.unmapped) == -EINVAL)
        #expect(sim.ctl(fd, cmd: 1, opt: UserSpace.unmapped, optlen: 16) == -ENODATA)
    }

    @Test("cbtdirty applies only dirty_sectors[0], count times; write map gets active, read map previous")
    func cbtdirtyFirstRangeOnly() throws {
        let (sim, fd) = tracked()
        // Range 0: block 1; range 1: block 5 — never applied.
        #expect(sim.cbtDirty(fd, [(128, 1), (5 * 128, 1)]) == 0)
        let tracker = try #require(sim.kernel.blockLayer.disk(named: "sda")?.filter)
        let write = tracker.cbt.writeMapSnapshot()
        #expect(write[1] == 1 && write[5] == 0)
        // previous is 0 before any take: the read map stays 0.
        #expect(sim.cbtMap(fd).allSatisfy { $0 == 0 })
        #expect(sim.cbtDirty(fd, [(10 * 128, 1)], count: 0) == 0)
        #expect(tracker.cbt.writeMapSnapshot()[10] == 0)
    }

    @Test("cbtdirty faults → ENODATA (struct, and the range array even with earlier success)")
    func cbtdirtyFaults() {
        let (sim, fd) = tracked()
        #expect(sim.ctl(fd, cmd: 2, opt: UserSpace.unmapped, optlen: 16) == -ENODATA)
        var request = blksnap_cbtdirty()
        request.count = 1
        request.dirty_sectors = UserSpace.unmapped
        #expect(sim.ctl(fd, cmd: 2, opt: sim.user.alloc(request), optlen: 16) == -ENODATA)
        request.count = 0
        #expect(sim.ctl(fd, cmd: 2, opt: sim.user.alloc(request), optlen: 16) == 0)
    }

    @Test("cbtdirty zero-length cases (§3.4): offset 0 → EINVAL after marking all; aligned → nothing; unaligned → one block")
    func cbtdirtyZeroLength() throws {
        let (sim, fd) = tracked()
        let tracker = try #require(sim.kernel.blockLayer.disk(named: "sda")?.filter)
        #expect(sim.cbtDirty(fd, [(128, 0)]) == 0)
        #expect(tracker.cbt.writeMapSnapshot().allSatisfy { $0 == 0 })
        #expect(sim.cbtDirty(fd, [(130, 0)]) == 0)
        #expect(tracker.cbt.writeMapSnapshot().enumerated().allSatisfy { $0.element == ($0.offset == 1 ? 1 : 0) })
        #expect(sim.cbtDirty(fd, [(0, 0)]) == -EINVAL)
        #expect(tracker.cbt.writeMapSnapshot().allSatisfy { $0 == 1 })
        #expect(!tracker.cbt.isCorrupted)
    }

    @Test("cbtdirty out of range → EINVAL, earlier blocks marked, not corrupted")
    func cbtdirtyOutOfRange() throws {
        let (sim, fd) = tracked()
        let tracker = try #require(sim.kernel.blockLayer.disk(named: "sda")?.filter)
        #expect(sim.cbtDirty(fd, [(126 * 128, 4 * 128)]) == -EINVAL)
        let write = tracker.cbt.writeMapSnapshot()
        #expect(write[126] == 1 && write[127] == 1)
        #expect(!tracker.cbt.isCorrupted)
        #expect(sim.cbtMap(fd).count == 128)
    }

    @Test("snapshotadd: copy fault → ENODATA, unknown id → ESRCH")
    func snapshotaddNoSnapshot() {
        let (sim, fd) = tracked()
        #expect(sim.ctl(fd, cmd: 3, opt: UserSpace.unmapped, optlen: 16) == -ENODATA)
        #expect(sim.add(fd, to: SimUUID(bytes: [UInt8](repeating: 1, count: 16))) == -ESRCH)
    }

    @Test("snapshotinfo without a snapshot: error_code 0, image bytes echoed; faults → ENODATA")
    func snapshotinfoEcho() {
        let (sim, fd) = tracked()
        let (result, info) = sim.snapshotInfo(fd, fill: 0x41)
        #expect(result == 0 && info.error_code == 0)
        #expect(bytes(of: info.image).allSatisfy { $0 == 0x41 })
        let (zeroResult, zeroed) = sim.snapshotInfo(fd, fill: 0)
        #expect(zeroResult == 0 && bytes(of: zeroed.image).allSatisfy { $0 == 0 })
        #expect(sim.ctl(fd, cmd: 4, opt: UserSpace.unmapped, optlen: 36) == -ENODATA)
        #expect(sim.ctl(fd, cmd: 4, opt: sim.user.zeros(36, writable: false), optlen: 36) == -ENODATA)
    }

    @Test("The ctl mutex serializes concurrent sub-commands safely")
    func concurrentCtl() async {
        let (sim, fd) = tracked()
        let kernel = sim.kernel
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let user = UserSpace()
                    for i in 0..<200 {
                        let range = user.alloc(bytes(of: blksnap_sectors(offset: UInt64((worker * 200 + i) % 128) * 128, count: 1)))
                        var request = blksnap_cbtdirty()
                        request.count = 1
                        request.dirty_sectors = range
                        let opt = user.alloc(request)
                        var ctl = blkfilter_ctl()
                        withUnsafeMutableBytes(of: &ctl.name) { $0.copyBytes(from: filterName()) }
                        ctl.cmd = 2
                        ctl.optlen = 16
                        ctl.opt = opt
                        #expect(kernel.ioctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, user.alloc(ctl), memory: user.memory) == 0)
                        _ = [UInt8](repeating: UInt8(i & 0xff), count: 512).withUnsafeBytes {
                            kernel.pwrite(fd, from: $0, at: UInt64(i % 16_384) * 512)
                        }
                    }
                }
            }
        }
        #expect(sim.kernel.cbtState(device: "sda")?.isCorrupted == false)
        #expect(sim.kernel.blockLayer.disk(named: "sda")?.filter?.cbt.writeMapSnapshot().allSatisfy { $0 == 1 } == true)
    }
}
