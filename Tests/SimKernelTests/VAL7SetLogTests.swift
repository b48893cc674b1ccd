#if canImport(Glibc)
import Glibc
#endif
import CVeeamBlksnapUAPI
@testable import SimKernel
import Testing

/// VAL-7.0's SETLOG (field spec §2.4.7) on the sizes a caller controls.
@Suite("VAL-7.0 SETLOG: the path's size reaches kzalloc")
struct VAL7SetLogTests {
    private func setLog(size: UInt32, path: [UInt8]) -> Int32 {
        let kernel = SimKernel(dialect: .val7)
        let control = kernel.open("/dev/veeamblksnap", flags: O_RDWR)
        let space = UserSpace()
        let pathAddress = space.alloc(path)
        var request = blksnap_setlog()
        request.level = 6
        request.filepath_size = size
        request.filepath = pathAddress
        let argument = space.alloc(request)
        return kernel.ioctl(control, VEEAMBLKSNAP_REQ_SETLOG, argument, memory: space.memory)
    }

    @Test("a size beyond KMALLOC_MAX_SIZE is ENOMEM without touching the path; 0xffffffff is ENODATA; a fitting size with a short buffer is ENODATA")
    func sizes() {
        let path = Array("/tmp/veeamblksnap.log".utf8) + [0]
        #expect(setLog(size: UInt32(path.count), path: path) == 0)
        #expect(setLog(size: UInt32(Kmalloc.maxSize), path: path) == -ENOMEM)
        #expect(setLog(size: UInt32.max - 1, path: path) == -ENOMEM)
        #expect(setLog(size: UInt32.max, path: path) == -ENODATA)
        #expect(setLog(size: UInt32(Kmalloc.maxSize - 1), path: path) == -ENODATA)
        #expect(setLog(size: 0, path: path) == -EINVAL)
    }
}
