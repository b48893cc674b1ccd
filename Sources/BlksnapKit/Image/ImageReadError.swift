import SystemPackage

/// A read of a snapshot image that failed: which image, where, and the errno.
public struct ImageReadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The image device node, e.g. `/dev/blksnap-image_7:0`.
    public var path: String
    /// First byte of the read that failed.
    public var offsetBytes: UInt64
    /// The errno of `pread(2)`.
    public var errno: Errno
    /// The errno the module answers every I/O of a corrupted snapshot's image with
    /// (``BlksnapCapabilities/corruptedImageErrno``: `EIO`; VAL-6.x `ENOSPC`).
    public var corruptedErrno: Errno

    /// Creates a value from its fields.
    public init(path: String, offsetBytes: UInt64, errno: Errno, corruptedErrno: Errno = .ioError) {
        self.path = path
        self.offsetBytes = offsetBytes
        self.errno = errno
        self.corruptedErrno = corruptedErrno
    }

    /// True when the image failed because its snapshot is corrupted, e.g. after the
    /// difference storage overflowed: v5 and VAL-7.0 answer every I/O of a corrupted
    /// device's image with `EIO` (spec §4.6); VAL-6.x with `ENOSPC` (field spec §1.7.3),
    /// which buffered reads (through the page cache) turn into `EIO` too.
    public var isCorruption: Bool { errno == .ioError || errno == corruptedErrno }

    /// What failed, what the errno means here, and what to do.
    public var description: String {
        var text = "read of \(path) at byte \(offsetBytes) failed: \(errno.description) (\(ErrnoName.name(of: errno)))"
        if isCorruption {
            if errno == .noSpace {
                text += ": not a full disk: VAL-6.x answers every I/O of a corrupted snapshot's image with ENOSPC"
            }
            text += ": the snapshot is corrupted (difference storage overflow or an I/O error on it); its image cannot be trusted. Destroy it and take a new one with more storage ('blksnapctl snapshot info' names the cause)"
            return text
        }
        switch errno {
        case .noSuchFileOrDirectory, .noSuchAddressOrDevice, .operationNotSupportedByDevice:
            text += ": the image is gone (its snapshot was destroyed)"
        default:
            break
        }
        return text
    }
}
