import CBlksnapUAPI
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

    /// Decodes the kernel's `struct blksnap_snapshotinfo`: a negative `error_code`
    /// becomes its positive errno, the image name ends at the first NUL (empty = none).
    ///
    /// v5 leaves `image` as the caller passed it when there is no image, so the struct
    /// must be zeroed before the request.
    public init(_ info: blksnap_snapshotinfo) {
        var copy = info
        let name = withUnsafeBytes(of: &copy.image) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        let code = info.error_code
        self.init(errorCode: code == 0 ? nil : Errno(rawValue: code == Int32.min ? Int32.max : abs(code)),
                  imageName: name.isEmpty ? nil : name)
    }

    /// Path of the image device node, `/dev/` + ``imageName``.
    public var imagePath: String? { imageName.map { "/dev/" + $0 } }

    /// True when the device's difference area is corrupted.
    public var isCorrupted: Bool { errorCode != nil }
}
