#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
@testable import SimKernel
import Testing

/// §1.2: the ioctls of /dev/blksnap-control, paths that need no snapshot.
@Suite("§1.2 control ioctls (no snapshot)")
struct ControlIoctlTests {
    @Test("VERSION writes 2.0.0.0 and returns 0 (mapped memory)")
    func versionMapped() {
        let sim = Sim()
        let out = sim.user.alloc([UInt8](repeating: 0xff, count: 8))
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_VERSION, out) == 0)
        #expect(sim.user.bytes(at: out, count: 8) == [2, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("VERSION through real process memory")
    func versionProcessMemory() {
        let kernel = SimKernel(params: smallParams())
        let fd = kernel.open("/dev/blksnap-control", flags: O_RDWR)
        var version = blksnap_version(major: 9, minor: 9, revision: 9, build: 9)
        let result = withUnsafeMutablePointer(to: &version) { pointer in
            kernel.ioctl(fd, BLKSNAP_REQ_VERSION, UInt64(UInt(bitPattern: pointer)), memory: ProcessUserMemory())
        }
        #expect(result == 0)
        #expect(version.major == 2 && version.minor == 0 && version.revision == 0 && version.build == 0)
        // A null pointer is a fault: ENODATA, not EFAULT.
        #expect(kernel.ioctl(fd, BLKSNAP_REQ_VERSION, 0, memory: ProcessUserMemory()) == -ENODATA)
    }

    @Test("VERSION copy fault → ENODATA (unmapped and read-only)")
    func versionFault() {
        let sim = Sim()
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_VERSION, UserSpace.unmapped) == -ENODATA)
        let readOnly = sim.user.zeros(8, writable: false)
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_VERSION, readOnly) == -ENODATA)
        #expect(sim.user.bytes(at: readOnly, count: 8) == [UInt8](repeating: 0, count: 8))
    }

    @Test("Dispatch looks only at _IOC_NR: any type/direction/size with nr 0 is VERSION")
    func dispatchByNumberOnly() {
        let sim = Sim()
        for request: UInt in [0x0000_0000, 0xc0ff_1200, 0x8008_5600, 0xdead_be00, 0x1_0000_0000] {
            let out = sim.user.zeros(8)
            #expect(sim.ioctl(sim.control, request, out) == 0, "request \(String(request, radix: 16))")
            #expect(sim.user.bytes(at: out, count: 2) == [2, 0])
        }
    }

    @Test("nr 7 (v5 reads past its table) and nr ≥ 8 → ENOTTY", arguments: [UInt(7), 8, 9, 0x7f, 0xff])
    func unknownNumbers(nr: UInt) {
        let sim = Sim()
        let out = sim.user.zeros(4096)
        #expect(sim.ioctl(sim.control, 0x4008_5600 | nr, out) == -ENOTTY)
        #expect(sim.ioctl(sim.control, nr, out) == -ENOTTY)
        #expect(SimKernel.quirks.contains { $0.id == "controlNumberSeven" && $0.handling == .diverged })
    }

    @Test("DESTROY: copy fault → ENODATA, unknown id → ENODEV")
    func destroyErrors() {
        let sim = Sim()
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_DESTROY, UserSpace.unmapped) == -ENODATA)
        #expect(sim.destroy(SimUUID(bytes: [UInt8](repeating: 7, count: 16))) == -ENODEV)
    }

    @Test("TAKE: copy fault → ENODATA, unknown id → ESRCH")
    func takeErrors() {
        let sim = Sim()
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_TAKE, UserSpace.unmapped) == -ENODATA)
        #expect(sim.take(SimUUID(bytes: [UInt8](repeating: 7, count: 16))) == -ESRCH)
    }

    @Test("COLLECT with no snapshots: count := 0, result 0, whatever ids is")
    func collectEmpty() {
        let sim = Sim()
        let (result, count, _) = sim.collect(count: 5, capacity: 0)
        #expect(result == 0 && count == 0)
        var request = blksnap_snapshot_collect()
        request.count = 3
        request.ids = UserSpace.unmapped
        let address = sim.user.alloc(request)
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_COLLECT, address) == 0)
        #expect(sim.user.load(blksnap_snapshot_collect.self, at: address).count == 0)
    }

    @Test("COLLECT: copy-in fault → ENODATA, copy-back fault → ENODATA")
    func collectFaults() {
        let sim = Sim()
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_COLLECT, UserSpace.unmapped) == -ENODATA)
        let readOnly = sim.user.alloc(blksnap_snapshot_collect(), writable: false)
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_COLLECT, readOnly) == -ENODATA)
    }

    @Test("WAIT_EVENT: copy-in fault → EINVAL, unknown id → ESRCH, nothing written")
    func waitErrors() {
        let sim = Sim()
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, UserSpace.unmapped) == -EINVAL)
        // Only 19 bytes mapped: the 20-byte copy-in faults.
        let short = sim.user.zeros(19)
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, short) == -EINVAL)
        // 20 bytes mapped is enough to reach the lookup.
        let exact = sim.user.alloc([UInt8](repeating: 3, count: 16) + [0, 0, 0, 0])
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, exact) == -ESRCH)
        let (result, after) = sim.waitEvent(SimUUID(bytes: [UInt8](repeating: 3, count: 16)), timeout: 0)
        #expect(result == -ESRCH)
        #expect(after[20...].allSatisfy { $0 == 0xA5 })
    }

    @Test("APPEND_STORAGE struct fault → EINVAL; strndup_user: size 0 / bad pointer → EFAULT, no NUL → EINVAL")
    func appendArgumentErrors() {
        let sim = Sim()
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, UserSpace.unmapped) == -EINVAL)
        let path = sim.user.alloc(Array("/dev/x".utf8) + [0])
        func request(path: UInt64, size: UInt32) -> UInt64 {
            var request = blksnap_snapshot_append_storage()
            request.bdev_path = path
            request.bdev_path_size = size
            return sim.user.alloc(request)
        }
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, request(path: path, size: 0)) == -EFAULT)
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE,
                          request(path: UserSpace.unmapped, size: 16)) == -EFAULT)
        // The NUL is byte 6: a size of 6 does not reach it.
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, request(path: path, size: 6)) == -EINVAL)
        // Size 7 reaches it: the next check is the snapshot lookup.
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, request(path: path, size: 7)) == -ESRCH)
        // A larger size than the mapping but with the NUL inside it is fine too.
        #expect(sim.ioctl(sim.control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, request(path: path, size: 4096)) == -ESRCH)
    }

    @Test("Descriptor table: unknown path ENOENT, bad fd EBADF, control fd has no read/write")
    func descriptors() {
        let sim = Sim()
        #expect(sim.control >= 3)
        #expect(sim.kernel.open("/dev/nothing", flags: O_RDWR) == -ENOENT)
        #expect(sim.kernel.open("blksnap-control", flags: O_RDWR) == -ENOENT)
        #expect(sim.ioctl(999, BLKSNAP_REQ_VERSION, sim.user.zeros(8)) == -EBADF)
        let (n, _) = sim.read(sim.control, offset: 0, count: 8)
        #expect(n == -Int(EINVAL))
        #expect(sim.write(sim.control, offset: 0, count: 8, byte: 1) == -Int(EINVAL))
        #expect(sim.kernel.close(sim.control) == 0)
        #expect(sim.kernel.close(sim.control) == -EBADF)
        #expect(sim.kernel.openDescriptorCount == 0)
    }

    @Test("stat: control is char 10:N mode 0600, devices are block 240:n with increasing minors")
    func statNodes() throws {
        let sim = Sim()
        let control = try sim.kernel.stat("/dev/blksnap-control").get()
        #expect(control.mode == UInt32(S_IFCHR) | 0o600 && control.major == 10 && control.sizeBytes == 0)
        let a = try sim.kernel.addDevice(name: "sda", capacitySectors: 2048)
        let b = try sim.kernel.addDevice(name: "sdb", capacitySectors: 4096)
        #expect((240...254).contains(a.major) && a.major == b.major && b.minor > a.minor)
        let st = try sim.kernel.stat("/dev/sdb").get()
        #expect(st.mode == UInt32(S_IFBLK) | 0o660 && st.major == b.major && st.minor == b.minor
                && st.sizeBytes == 4096 * 512)
        #expect(throws: SimErrno(ENOENT)) { try sim.kernel.stat("/dev/sdc").get() }
        #expect(throws: SimErrno(EEXIST)) { try sim.kernel.addDevice(name: "sda", capacitySectors: 1) }
        #expect(throws: SimErrno(EEXIST)) { try sim.kernel.addDevice(name: "blksnap-control", capacitySectors: 1) }
        #expect(throws: SimErrno(EINVAL)) { try sim.kernel.addDevice(name: "blksnap-image_1:2", capacitySectors: 1) }
        #expect(sim.kernel.listDevices().map(\.name) == ["sda", "sdb"])
    }
}
