/// A Linux device number (`dev_t`): major and minor.
///
/// Written `MAJ:MIN` (for example `8:16`), as in sysfs and in blksnap's image names.
@frozen
public struct DeviceNumber: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The encoded `dev_t` value, as glibc's `makedev` builds it.
    public var rawValue: UInt64

    /// Wraps an encoded `dev_t`.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Builds the number from its major and minor parts.
    public init(major: UInt32, minor: UInt32) {
        // glibc's makedev encoding (12-bit/20-bit split of the major and minor).
        let ma = UInt64(major), mi = UInt64(minor)
        self.rawValue = ((ma & 0x0000_0fff) << 8) | ((ma & 0xffff_f000) << 32)
            | (mi & 0x0000_00ff) | ((mi & 0xffff_ff00) << 12)
    }

    /// The major number (the driver).
    public var major: UInt32 { UInt32(truncatingIfNeeded: ((rawValue >> 32) & 0xffff_f000) | ((rawValue >> 8) & 0x0000_0fff)) }
    /// The minor number (the device within the driver).
    public var minor: UInt32 { UInt32(truncatingIfNeeded: ((rawValue >> 12) & 0xffff_ff00) | (rawValue & 0x0000_00ff)) }

    /// `MAJ:MIN`.
    public var description: String { "\(major):\(minor)" }

    /// Parses `MAJ:MIN` (decimal); nil if the text is not of that form.
    public init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = UInt32(parts[0]), let minor = UInt32(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    /// Orders by major, then minor.
    public static func < (lhs: DeviceNumber, rhs: DeviceNumber) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}
