import CBlksnapUAPI

/// The version a blksnap module reports: `struct blksnap_version` (v5 reports 2.0.0.0).
@frozen
public struct Version: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Major version (2 for v5).
    public var major: UInt16
    /// Minor version.
    public var minor: UInt16
    /// Revision.
    public var revision: UInt16
    /// Build number.
    public var build: UInt16

    /// Creates a version from its four parts.
    public init(major: UInt16, minor: UInt16, revision: UInt16, build: UInt16) {
        self.major = major
        self.minor = minor
        self.revision = revision
        self.build = build
    }

    /// Copies a kernel `struct blksnap_version`.
    public init(_ version: blksnap_version) {
        self.init(major: version.major, minor: version.minor, revision: version.revision, build: version.build)
    }

    /// The version the v5 patch series reports.
    public static let v5 = Version(major: 2, minor: 0, revision: 0, build: 0)

    /// `MAJOR.MINOR.REVISION.BUILD`.
    public var description: String { "\(major).\(minor).\(revision).\(build)" }

    /// Orders by major, minor, revision, then build.
    public static func < (lhs: Version, rhs: Version) -> Bool {
        (lhs.major, lhs.minor, lhs.revision, lhs.build) < (rhs.major, rhs.minor, rhs.revision, rhs.build)
    }
}
