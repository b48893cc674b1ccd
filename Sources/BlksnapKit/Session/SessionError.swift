import SystemPackage

/// A ``Session`` failed: at which stage, why, and the errno.
public struct SessionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where in the session's life the failure happened.
    public enum Stage: String, Hashable, Sendable, Codable {
        /// Opening the control device or the devices.
        case open
        /// `IOCTL_BLKSNAP_SNAPSHOT_CREATE`.
        case create
        /// `BLKFILTER_ATTACH`.
        case attach
        /// `snapshotadd`.
        case add
        /// Getting or appending storage.
        case storage
        /// `IOCTL_BLKSNAP_SNAPSHOT_TAKE`.
        case take
        /// Waiting for image nodes.
        case images
        /// Destroy, image removal, storage release or detach at the end.
        case teardown
    }

    /// The stage.
    public var stage: Stage
    /// The errno.
    public var errno: Errno
    /// What failed, on what, and what to do.
    public var message: String
    /// The library error's category when it came from a kernel call (for exit statuses).
    public var category: BlksnapErrorCategory?

    /// Creates an error.
    public init(_ stage: Stage, errno: Errno, _ message: String, category: BlksnapErrorCategory? = nil) {
        self.stage = stage
        self.errno = errno
        self.message = message
        self.category = category
    }

    /// Wraps a kernel-call error.
    public init(_ stage: Stage, _ error: BlksnapError) {
        self.init(stage, errno: error.errno, error.description, category: error.category)
    }

    /// Wraps a storage-provider error.
    public init(_ stage: Stage, _ error: StorageError) {
        self.init(stage, errno: error.errno, "difference storage: \(error)")
    }

    /// `session STAGE: message (ENAME)`.
    public var description: String {
        let name = ErrnoName.name(of: errno)
        return "session \(stage.rawValue): \(message)" + (message.contains("(\(name))") ? "" : " (\(name))")
    }
}
