#if canImport(Glibc)
import Glibc
#endif

/// A host file opened read-write for the baselines (the ideal COW loop, raw reads).
final class HostFile {
    /// The descriptor.
    let fd: Int32

    /// Opens (creating) `path`; with `sizeBytes` it is sized sparse to that length.
    init(path: String, sizeBytes: UInt64? = nil) throws(BenchError) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BenchError("cannot open \(path)", errno: errno) }
        if let sizeBytes, ftruncate(fd, off_t(sizeBytes)) != 0 {
            let code = errno
            close(fd)
            throw BenchError("cannot size \(path) to \(sizeBytes) bytes", errno: code)
        }
    }

    deinit { close(fd) }

    /// `pread` of the whole buffer (fatal on a short or failed read: a broken baseline).
    func read(into buffer: UnsafeMutableRawBufferPointer, atByte offset: UInt64) {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            precondition(n > 0, "baseline pread failed")
            done += n
        }
    }

    /// `pwrite` of the whole buffer.
    func write(_ buffer: UnsafeRawBufferPointer, atByte offset: UInt64) {
        var done = 0
        while done < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            precondition(n > 0, "baseline pwrite failed")
            done += n
        }
    }
}
