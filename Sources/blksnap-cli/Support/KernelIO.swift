import BlksnapKit
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Byte I/O on a device node through a ``KernelInterface`` (so that, on a simulator,
/// writes to a tracked device go through its filter: CBT marking and copy-on-write).
enum KernelIO {
    /// Reads `length` bytes at `offsetBytes` of `path`; short at the end of the device.
    static func read(_ kernel: any KernelInterface, path: String, offsetBytes: UInt64, length: Int) throws(CommandFailure) -> [UInt8] {
        let fd = try open(kernel, path, flags: O_RDONLY)
        defer { try? kernel.close(fd) }
        var buffer = [UInt8](repeating: 0, count: length)
        let result = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(KernelIOFailure) -> Int in try kernel.readAll(fd, into: raw, at: offsetBytes) }
        }
        switch result {
        case .success(let done): return Array(buffer.prefix(done))
        case .failure(let error):
            throw CommandFailure("read of \(path) at byte \(error.offsetBytes) failed: \(describe(error.errno))")
        }
    }

    /// Writes all of `bytes` at `offsetBytes` of `path`. A snapshot image is written in
    /// pieces that never cross a 4 KiB boundary (``ImageWriteGuard``): one multi-chunk
    /// write would corrupt it on v5 (spec §12.1 item 9) and does on the simulator.
    static func write(_ kernel: any KernelInterface, path: String, offsetBytes: UInt64, bytes: [UInt8]) throws(CommandFailure) {
        let fd = try open(kernel, path, flags: O_RDWR)
        defer { try? kernel.close(fd) }
        let isImage = ImageWriteGuard.isImage(path: path)
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(KernelIOFailure) in
                try kernel.writeAll(fd, from: raw, at: offsetBytes) { position, remaining in
                    isImage ? ImageWriteGuard.pieceLength(offsetBytes: position, remainingBytes: remaining) : remaining
                }
            }
        }
        if case .failure(let error) = result {
            let why = error.pastEnd ? "past the end of the device (ENOSPC)" : describe(error.errno)
            throw CommandFailure("write to \(path) at byte \(error.offsetBytes) failed: \(why)")
        }
    }

    private static func open(_ kernel: any KernelInterface, _ path: String, flags: Int32) throws(CommandFailure) -> CInt {
        do {
            return try kernel.open(path, flags: flags)
        } catch where error == .noSuchFileOrDirectory {
            throw Backend.unknownDevice(path, path: path, listing: !kernel.usesHostDevices)
        } catch {
            throw CommandFailure("open of \(path) failed: \(describe(error))")
        }
    }

    /// `strerror text (ENAME)`, plus what EIO means on an image.
    static func describe(_ error: Errno) -> String {
        var text = error.description
        switch error {
        case .noSuchFileOrDirectory: text += ": no such device node (list them with 'blksnapctl sim device list')"
        case .noSpace: text += ": past the end of the device (on a VAL-6.x snapshot image: its snapshot is corrupted, as EIO elsewhere)"
        case .ioError: text += ": on a snapshot image this means its snapshot is corrupted (see 'blksnapctl snapshot info')"
        default: break
        }
        return text + " (\(ErrnoName.name(of: error)))"
    }
}
