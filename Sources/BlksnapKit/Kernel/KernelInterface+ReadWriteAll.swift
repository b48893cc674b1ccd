import SystemPackage

/// Where a ``KernelInterface/readAll(_:into:at:)`` or
/// ``KernelInterface/writeAll(_:from:at:pieceLength:)`` stopped: the errno and the byte
/// offset of the request that failed (what went before it was transferred).
public struct KernelIOFailure: Error, Sendable, Hashable {
    /// The request's errno (`ENOSPC` for a write that transferred nothing).
    public var errno: Errno
    /// The byte offset of the failed request.
    public var offsetBytes: UInt64
    /// Whether the request did not fail but wrote nothing: the offset is past the end of
    /// the device (``errno`` is then `ENOSPC`).
    public var pastEnd: Bool

    /// Creates a value.
    public init(errno: Errno, offsetBytes: UInt64, pastEnd: Bool = false) {
        self.errno = errno
        self.offsetBytes = offsetBytes
        self.pastEnd = pastEnd
    }
}

extension KernelInterface {
    /// Reads from `fd` at `offsetBytes` until `buffer` is full, continuing short reads;
    /// returns fewer bytes only at the end of the file or device.
    public func readAll(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(KernelIOFailure) -> Int {
        var done = 0
        while done < buffer.count {
            let position = offsetBytes + UInt64(done)
            let n: Int
            do {
                n = try pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: position)
            } catch {
                throw KernelIOFailure(errno: error, offsetBytes: position)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `buffer` to `fd` at `offsetBytes`, continuing short writes; a write
    /// that transfers nothing (past the end of a device) fails with `ENOSPC`.
    ///
    /// `pieceLength` bounds each request: given its offset and the bytes left, how many to
    /// write at most (all of them by default; ``ImageWriteGuard/pieceLength(offsetBytes:remainingBytes:)``
    /// for a snapshot image).
    public func writeAll(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64,
                         pieceLength: (UInt64, Int) -> Int = { _, remaining in remaining }) throws(KernelIOFailure) {
        var done = 0
        while done < buffer.count {
            let position = offsetBytes + UInt64(done)
            let length = min(max(1, pieceLength(position, buffer.count - done)), buffer.count - done)
            let n: Int
            do {
                n = try pwrite(fd, from: UnsafeRawBufferPointer(rebasing: buffer[done..<(done + length)]), at: position)
            } catch {
                throw KernelIOFailure(errno: error, offsetBytes: position)
            }
            if n == 0 { throw KernelIOFailure(errno: .noSpace, offsetBytes: position, pastEnd: true) }
            done += n
        }
    }
}
