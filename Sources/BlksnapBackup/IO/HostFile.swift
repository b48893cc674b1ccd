#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A file (or block device) of the host, read and written with `pread(2)`/`pwrite(2)`,
/// whose failures are ``BackupError``s naming the path. The one host-file type of the
/// package: the benchmark's baselines use it too.
package final class HostFile {
    package let path: String
    package private(set) var fd: CInt

    /// Opens `path` with `open(2)` flags (`O_CLOEXEC` added).
    package init(path: String, flags: CInt, mode: mode_t = 0o644, operation: String = "opening") throws(BackupError) {
        self.path = path
        let opened = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard opened >= 0 else { throw BackupError.io(operation, path, Errno(rawValue: Glibc.errno)) }
        fd = opened
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Closes the descriptor (idempotent).
    package func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Writes all of `bytes` at `offset`, retrying short writes and `EINTR`.
    package func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BackupError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                let error = Errno(rawValue: Glibc.errno)
                if error == .interrupted { continue }
                throw BackupError.io("writing", path, error)
            }
            done += n
        }
    }

    /// Writes `bytes` at `offset`.
    package func write(_ bytes: [UInt8], at offset: UInt64) throws(BackupError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(BackupError) in try write(raw, at: offset) } }
        try result.get()
    }

    /// Fills `buffer` from `offset`, retrying short reads; fewer bytes only at the end of the file.
    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BackupError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                let error = Errno(rawValue: Glibc.errno)
                if error == .interrupted { continue }
                throw BackupError.io("reading", path, error)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// `fsync(2)`.
    package func sync() throws(BackupError) {
        guard Glibc.fsync(fd) == 0 else { throw BackupError.io("fsync of", path, Errno(rawValue: Glibc.errno)) }
    }

    /// `ftruncate(2)`.
    package func truncate(to size: UInt64) throws(BackupError) {
        guard Glibc.ftruncate(fd, off_t(size)) == 0 else {
            throw BackupError.io("setting the size of", path, Errno(rawValue: Glibc.errno))
        }
    }

    /// `fstat(2)` size (`BLKGETSIZE64` for a block device) and whether it is a block device.
    package func sizeAndKind() throws(BackupError) -> (size: UInt64, isBlockDevice: Bool, device: dev_t) {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw BackupError.io("stat of", path, Errno(rawValue: Glibc.errno)) }
        if (status.st_mode & S_IFMT) == S_IFBLK {
            // A block device's end is its size: no ioctl outside KernelInterface.
            let end = lseek(fd, 0, SEEK_END)
            guard end >= 0 else {
                throw BackupError.io("reading the size (lseek to the end) of", path, Errno(rawValue: Glibc.errno))
            }
            return (UInt64(end), true, status.st_rdev)
        }
        return (UInt64(status.st_size), false, status.st_rdev)
    }

    /// Syncs the directory holding a renamed or created entry, so the entry survives a crash.
    package static func syncDirectory(_ path: String) throws(BackupError) {
        let file = try HostFile(path: path, flags: O_RDONLY | O_DIRECTORY, operation: "opening directory")
        try file.sync()
    }

    /// `rename(2)`.
    package static func rename(_ from: String, to: String) throws(BackupError) {
        guard Glibc.rename(from, to) == 0 else {
            throw BackupError.io("renaming \(from) to", to, Errno(rawValue: Glibc.errno))
        }
    }

    /// `mkdir(2)` of `path` and of each missing parent (mode 0755), like `mkdir -p`; the
    /// error names the first component that could not be made, with its errno.
    package static func makeDirectories(_ path: String, operation: String) throws(BackupError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            guard mkdir(prefix, 0o755) != 0 else { continue }
            let error = Errno(rawValue: Glibc.errno)
            var status = stat()
            if error == .fileExists, stat(prefix, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR { continue }
            throw BackupError.io(operation, prefix == path ? path : "\(path) (at \(prefix))", error,
                                 remedy: error == .fileExists ? "\(prefix) is a file, not a directory; check the path" : nil)
        }
    }

    /// `unlink(2)`, ignoring a missing file.
    package static func remove(_ path: String) {
        _ = Glibc.unlink(path)
    }

    /// Whether `path` exists.
    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
