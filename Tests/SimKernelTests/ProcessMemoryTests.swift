#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
@testable import SimKernel
import Testing

/// The same raw ABI with real pointers of this process (``ProcessUserMemory``), as
/// `ioctl(2)` would see them, including faults on a PROT_NONE page.
@Suite("Raw ABI through process memory")
struct ProcessMemoryTests {
    let kernel = SimKernel(params: smallParams())
    let memory = ProcessUserMemory()

    func ioctl<T>(_ fd: Int32, _ request: UInt, _ value: inout T) -> Int32 {
        withUnsafeMutablePointer(to: &value) { kernel.ioctl(fd, request, UInt64(UInt(bitPattern: $0)), memory: memory) }
    }

    func address(_ pointer: UnsafeRawPointer) -> UInt64 { UInt64(UInt(bitPattern: pointer)) }

    @Test("Whole flow with embedded pointers: create, attach, add, append, take, collect, cbt, wait, destroy")
    func wholeFlow() throws {
        let control = kernel.open("/dev/blksnap-control", flags: O_RDWR)
        _ = try kernel.addDevice(name: "sda", capacitySectors: 16_384)
        _ = try kernel.addDevice(name: "store", capacitySectors: 65_536)
        let fd = kernel.open("/dev/sda", flags: O_RDWR)

        var id = blksnap_uuid()
        #expect(ioctl(control, BLKSNAP_REQ_SNAPSHOT_CREATE, &id) == 0)
        var name = blkfilter_name()
        withUnsafeMutableBytes(of: &name.name) { $0.copyBytes(from: Array("blksnap".utf8)) }
        #expect(ioctl(fd, BLKSNAP_REQ_BLKFILTER_ATTACH, &name) == 0)

        func ctl(_ cmd: UInt32, _ opt: UnsafeMutableRawPointer, _ optlen: UInt32) -> Int32 {
            var request = blkfilter_ctl()
            request.name = name.name
            request.cmd = cmd
            request.optlen = optlen
            request.opt = address(opt)
            return ioctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, &request)
        }
        var add = blksnap_snapshotadd(id: id)
        #expect(ctl(3, &add, 16) == 0)

        var path = Array("/dev/store".utf8CString)
        var ranges = [blksnap_sectors(offset: 0, count: 32_768), blksnap_sectors(offset: 32_768, count: 32_768)]
        let appendResult = path.withUnsafeMutableBufferPointer { pathBuffer in
            ranges.withUnsafeMutableBufferPointer { rangeBuffer in
                var request = blksnap_snapshot_append_storage()
                request.id = id
                request.bdev_path = address(pathBuffer.baseAddress!)
                request.bdev_path_size = UInt32(pathBuffer.count)
                request.count = 2
                request.ranges = address(rangeBuffer.baseAddress!)
                return ioctl(control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, &request)
            }
        }
        #expect(appendResult == 0)
        let snapshotID = withUnsafeBytes(of: id.b) { SimUUID(bytes: Array($0)) }
        #expect(kernel.storageCounters(snapshot: snapshotID)?.capacitySectors == 65_536)

        _ = [UInt8](repeating: 1, count: 512).withUnsafeBytes { kernel.pwrite(fd, from: $0, at: 3 * 65_536) }
        var takeID = id
        #expect(ioctl(control, BLKSNAP_REQ_SNAPSHOT_TAKE, &takeID) == 0)

        var ids = [blksnap_uuid](repeating: blksnap_uuid(), count: 4)
        let collected: (Int32, UInt32) = ids.withUnsafeMutableBufferPointer { buffer in
            var request = blksnap_snapshot_collect()
            request.count = 4
            request.ids = address(buffer.baseAddress!)
            return (ioctl(control, BLKSNAP_REQ_SNAPSHOT_COLLECT, &request), request.count)
        }
        #expect(collected == (0, 1))
        #expect(bytes(of: ids[0]) == bytes(of: id))

        var info = blksnap_cbtinfo()
        #expect(ctl(0, &info, 40) == 0)
        #expect(info.changes_number == 1 && info.block_count == 128)
        var map = [UInt8](repeating: 0xEE, count: 128)
        let mapResult = map.withUnsafeMutableBufferPointer { buffer in
            var request = blksnap_cbtmap(offset: 0, length: 128, buffer: address(buffer.baseAddress!))
            return ctl(1, &request, 16)
        }
        #expect(mapResult == 0)
        #expect(map.indices.filter { map[$0] != 0 } == [3] && map[3] == 1)

        var snapshotInfo = blksnap_snapshotinfo()
        #expect(ctl(4, &snapshotInfo, 36) == 0)
        let imageName = withUnsafeBytes(of: snapshotInfo.image) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #expect(imageName.hasPrefix("blksnap-image_240:"))
        #expect(kernel.open("/dev/" + imageName, flags: O_RDONLY) >= 0)

        var event = blksnap_snapshot_event()
        event.id = id
        event.timeout_ms = 0
        #expect(ioctl(control, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, &event) == 0)
        #expect(event.code == 0 && event.time_label > 0)

        var destroyID = id
        #expect(ioctl(control, BLKSNAP_REQ_SNAPSHOT_DESTROY, &destroyID) == 0)
        #expect(ioctl(control, BLKSNAP_REQ_SNAPSHOT_DESTROY, &destroyID) == -ENODEV)
    }

    @Test("A PROT_NONE page faults like an unmapped user address")
    func protNonePage() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = try #require(mmap(nil, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        #expect(mapping != MAP_FAILED)
        defer { munmap(mapping, page) }
        let control = kernel.open("/dev/blksnap-control", flags: O_RDWR)
        let bad = address(mapping)
        #expect(kernel.ioctl(control, BLKSNAP_REQ_VERSION, bad, memory: memory) == -ENODATA)
        #expect(kernel.ioctl(control, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, bad, memory: memory) == -EINVAL)
        #expect(kernel.ioctl(control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, bad, memory: memory) == -EINVAL)
        _ = try kernel.addDevice(name: "sda", capacitySectors: 2048)
        let fd = kernel.open("/dev/sda", flags: O_RDWR)
        #expect(kernel.ioctl(fd, BLKSNAP_REQ_BLKFILTER_ATTACH, bad, memory: memory) == -EFAULT)
        #expect(kernel.ioctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, bad, memory: memory) == -EFAULT)
    }
}
