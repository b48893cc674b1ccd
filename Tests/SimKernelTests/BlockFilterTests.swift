#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
@testable import SimKernel
import Testing

/// §1.3: BLKFILTER_ATTACH/DETACH/CTL and the standard block ioctls.
@Suite("§1.3 block device ioctls")
struct BlockFilterTests {
    @Test("Size ioctls: BLKGETSIZE64 u64 bytes, BLKSSZGET int, BLKPBSZGET uint, BLKIOMIN uint")
    func sizeIoctls() throws {
        let sim = Sim()
        _ = try sim.kernel.addDevice(name: "vdb", capacitySectors: 123_456, logicalBlockSize: 4096,
                                     physicalBlockSize: 4096, ioMin: 65_536)
        let fd = sim.kernel.open("/dev/vdb", flags: O_RDONLY)
        let size = sim.user.zeros(8)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKGETSIZE64, size) == 0)
        #expect(sim.user.load(UInt64.self, at: size) == 123_456 * 512)
        let ints = sim.user.zeros(12)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKSSZGET, ints) == 0)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKPBSZGET, ints + 4) == 0)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKIOMIN, ints + 8) == 0)
        #expect(sim.user.load(Int32.self, at: ints) == 4096)
        #expect(sim.user.load(UInt32.self, at: ints + 4) == 4096)
        #expect(sim.user.load(UInt32.self, at: ints + 8) == 65_536)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKGETSIZE64, UserSpace.unmapped) == -EFAULT)
    }

    @Test("Unknown block requests → ENOTTY (including blksnap control numbers and filter nr 143)")
    func unknownRequests() {
        let sim = Sim()
        let fd = sim.device("sda")
        let arg = sim.user.zeros(4096)
        for request in [BLKSNAP_REQ_VERSION, BLKSNAP_REQ_SNAPSHOT_CREATE, UInt(0xc030_128f), UInt(0x1260)] {
            #expect(sim.ioctl(fd, request, arg) == -ENOTTY)
        }
    }

    @Test("ATTACH: EFAULT, ENOENT for another name, 0, then EALREADY; sysfs-like filter name shows")
    func attach() {
        let sim = Sim()
        let fd = sim.device("sda")
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_ATTACH, UserSpace.unmapped) == -EFAULT)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_ATTACH, sim.user.alloc(filterName("blksnapx"))) == -ENOENT)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_ATTACH, sim.user.alloc(filterName("blksna"))) == -ENOENT)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_ATTACH, sim.user.alloc(filterName("dm-snap"))) == -ENOENT)
        #expect(sim.kernel.listDevices().first?.filter == nil)
        // Bytes after the NUL are ignored by strncmp.
        var name = filterName()
        for i in 8..<32 { name[i] = 0x5a }
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_ATTACH, sim.user.alloc(name)) == 0)
        #expect(sim.kernel.listDevices().first?.filter == "blksnap")
        #expect(sim.attach(fd) == -EALREADY)
    }

    @Test("ATTACH of a 0-sector device → ENOMEM")
    func attachZeroSize() {
        let sim = Sim()
        let fd = sim.device("empty", sectors: 0)
        #expect(sim.attach(fd) == -ENOMEM)
        #expect(sim.kernel.cbtState(device: "empty") == nil)
    }

    @Test("DETACH: EFAULT, ENOENT when untracked (before the name check), EINVAL for another name")
    func detach() {
        let sim = Sim()
        let fd = sim.device("sda")
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_DETACH, UserSpace.unmapped) == -EFAULT)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_DETACH, sim.user.alloc(filterName("other"))) == -ENOENT)
        #expect(sim.detach(fd) == -ENOENT)
        #expect(sim.attach(fd) == 0)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_DETACH, sim.user.alloc(filterName("other"))) == -EINVAL)
        #expect(sim.detach(fd) == 0)
        #expect(sim.detach(fd) == -ENOENT)
    }

    @Test("Re-attach creates a brand-new tracker (new generation id, fresh maps)")
    func reattach() {
        let sim = Sim()
        let fd = sim.device("sda")
        #expect(sim.attach(fd) == 0)
        let first = sim.cbtInfo(fd)
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == 512)
        #expect(sim.detach(fd) == 0)
        #expect(sim.attach(fd) == 0)
        let second = sim.cbtInfo(fd)
        #expect(bytes(of: first.generation_id) != bytes(of: second.generation_id))
        #expect(sim.kernel.cbtState(device: "sda")?.activeNumber == 1)
    }

    @Test("CTL: EFAULT, ENOENT untracked or other name, ENOTTY for cmd 5 and above")
    func ctlDispatch() {
        let sim = Sim()
        let fd = sim.device("sda")
        let opt = sim.user.zeros(64)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, UserSpace.unmapped) == -EFAULT)
        // 47 of 48 bytes mapped.
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, sim.user.zeros(47)) == -EFAULT)
        #expect(sim.ctl(fd, cmd: 0, opt: opt, optlen: 40) == -ENOENT)
        #expect(sim.attach(fd) == 0)
        let other = sim.ctlStruct(cmd: 0, opt: opt, optlen: 40, name: "blksnap2")
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, sim.user.alloc(other)) == -ENOENT)
        for cmd: UInt32 in [5, 6, 100, .max] {
            #expect(sim.ctl(fd, cmd: cmd, opt: opt, optlen: 64) == -ENOTTY)
        }
        #expect(sim.ctl(fd, cmd: 0, opt: opt, optlen: 40) == 0)
    }

    @Test("removeDevice auto-detaches; ioctls on the still-open fd see a dead disk")
    func removeDevice() throws {
        let sim = Sim()
        let fd = sim.device("sda")
        #expect(sim.attach(fd) == 0)
        try sim.kernel.removeDevice(name: "sda")
        #expect(sim.kernel.listDevices().isEmpty)
        #expect(sim.kernel.open("/dev/sda", flags: O_RDWR) == -ENOENT)
        #expect(sim.ctl(fd, cmd: 0, opt: sim.user.zeros(40), optlen: 40) == -ENODEV)
        let size = sim.user.zeros(8)
        #expect(sim.ioctl(fd, BLKSNAP_REQ_BLKGETSIZE64, size) == 0)
        #expect(sim.user.load(UInt64.self, at: size) == 0)
        #expect(sim.read(fd, offset: 0, count: 512).0 == -Int(EIO))
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == -Int(EIO))
        #expect(throws: SimErrno(ENOENT)) { try sim.kernel.removeDevice(name: "sda") }
    }

    @Test("A file-backed device behaves the same through the namespace")
    func fileBacked() throws {
        let sim = Sim()
        let path = "/tmp/simctl-filebacked-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img"
        defer { unlink(path) }
        _ = try sim.kernel.addDevice(name: "vdf", capacitySectors: 2048, backing: .file(path: path))
        let fd = sim.kernel.open("/dev/vdf", flags: O_RDWR)
        #expect(sim.attach(fd) == 0)
        #expect(sim.write(fd, offset: 65_536 + 3, count: 10, byte: 0x5a) == 10)
        #expect(sim.read(fd, offset: 65_536 + 3, count: 10).1.allSatisfy { $0 == 0x5a })
        #expect(sim.kernel.blockLayer.disk(named: "vdf")?.filter?.cbt.writeMapSnapshot() == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        var st = Glibc.stat()
        #expect(lstat(path, &st) == 0 && st.st_size == 2048 * 512)
    }

    @Test("Device I/O: pread/pwrite round trip, end-of-device rules")
    func deviceIO() {
        let sim = Sim()
        let fd = sim.device("sda", sectors: 16)
        #expect(sim.write(fd, offset: 100, count: 1000, byte: 0x42) == 1000)
        let (n, data) = sim.read(fd, offset: 100, count: 1000)
        #expect(n == 1000 && data.allSatisfy { $0 == 0x42 })
        #expect(sim.read(fd, offset: 16 * 512, count: 10).0 == 0)
        #expect(sim.read(fd, offset: 16 * 512 - 4, count: 10).0 == 4)
        #expect(sim.write(fd, offset: 16 * 512, count: 10, byte: 1) == -Int(ENOSPC))
        #expect(sim.write(fd, offset: 16 * 512 - 4, count: 10, byte: 1) == 4)
        #expect(sim.write(fd, offset: 0, count: 0, byte: 1) == 0)
    }
}
