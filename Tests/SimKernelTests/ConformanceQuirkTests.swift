#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import SimKernel
import SystemPackage
import Testing

@Suite("Conformance §10–§11: documented mismatches and likely simulator mistakes")
struct ConformanceQuirkTests {
    @Test("§11.8 error codes per lookup path: unknown id → ESRCH for take/append/wait/snapshotadd, ENODEV for destroy")
    func lookupErrnos() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 1024)
        let unknown = try #require(SnapshotID(rawValue: (0..<16).map { UInt8($0) }))
        #expect(errnoOf { try sim.control.takeSnapshot(unknown) } == ESRCH)
        #expect(errnoOf { try sim.control.appendStorageUnchecked(unknown, devicePath: sim.storagePath, ranges: []) } == ESRCH)
        #expect(errnoOf { _ = try sim.control.waitEvent(unknown, timeoutTicks: 0) } == ESRCH)
        #expect(errnoOf { try device.addToSnapshot(unknown) } == ESRCH)
        #expect(errnoOf { try sim.control.destroySnapshot(unknown) } == ENODEV)
    }

    @Test("§10.10 the filter is not attached automatically: snapshotadd of an unattached device → ENOENT (not tracked)")
    func noAutoAttach() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 1024, attach: false)
        let id = try sim.control.createSnapshot()
        #expect(errnoOf { try device.addToSnapshot(id) } == ENOENT)
        #expect(sim.kernel.listDevices().first { $0.name == "sda" }?.filter == nil)
    }

    @Test("§10.11 after corruption the image fails EIO for all I/O, including ranges that were readable before")
    func imageEIOAfterCorruption() throws {
        let sim = try ConformanceSim { $0.chunkMaximumInQueue = 0 }
        let device = try sim.addDevice("sda", sectors: 4 * 128)
        let data = DataPattern(seed: 1).bytes(atByte: 0, count: 4 * 65_536)
        #expect(sim.write("/dev/sda", atByte: 0, data) == 0)
        let id = try sim.snapshot([device], storageSectors: 128)
        try sim.control.takeSnapshot(id)
        let image = try sim.imagePath(of: device)
        #expect(sim.write("/dev/sda", atByte: 0, [0]) == 0)  // chunk 0 stored: fills the storage
        #expect(try sim.read(image, atByte: 0, count: 65_536).get() == Array(data[0..<65_536]))
        #expect(try sim.read(image, atByte: 3 * 65_536, count: 512).get() == Array(data[3 * 65_536..<3 * 65_536 + 512]))
        #expect(sim.write("/dev/sda", atByte: 65_536, [0]) == 0)  // overflow
        for offset: UInt64 in [0, 65_536, 3 * 65_536] {
            #expect(errnoOf { _ = try sim.read(image, atByte: offset, count: 512).get() } == EIO, "offset \(offset)")
        }
        // COW stopped for that device: the write passed through.
        #expect(try sim.read("/dev/sda", atByte: 65_536, count: 1).get() == [0])
    }

    @Test("§10.1, §11.4 raw: cbtmap's result is 0 for a non-empty read, and a cbtinfo optlen too small writes nothing")
    func cbtMapResultZero() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 64 * 128)
        let fd = try sim.open("/dev/sda")
        var bytes = [UInt8](repeating: 0xff, count: 64)
        let result = bytes.withUnsafeMutableBytes { buffer in
            var map = blksnap_cbtmap(offset: 0, length: 64, buffer: address(buffer.baseAddress))
            return withUnsafeMutableBytes(of: &map) { sim.rawFilterControl(fd, cmd: 1, optlen: 16, opt: address($0.baseAddress)).result }
        }
        #expect(result == 0)
        #expect(bytes.allSatisfy { $0 == 0 })
    }

    @Test("§11.6 changes_number = previous; a generation change happens only at attach, reset, wraparound — not at take or destroy")
    func generationStability() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 1024)
        let generation = try device.cbtInfo().generationID
        for take in 1...5 {
            let id = try sim.snapshot([device], storageSectors: 128)
            try sim.control.takeSnapshot(id)
            #expect(try device.cbtInfo().changesNumber == UInt8(take))
            try sim.control.destroySnapshot(id)
            #expect(try device.cbtInfo().generationID == generation)
        }
        try device.detach()
        try device.attachUnchecked()
        let fresh = try device.cbtInfo()
        #expect(fresh.generationID != generation)
        #expect(fresh.changesNumber == 0)
    }

    @Test("§11.9 overflow is lazy: storage is consumed only by stores (≤16 queued chunks per device live in RAM)")
    func lazyOverflow() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 32 * 128)
        let id = try sim.snapshot([device], storageSectors: 1)  // cannot hold a single chunk
        try sim.control.takeSnapshot(id)
        for chunk in 0..<16 { #expect(sim.write("/dev/sda", atByte: UInt64(chunk * 65_536), [1]) == 0) }
        #expect(try device.snapshotInfo().errorCode == nil)
        #expect(try sim.read(try sim.imagePath(of: device), atByte: 0, count: 1).get() == [0])
        #expect(sim.write("/dev/sda", atByte: 16 * 65_536, [1]) == 0)
        #expect(try device.snapshotInfo().errorCode == Errno.noSpace)
    }

    @Test("raw: read-only argument (copy-in works, copy-out faults): COLLECT → ENODATA even for an empty list; snapshotinfo, cbtinfo, VERSION → ENODATA; CREATE → ENODATA but created")
    func readOnlyArguments() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 1024)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = try #require(mmap(nil, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        #expect(mapping != MAP_FAILED)
        defer { munmap(mapping, page) }
        mapping.initializeMemory(as: UInt8.self, repeating: 0, count: page)
        #expect(mprotect(mapping, page, PROT_READ) == 0)
        let control = try sim.open(Control.defaultPath)
        #expect(sim.rawIoctl(control, BLKSNAP_REQ_SNAPSHOT_COLLECT, mapping) == -ENODATA)
        #expect(sim.rawIoctl(control, BLKSNAP_REQ_VERSION, mapping) == -ENODATA)
        #expect(sim.rawIoctl(control, BLKSNAP_REQ_SNAPSHOT_CREATE, mapping) == -ENODATA)
        #expect(try sim.control.collectSnapshots().count == 1)
        let disk = try sim.open("/dev/sda")
        #expect(sim.rawFilterControl(disk, cmd: 4, optlen: 36, opt: address(mapping)).result == -ENODATA)
        #expect(sim.rawFilterControl(disk, cmd: 0, optlen: 40, opt: address(mapping)).result == -ENODATA)
        // cbtmap only reads its struct: a read-only struct with a writable buffer works.
        var bytes = [UInt8](repeating: 0xff, count: 4)
        bytes.withUnsafeMutableBytes { buffer in
            #expect(mprotect(mapping, page, PROT_READ | PROT_WRITE) == 0)
            mapping.storeBytes(of: blksnap_cbtmap(offset: 0, length: 4, buffer: address(buffer.baseAddress)), as: blksnap_cbtmap.self)
            #expect(mprotect(mapping, page, PROT_READ) == 0)
            let result = sim.rawFilterControl(disk, cmd: 1, optlen: 16, opt: address(mapping)).result
            #expect(result == 0)
        }
        #expect(bytes == [0, 0, 0, 0])
    }
}
