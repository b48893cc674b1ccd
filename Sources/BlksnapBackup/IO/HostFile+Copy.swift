#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

extension HostFile {
    /// Copies `count` bytes of `source` from `sourceOffset` to this file at `offset`, in
    /// the kernel (`sendfile(2)`: one copy from page cache to page cache, none through
    /// user space); falls back to `pread`/`pwrite` through `buffer` where the kernel
    /// refuses (`EINVAL`, `ENOSYS`: a filesystem without splice support).
    ///
    /// - Throws: ``BackupError`` naming the file that failed, with its errno; a source
    ///   that ends before `count` bytes is `.corrupted` (truncated).
    func copy(from source: HostFile, at sourceOffset: UInt64, count: Int, to offset: UInt64,
              buffer: UnsafeMutableRawBufferPointer) throws(BackupError) {
        var done = 0
        var kernelCopy = true
        while done < count {
            if kernelCopy {
                guard lseek(fd, off_t(offset) + off_t(done), SEEK_SET) >= 0 else {
                    throw BackupError.io("seeking in", path, Errno(rawValue: Glibc.errno))
                }
                var input = off_t(sourceOffset) + off_t(done)
                let n = sendfile(fd, source.fd, &input, count - done)
                if n > 0 {
                    done += n
                    continue
                }
                if n == 0 {
                    throw BackupError(.corrupted, "\(source.path): bytes \(sourceOffset + UInt64(done))..<\(sourceOffset + UInt64(count)) are cut short by the end of the file: the file is truncated")
                }
                let error = Errno(rawValue: Glibc.errno)
                if error == .interrupted { continue }
                guard error == .invalidArgument || error == .noFunction else {
                    throw BackupError.io("copying \(source.path) into", path, error)
                }
                kernelCopy = false
            }
            let length = min(buffer.count, count - done)
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
            let n = try source.read(into: slice, at: sourceOffset + UInt64(done))
            guard n == length else {
                throw BackupError(.corrupted, "\(source.path): bytes \(sourceOffset + UInt64(done))..<\(sourceOffset + UInt64(count)) are cut short by the end of the file: the file is truncated")
            }
            try write(UnsafeRawBufferPointer(slice), at: offset + UInt64(done))
            done += length
        }
    }
}
