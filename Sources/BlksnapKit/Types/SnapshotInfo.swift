import SystemPackage

/// What `snapshotinfo` (`struct blksnap_snapshotinfo`) tells about a device in a snapshot.
@frozen
public struct SnapshotInfo: Hashable, Sendable {
    /// The errno that corrupted the device's difference area (e.g. `ENOSPC` when the
    /// difference storage overflowed), or nil when it is not corrupted. The kernel
    /// reports it negated; this is the positive code.
    public var errorCode: Errno?
    /// Name of the snapshot image disk without `/dev/`, e.g. `blksnap-image_8:16`;
    /// nil when the device has no image (not taken yet, or not in a snapshot).
    public var imageName: String?

    /// Creates a value from its fields.
    public init(errorCode: Errno?, imageName: String?) {
        self.errorCode = errorCode
        self.imageName = imageName
    }

    /// Path of the image device node, `/dev/` + ``imageName``.
    public var imagePath: String? { imageName.map { "/dev/" + $0 } }

    /// True when the device's difference area is corrupted.
    public var isCorrupted: Bool { errorCode != nil }
}
