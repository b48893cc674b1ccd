import CBlksnapUAPI

/// The id of a blksnap snapshot: the 16 raw bytes of the v4 UUID that
/// `IOCTL_BLKSNAP_SNAPSHOT_CREATE` returns.
///
/// Written in the canonical 8-4-4-4-12 lowercase hexadecimal form, for example
/// `0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9`.
@frozen
public struct SnapshotID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes, in the order the kernel stores them (`struct blksnap_uuid.b`).
    public var rawValue: [UInt8]

    /// Wraps 16 bytes; nil when `rawValue` does not hold exactly 16 bytes.
    public init?(rawValue: [UInt8]) {
        guard rawValue.count == 16 else { return nil }
        self.rawValue = rawValue
    }

    /// Copies the bytes of a kernel `struct blksnap_uuid`.
    public init(_ uuid: blksnap_uuid) {
        var copy = uuid
        self.rawValue = withUnsafeBytes(of: &copy.b) { Array($0) }
    }

    /// The kernel's `struct blksnap_uuid` holding these bytes.
    public var uuid: blksnap_uuid {
        var uuid = blksnap_uuid()
        withUnsafeMutableBytes(of: &uuid.b) { $0.copyBytes(from: rawValue) }
        return uuid
    }

    /// Parses the canonical text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`
    /// (hex digits of either case); nil for anything else.
    public init?(parsing text: some StringProtocol) {
        guard let bytes = UUIDText.parse(text) else { return nil }
        self.rawValue = bytes
    }

    /// The canonical lowercase text form, 8-4-4-4-12.
    public var description: String { UUIDText.format(rawValue) }
}
