#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The real kernel: the single place in the package that calls `ioctl(2)`.
///
/// Each wrapper reads `errno` in the same function, immediately after the call, with
/// nothing in between that could allocate or release.
public struct LinuxKernel: KernelInterface {
    /// Creates the real-syscall backend.
    public init() {}

    /// `open(2)` with `O_CLOEXEC` added; retried on EINTR.
    public func open(_ path: String, flags: Int32) throws(Errno) -> CInt {
        while true {
            let (fd, code) = Self.sysOpen(path, flags | O_CLOEXEC)
            if fd >= 0 { return fd }
            let error = Errno(rawValue: code)
            if error != .interrupted { throw error }
        }
    }

    /// `close(2)`; never retried (on Linux the descriptor is gone even after EINTR).
    public func close(_ fd: CInt) throws(Errno) {
        if Self.sysClose(fd) != 0 {
            let error = Errno(rawValue: Self.lastErrno())
            if error != .interrupted { throw error }
        }
    }

    /// `ioctl(2)`; never retried: EINTR is thrown as `.interrupted`.
    public func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt {
        let (result, code) = Self.sysIoctl(fd, request, argument)
        if result < 0 { throw Errno(rawValue: code) }
        return result
    }

    /// `pread(2)`, retried on EINTR.
    public func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        guard let offset = off_t(exactly: offsetBytes) else { throw .invalidArgument }
        while true {
            let n = Glibc.pread(fd, buffer.baseAddress, buffer.count, offset)
            if n >= 0 { return n }
            let error = Errno(rawValue: Self.lastErrno())
            if error != .interrupted { throw error }
        }
    }

    /// `pwrite(2)`, retried on EINTR.
    public func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        guard let offset = off_t(exactly: offsetBytes) else { throw .invalidArgument }
        while true {
            let n = Glibc.pwrite(fd, buffer.baseAddress, buffer.count, offset)
            if n >= 0 { return n }
            let error = Errno(rawValue: Self.lastErrno())
            if error != .interrupted { throw error }
        }
    }

    /// `stat(2)`.
    public func stat(_ path: String) throws(Errno) -> KernelFileStatus {
        var st = Glibc.stat()
        let code: CInt = path.withCString { hostStat($0, &st) == 0 ? 0 : errno }
        if code != 0 { throw Errno(rawValue: code) }
        return KernelFileStatus(
            mode: UInt32(st.st_mode),
            deviceNumber: DeviceNumber(rawValue: UInt64(st.st_rdev)),
            sizeBytes: UInt64(max(0, st.st_size)),
            containingDevice: DeviceNumber(rawValue: UInt64(st.st_dev)))
    }

    /// The host's devices: udev, sysfs and host files apply.
    public var usesHostDevices: Bool { true }

    /// `/run/blksnap` (root only, gone at reboot).
    public var sharedStateDirectory: String? { "/run/blksnap" }

    /// The host's block devices, from sysfs.
    public func deviceInventory() -> DeviceInventory? { DeviceInventory.readHost() }

    // MARK: - The syscalls themselves

    @inline(never)
    private static func sysIoctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> (CInt, CInt) {
        let result = Glibc.ioctl(fd, request, argument)
        let code = errno  // read before anything else can run
        return (result, code)
    }

    @inline(never)
    private static func sysOpen(_ path: String, _ flags: CInt) -> (CInt, CInt) {
        path.withCString { cPath in
            let fd = Glibc.open(cPath, flags)
            return (fd, fd < 0 ? errno : 0)
        }
    }

    @inline(never)
    private static func sysClose(_ fd: CInt) -> CInt {
        Glibc.close(fd)
    }

    @inline(__always)
    private static func lastErrno() -> CInt { errno }
}

/// `stat(2)` under a name that does not collide with `struct stat` or the method.
private func hostStat(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<stat>) -> CInt {
    stat(path, buffer)
}
