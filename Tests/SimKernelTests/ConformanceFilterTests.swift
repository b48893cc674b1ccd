#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import CBlksnapUAPI
import SimKernel
import SystemPackage
import Testing

@Suite("Conformance §1.3: block-device filter ioctls")
struct ConformanceFilterTests {
    @Test("ATTACH: ok, again → EALREADY; DETACH: ok, again → ENOENT; ctl on untracked → ENOENT")
    func attachDetach() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4096, attach: false)
        #expect(errnoOf { _ = try device.cbtInfo() } == ENOENT)
        try device.attachUnchecked()
        #expect(sim.kernel.listDevices().first { $0.name == "sda" }?.filter == "blksnap")
        #expect(errnoOf { try device.attachUnchecked() } == EALREADY)
        try device.detach()
        #expect(sim.kernel.listDevices().first { $0.name == "sda" }?.filter == nil)
        #expect(errnoOf { try device.detach() } == ENOENT)
        #expect(errnoOf { _ = try device.cbtInfo() } == ENOENT)
        #expect(errnoOf { _ = try device.snapshotInfo() } == ENOENT)
    }

    @Test("ATTACH of a 0-sector device → ENOMEM")
    func attachZeroSectors() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("empty", sectors: 0, attach: false)
        #expect(errnoOf { try device.attachUnchecked() } == ENOMEM)
    }

    /// A raw ATTACH/DETACH with these 32 name bytes.
    private func rawName(_ sim: ConformanceSim, _ fd: CInt, _ request: UInt, _ bytes: [UInt8]) -> Int32 {
        var name = blkfilter_name()
        withUnsafeMutableBytes(of: &name) { raw in
            for (index, byte) in bytes.prefix(32).enumerated() { raw[index] = byte }
        }
        return sim.rawIoctl(fd, request, on: &name)
    }

    @Test("raw: filter names are strncmp over 32 bytes: unknown → ENOENT (attach) / EINVAL (detach); bytes after the NUL ignored")
    func rawNames() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 4096, attach: false)
        let fd = try sim.open("/dev/sda")
        #expect(rawName(sim, fd, BLKSNAP_REQ_BLKFILTER_ATTACH, Array("blksnapX".utf8)) == -ENOENT)
        #expect(rawName(sim, fd, BLKSNAP_REQ_BLKFILTER_ATTACH, Array("blk".utf8)) == -ENOENT)
        #expect(rawName(sim, fd, BLKSNAP_REQ_BLKFILTER_DETACH, Array("blksnap".utf8)) == -ENOENT)
        let padded = Array("blksnap".utf8) + [0] + [UInt8](repeating: 0x5a, count: 24)
        #expect(rawName(sim, fd, BLKSNAP_REQ_BLKFILTER_ATTACH, padded) == 0)
        #expect(rawName(sim, fd, BLKSNAP_REQ_BLKFILTER_DETACH, Array("other".utf8)) == -EINVAL)
        #expect(rawName(sim, fd, BLKSNAP_REQ_BLKFILTER_DETACH, padded) == 0)
    }

    @Test("raw: copy faults: ATTACH/DETACH/CTL argument → EFAULT")
    func rawFaults() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 4096)
        let fd = try sim.open("/dev/sda")
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_BLKFILTER_ATTACH, faultPointer) == -EFAULT)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, faultPointer) == -EFAULT)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_BLKFILTER_DETACH, faultPointer) == -EFAULT)
    }

    @Test("raw: CTL with another filter name → ENOENT (device not tracked by that filter)")
    func ctlOtherName() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 4096)
        let fd = try sim.open("/dev/sda")
        var info = blksnap_cbtinfo()
        let result = withUnsafeMutableBytes(of: &info) {
            sim.rawFilterControl(fd, cmd: 0, optlen: 40, opt: address($0.baseAddress), name: "dm-snap").result
        }
        #expect(result == -ENOENT)
    }

    @Test("CTL on a removed (dying) disk → ENODEV; ATTACH/DETACH paths of the removal: the filter is gone")
    func removedDisk() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4096)
        try sim.kernel.removeDevice(name: "sda")
        #expect(errnoOf { _ = try device.cbtInfo() } == ENODEV)
        #expect(sim.kernel.listDevices().contains { $0.name == "sda" } == false)
    }

    @Test("raw: block-device ioctls match the whole request number (other direction/size bits → ENOTTY); control requests on a disk → ENOTTY")
    func wholeNumberMatch() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 4096, attach: false)
        let fd = try sim.open("/dev/sda")
        var name = blkfilter_name()
        withUnsafeMutableBytes(of: &name) { raw in for (i, b) in "blksnap".utf8.enumerated() { raw[i] = b } }
        #expect(sim.rawIoctl(fd, 0x4020_128c, on: &name) == -ENOTTY)
        #expect(sim.rawIoctl(fd, 0x0000_128c, on: &name) == -ENOTTY)
        var version = blksnap_version()
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_VERSION, on: &version) == -ENOTTY)
        #expect(sim.kernel.listDevices().first { $0.name == "sda" }?.filter == nil)
        // And BLKFILTER_ATTACH on the control device is nr 140 there: ENOTTY.
        let control = try sim.open(Control.defaultPath)
        #expect(sim.rawIoctl(control, BLKSNAP_REQ_BLKFILTER_ATTACH, on: &name) == -ENOTTY)
    }

    @Test("raw: CTL never writes optlen back (§1.3, §10.9)")
    func optlenNotWrittenBack() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 4096)
        let fd = try sim.open("/dev/sda")
        for (cmd, size) in [(UInt32(0), 40), (1, 16), (4, 36)] {
            var option = [UInt8](repeating: 0, count: 64)
            var map = [UInt8](repeating: 0, count: 8)
            let outcome = map.withUnsafeMutableBytes { mapBytes in
                option.withUnsafeMutableBytes { bytes -> (Int32, blkfilter_ctl) in
                    if cmd == 1 {
                        bytes.storeBytes(of: blksnap_cbtmap(offset: 0, length: 8, buffer: address(mapBytes.baseAddress)),
                                         as: blksnap_cbtmap.self)
                    }
                    return sim.rawFilterControl(fd, cmd: cmd, optlen: 1000, opt: address(bytes.baseAddress))
                }
            }
            #expect(outcome.0 == 0, "cmd \(cmd)")
            #expect(outcome.1.optlen == 1000, "cmd \(cmd) (size \(size))")
            #expect(outcome.1.cmd == cmd)
        }
    }
}

@Suite("Conformance §1.4: BLKFILTER_CTL sub-commands")
struct ConformanceCtlCommandTests {
    @Test("raw: cmd 5 → ENOTTY (simulator divergence: v5 indexes past its table), cmd > 5 → ENOTTY")
    func unknownCommands() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 4096)
        let fd = try sim.open("/dev/sda")
        var buffer = [UInt8](repeating: 0, count: 64)
        for cmd: UInt32 in [5, 6, 100, .max] {
            let result = buffer.withUnsafeMutableBytes {
                sim.rawFilterControl(fd, cmd: cmd, optlen: 64, opt: address($0.baseAddress)).result
            }
            #expect(result == -ENOTTY, "cmd \(cmd)")
        }
    }

    @Test("raw: optlen below each command's struct size → EINVAL with nothing written")
    func optlenTooSmall() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4096)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        let fd = try sim.open("/dev/sda")
        for (cmd, size) in [(UInt32(0), UInt32(40)), (1, 16), (2, 16), (3, 16), (4, 36)] {
            var option = [UInt8](repeating: 0xab, count: 64)
            let result = option.withUnsafeMutableBytes {
                sim.rawFilterControl(fd, cmd: cmd, optlen: size - 1, opt: address($0.baseAddress)).result
            }
            #expect(result == -EINVAL, "cmd \(cmd)")
            #expect(option.allSatisfy { $0 == 0xab }, "cmd \(cmd) wrote to opt")
        }
    }

    @Test("raw: faulting opt: cbtinfo/cbtmap/cbtdirty/snapshotadd/snapshotinfo → ENODATA")
    func optFaults() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 4096)
        let fd = try sim.open("/dev/sda")
        for cmd: UInt32 in 0...4 {
            #expect(sim.rawFilterControl(fd, cmd: cmd, optlen: 64, opt: faultAddress).result == -ENODATA, "cmd \(cmd)")
        }
    }

    @Test("cbtinfo: capacity bytes, 64 KiB blocks, block count rounded up, changes 0, padding zero")
    func cbtInfo() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4096 + 7)
        let info = try device.cbtInfo()
        #expect(info.capacityBytes == (4096 + 7) * 512)
        #expect(info.blockSizeBytes == 65_536)
        #expect(info.blockCount == 33)  // 32 full 64 KiB blocks + a partial one
        #expect(info.changesNumber == 0)
        // Raw: the 7 padding bytes are zero in the simulator (§12 fact 7).
        let fd = try sim.open("/dev/sda")
        var raw = [UInt8](repeating: 0xcc, count: 40)
        let result = raw.withUnsafeMutableBytes { sim.rawFilterControl(fd, cmd: 0, optlen: 40, opt: address($0.baseAddress)).result }
        #expect(result == 0)
        #expect(raw[33..<40].allSatisfy { $0 == 0 })
    }

    @Test("cbtmap: returns 0 (not a byte count); length 0 ok; past the end → ENODATA; offset > count → ENODATA (simulator divergence)")
    func cbtMapRanges() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 16 * 128)
        #expect(try device.cbtMap(offset: 0, length: 16) == [UInt8](repeating: 0, count: 16))
        #expect(try device.cbtMap(offset: 16, length: 0) == [])
        #expect(try device.cbtMap(offset: 3, length: 0) == [])
        #expect(errnoOf { _ = try device.cbtMap(offset: 0, length: 17) } == ENODATA)
        #expect(errnoOf { _ = try device.cbtMap(offset: 10, length: 7) } == ENODATA)
        #expect(errnoOf { _ = try device.cbtMap(offset: 17, length: 0) } == ENODATA)
        #expect(errnoOf { _ = try device.cbtMap(offset: .max, length: 2) } == ENODATA)
        // Raw: the ioctl's result is 0 for a 16-byte read, and a faulting buffer → EINVAL.
        let fd = try sim.open("/dev/sda")
        var bytes = [UInt8](repeating: 0xff, count: 16)
        let result = bytes.withUnsafeMutableBytes { buffer in
            var map = blksnap_cbtmap(offset: 0, length: 16, buffer: address(buffer.baseAddress))
            return withUnsafeMutableBytes(of: &map) { sim.rawFilterControl(fd, cmd: 1, optlen: 16, opt: address($0.baseAddress)).result }
        }
        #expect(result == 0)
        #expect(bytes == [UInt8](repeating: 0, count: 16))
        var faulting = blksnap_cbtmap(offset: 0, length: 4, buffer: faultAddress)
        let fault = withUnsafeMutableBytes(of: &faulting) { sim.rawFilterControl(fd, cmd: 1, optlen: 16, opt: address($0.baseAddress)).result }
        #expect(fault == -EINVAL)
    }

    /// Raw cbtdirty with `count` and the given array of ranges.
    private func rawDirty(_ sim: ConformanceSim, _ fd: CInt, count: UInt32, ranges: [blksnap_sectors]?) -> Int32 {
        var array = ranges ?? []
        return array.withUnsafeMutableBytes { rangeBytes in
            var dirty = blksnap_cbtdirty(count: count, dirty_sectors: ranges == nil ? faultAddress : address(rangeBytes.baseAddress))
            return withUnsafeMutableBytes(of: &dirty) { sim.rawFilterControl(fd, cmd: 2, optlen: 16, opt: address($0.baseAddress)).result }
        }
    }

    @Test("raw: cbtdirty applies only dirty_sectors[0], count times (§1.4 BUG, §11.5); count 0 → no effect")
    func cbtDirtyFirstRangeOnly() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 16 * 128)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)  // previous 1, active 2
        let fd = try sim.open("/dev/sda")
        let ranges = [blksnap_sectors(offset: 128, count: 128), blksnap_sectors(offset: 1024, count: 256)]
        #expect(rawDirty(sim, fd, count: 2, ranges: ranges) == 0)
        #expect(rawDirty(sim, fd, count: 0, ranges: [blksnap_sectors(offset: 1536, count: 128)]) == 0)
        var expected = [UInt8](repeating: 0, count: 16)
        expected[1] = 1  // read map gets `previous`
        #expect(try device.readWholeCBTMap() == expected)
        // Write map got `active` (2): visible in the read map after the next take.
        try sim.control.destroySnapshot(id)
        try sim.control.takeSnapshot(try sim.snapshot([device]))
        expected[1] = 2
        #expect(try device.readWholeCBTMap() == expected)
        #expect(rawDirty(sim, fd, count: 1, ranges: nil) == -ENODATA)
    }

    @Test("cbtdirty through BlksnapKit marks every range (one request per range): read map gets previous, write map active")
    func markDirtyTyped() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 16 * 128)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        try device.markDirty([SectorRange(offsetSectors: 0, countSectors: 1),
                              SectorRange(offsetSectors: 5 * 128 - 1, countSectors: 2)])
        var expected = [UInt8](repeating: 0, count: 16)
        expected[0] = 1; expected[4] = 1; expected[5] = 1
        #expect(try device.readWholeCBTMap() == expected)
        #expect(errnoOf { try device.markDirty([SectorRange(offsetSectors: 16 * 128, countSectors: 1)]) } == EINVAL)
        #expect(errnoOf { try device.markDirty([SectorRange(offsetSectors: 15 * 128, countSectors: 129)]) } == EINVAL)
        // The out-of-range mark did not touch the read map but marked block 15 of the write map.
        #expect(try device.readWholeCBTMap() == expected)
        try sim.control.destroySnapshot(id)
        try sim.control.takeSnapshot(try sim.snapshot([device]))
        expected = [UInt8](repeating: 0, count: 16)
        expected[0] = 2; expected[4] = 2; expected[5] = 2; expected[15] = 2
        #expect(try device.readWholeCBTMap() == expected)
    }

    @Test("raw: cbtdirty zero-length quirk (§3.4): offset 0 marks the whole write map then EINVAL; aligned → nothing; unaligned → one block")
    func cbtDirtyZeroLength() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 8 * 128)
        let fd = try sim.open("/dev/sda")
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)  // previous 1, active 2
        #expect(rawDirty(sim, fd, count: 1, ranges: [blksnap_sectors(offset: 256, count: 0)]) == 0)
        #expect(rawDirty(sim, fd, count: 1, ranges: [blksnap_sectors(offset: 3 * 128 + 5, count: 0)]) == 0)
        var expected = [UInt8](repeating: 0, count: 8)
        expected[3] = 1
        #expect(try device.readWholeCBTMap() == expected)
        #expect(rawDirty(sim, fd, count: 1, ranges: [blksnap_sectors(offset: 0, count: 0)]) == -EINVAL)
        #expect(try device.readWholeCBTMap() == expected, "read map untouched by the failed mark")
        try sim.control.destroySnapshot(id)
        try sim.control.takeSnapshot(try sim.snapshot([device]))
        #expect(try device.readWholeCBTMap() == [UInt8](repeating: 2, count: 8))
    }

    @Test("snapshotadd: unknown → ESRCH; twice → EALREADY; in another snapshot → EBUSY")
    func snapshotAdd() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4096)
        let never = try #require(SnapshotID(rawValue: [UInt8](repeating: 4, count: 16)))
        #expect(errnoOf { try device.addToSnapshot(never) } == ESRCH)
        let a = try sim.control.createSnapshot()
        let b = try sim.control.createSnapshot()
        try device.addToSnapshot(a)
        #expect(errnoOf { try device.addToSnapshot(a) } == EALREADY)
        #expect(errnoOf { try device.addToSnapshot(b) } == EBUSY)
        try sim.control.destroySnapshot(a)
        try device.addToSnapshot(b)
    }

    @Test("snapshotinfo: no snapshot → 0 and no image; after take → image name, error 0")
    func snapshotInfo() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4096)
        #expect(try device.snapshotInfo() == SnapshotInfo(errorCode: nil, imageName: nil))
        let id = try sim.snapshot([device])
        #expect(try device.snapshotInfo() == SnapshotInfo(errorCode: nil, imageName: nil))
        try sim.control.takeSnapshot(id)
        let number = try device.deviceNumber()
        #expect(try device.snapshotInfo() == SnapshotInfo(errorCode: nil, imageName: "blksnap-image_\(number.major):\(number.minor)"))
        let image = try BlockDevice(path: try sim.imagePath(of: device), kernel: sim.backend)
        #expect(try image.capacityBytes() == 4096 * 512)
    }

    @Test("raw: snapshotinfo echoes the caller's image bytes when there is no image (§10.3); error_code is overwritten")
    func snapshotInfoEcho() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 4096)
        let fd = try sim.open("/dev/sda")
        var info = blksnap_snapshotinfo()
        info.error_code = -77
        withUnsafeMutableBytes(of: &info.image) { raw in
            for (index, byte) in "stale-name".utf8.enumerated() { raw[index] = byte }
        }
        let result = withUnsafeMutableBytes(of: &info) { sim.rawFilterControl(fd, cmd: 4, optlen: 36, opt: address($0.baseAddress)).result }
        #expect(result == 0)
        #expect(info.error_code == 0)
        let name = withUnsafeBytes(of: &info.image) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #expect(name == "stale-name")
    }
}
