import SystemPackage

/// A difference-storage provider failed or refused: what, on which path, the errno,
/// and what to do about it.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why the provider failed.
    public enum Kind: String, Hashable, Sendable, Codable {
        /// A range lies (partly) outside the storage device.
        case rangeOutsideDevice
        /// A range is not aligned to the storage device's logical block size, empty,
        /// or overlaps another range.
        case badRange
        /// The storage would live on a device that is being snapshotted (the kernel
        /// would copy-on-write its own storage writes).
        case onSnapshottedDevice
        /// The directory's filesystem is not on a block device known to the kernel
        /// (tmpfs, btrfs' anonymous devices, network filesystems).
        case noBlockDevice
        /// FIEMAP reported an extent the kernel cannot use directly.
        case unusableExtent
        /// A system call failed (the errno says which way).
        case systemCall
        /// The storage device could not be opened or queried.
        case deviceQuery
    }

    /// Why.
    public var kind: Kind
    /// The file, directory or device involved.
    public var path: String
    /// The errno (for a refusal, the errno that stands for it).
    public var errno: Errno
    /// A sentence: what failed and what to do next.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, path: String, errno: Errno, _ message: String) {
        self.kind = kind
        self.path = path
        self.errno = errno
        self.message = message
    }

    /// `PATH: message (ENAME)`.
    public var description: String { "\(path): \(message) (\(ErrnoName.name(of: errno)))" }
}
