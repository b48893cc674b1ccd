#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import SimKernel

// The FUSE callbacks (libfuse3 high-level API, path based). They are global functions
// because libfuse takes C function pointers; each reaches its ``SimFuseContext``
// through `fuse_get_context()->private_data`.
//
// Namespace: `/` and `/dev` are directories; `/dev/NAME` is a regular file for every
// simulated device and live image (exactly the paths of `SimKernel.listDevices()`),
// sized to its capacity. Nothing is cached: attribute and entry timeouts are 0 (images
// appear at take and vanish at destroy) and every open file uses direct I/O.

/// The state every callback shares: the kernel served.
final class SimFuseContext: Sendable {
    /// The simulated kernel whose devices are exported.
    let kernel: SimKernel
    /// Time stamps shown for every file (the mount time).
    let mountTimeSeconds: Int

    init(kernel: SimKernel) {
        self.kernel = kernel
        mountTimeSeconds = Int(time(nil))
    }

    /// The context of the filesystem running the current callback.
    static var current: SimFuseContext {
        Unmanaged<SimFuseContext>.fromOpaque(cfuse_private_data()!).takeUnretainedValue()
    }
}

/// The operations table handed to `fuse_new`.
func simFuseOperations() -> fuse_operations {
    var operations = fuse_operations()
    operations.`init` = simFuseInit
    operations.getattr = simFuseGetattr
    operations.readdir = simFuseReaddir
    operations.open = simFuseOpen
    operations.read = simFuseRead
    operations.write = simFuseWrite
    operations.flush = simFuseFlush
    operations.fsync = simFuseFsync
    operations.release = simFuseRelease
    operations.truncate = simFuseTruncate
    return operations
}

/// Disables every cache: direct I/O for all files, no attribute or entry caching.
func simFuseInit(_ connection: UnsafeMutablePointer<fuse_conn_info>?,
                 _ config: UnsafeMutablePointer<fuse_config>?) -> UnsafeMutableRawPointer? {
    if let config {
        config.pointee.direct_io = 1
        config.pointee.kernel_cache = 0
        config.pointee.auto_cache = 0
        config.pointee.entry_timeout = 0
        config.pointee.attr_timeout = 0
        config.pointee.negative_timeout = 0
        config.pointee.hard_remove = 1
    }
    return cfuse_private_data()
}

/// The simulator path of a FUSE path naming a device or image (`/dev/NAME`), or nil.
private func devicePath(_ path: UnsafePointer<CChar>?) -> String? {
    guard let path else { return nil }
    let name = String(cString: path)
    guard name.hasPrefix("/dev/"), name.count > 5, !name.dropFirst(5).contains("/") else { return nil }
    return name
}

/// The capacity in bytes of a device or image, or nil (the control device is not exported).
private func capacityBytes(_ kernel: SimKernel, _ path: String) -> UInt64? {
    guard case .success(let status) = kernel.stat(path),
          status.mode & UInt32(Glibc.S_IFMT) == UInt32(Glibc.S_IFBLK) else { return nil }
    return status.sizeBytes
}

func simFuseGetattr(_ path: UnsafePointer<CChar>?, _ status: UnsafeMutablePointer<stat>?,
                    _ info: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
    guard let path, let status else { return -EINVAL }
    let context = SimFuseContext.current
    status.pointee = stat()
    status.pointee.st_mtim.tv_sec = context.mountTimeSeconds
    status.pointee.st_ctim.tv_sec = context.mountTimeSeconds
    status.pointee.st_atim.tv_sec = context.mountTimeSeconds
    let name = String(cString: path)
    if name == "/" || name == "/dev" {
        status.pointee.st_mode = Glibc.S_IFDIR | 0o755
        status.pointee.st_nlink = 2
        return 0
    }
    guard let device = devicePath(path), let size = capacityBytes(context.kernel, device) else { return -ENOENT }
    status.pointee.st_mode = Glibc.S_IFREG | 0o660
    status.pointee.st_nlink = 1
    status.pointee.st_size = off_t(size)
    status.pointee.st_blksize = 4096
    status.pointee.st_blocks = blkcnt_t(size / 512)
    return 0
}

func simFuseReaddir(_ path: UnsafePointer<CChar>?, _ buffer: UnsafeMutableRawPointer?, _ filler: fuse_fill_dir_t?,
                    _ offset: off_t, _ info: UnsafeMutablePointer<fuse_file_info>?,
                    _ flags: fuse_readdir_flags) -> Int32 {
    guard let path, let filler else { return -EINVAL }
    let name = String(cString: path)
    var entries = [".", ".."]
    switch name {
    case "/":
        entries.append("dev")
    case "/dev":
        entries += SimFuseContext.current.kernel.listDevices().map(\.name)
    default:
        return -ENOTDIR
    }
    for entry in entries {
        if filler(buffer, entry, nil, 0, fuse_fill_dir_flags(rawValue: 0)) != 0 { break }
    }
    return 0
}

func simFuseOpen(_ path: UnsafePointer<CChar>?, _ info: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
    guard let info else { return -EINVAL }
    let kernel = SimFuseContext.current.kernel
    guard let device = devicePath(path), capacityBytes(kernel, device) != nil else { return -ENOENT }
    let fd = kernel.open(device, flags: info.pointee.flags)
    guard fd >= 0 else { return fd }
    info.pointee.fh = UInt64(fd)
    cfuse_set_direct_io(info)
    return 0
}

func simFuseRead(_ path: UnsafePointer<CChar>?, _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int,
                 _ offset: off_t, _ info: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
    guard let info, offset >= 0 else { return -EINVAL }
    let target = UnsafeMutableRawBufferPointer(start: buffer, count: buffer == nil ? 0 : size)
    let result = SimFuseContext.current.kernel.pread(Int32(truncatingIfNeeded: info.pointee.fh), into: target,
                                                     at: UInt64(offset))
    return Int32(clamping: result)
}

func simFuseWrite(_ path: UnsafePointer<CChar>?, _ buffer: UnsafePointer<CChar>?, _ size: Int,
                  _ offset: off_t, _ info: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
    guard let info, offset >= 0 else { return -EINVAL }
    let source = UnsafeRawBufferPointer(start: buffer, count: buffer == nil ? 0 : size)
    let fd = Int32(truncatingIfNeeded: info.pointee.fh)
    let kernel = SimFuseContext.current.kernel
    guard let device = devicePath(path), device.hasPrefix("/dev/blksnap-image_") else {
        return Int32(clamping: kernel.pwrite(fd, from: source, at: UInt64(offset)))
    }
    // An image: pieces that never cross a 4 KiB boundary, as the page cache would submit
    // them. One pwrite is one bio, and a bio spanning chunks corrupts the image on v5
    // (spec §12.1 item 9, Quirk.multichunkImageWrite) — the loop device of
    // `sim loop attach --writable` sends exactly such bios (it uses direct I/O).
    var done = 0
    while done < source.count {
        let position = UInt64(offset) + UInt64(done)
        let length = min(source.count - done, Int(4096 - position % 4096))
        let result = kernel.pwrite(fd, from: UnsafeRawBufferPointer(rebasing: source[done..<done + length]), at: position)
        if result < 0 { return done > 0 ? Int32(clamping: done) : Int32(clamping: result) }
        done += result
        if result < length { break }
    }
    return Int32(clamping: done)
}

/// `close(2)` of one descriptor: nothing to do, the simulator buffers no writes.
func simFuseFlush(_ path: UnsafePointer<CChar>?, _ info: UnsafeMutablePointer<fuse_file_info>?) -> Int32 { 0 }

/// `fsync(2)`/`fdatasync(2)`: flushes the host files backing the simulated devices.
func simFuseFsync(_ path: UnsafePointer<CChar>?, _ dataOnly: Int32,
                  _ info: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
    guard let info else { return -EINVAL }
    return SimFuseContext.current.kernel.fsync(Int32(truncatingIfNeeded: info.pointee.fh))
}

func simFuseRelease(_ path: UnsafePointer<CChar>?, _ info: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
    guard let info else { return -EINVAL }
    _ = SimFuseContext.current.kernel.close(Int32(truncatingIfNeeded: info.pointee.fh))
    return 0
}

/// A device cannot be resized through its file: only a no-op truncate to the capacity
/// succeeds (`EPERM` otherwise, e.g. for `> file`).
func simFuseTruncate(_ path: UnsafePointer<CChar>?, _ size: off_t,
                     _ info: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
    let kernel = SimFuseContext.current.kernel
    guard let device = devicePath(path), let capacity = capacityBytes(kernel, device) else { return -ENOENT }
    return size >= 0 && UInt64(size) == capacity ? 0 : -EPERM
}
