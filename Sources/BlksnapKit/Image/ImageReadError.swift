import SystemPackage

/// A read of a snapshot image that failed: which image, where, and the errno.
public struct ImageReadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The image device node, e.g. `/dev/blksnap-image_7:0`.
    public var path: String
    /// First byte of the read that failed.
    public var offsetBytes: UInt64
    /// The errno of `pread(2)`.
    public var errno: Errno

    /// Creates a value from its fields.
    public init(path: String, offsetBytes: UInt64, errno: Errno) {
        self.path = path
        self.offsetBytes = offsetBytes
        self.errno = errno
    }

    /// True when the image failed because its snapshot is corrupted: v5 answers every read
    /// of a corrupted device's image with `EIO` (spec §4.6), e.g. after the difference
    /// storage overflowed.
    public var isCorruption: Bool { errno == .ioError }

    /// What failed, what the errno means here, and what to do.
    public var description: String {
        var text = "read of \(path) at byte \(offsetBytes) failed: \(errno.description) (\(ErrnoName.name(of: errno)))"
        switch errno {
        case .ioError:
            text += ": the snapshot is corrupted (difference storage overflow or an I/O error on it); its image cannot be trusted. Destroy it and take a new one with more storage ('blksnapctl snapshot info' names the cause)"
        case .noSuchFileOrDirectory, .noSuchAddressOrDevice, .operationNotSupportedByDevice:
            text += ": the image is gone (its snapshot was destroyed)"
        default:
            break
        }
        return text
    }
}
