/// How `backup create` stores the clusters it writes: as they are, or compressed in
/// qcow2's compressed-cluster format (each cluster on its own, packed byte by byte).
///
/// A cluster whose compressed form is not smaller than the cluster is stored as it is.
/// Whatever the choice, the catalog's SHA-256 of a data cluster is over its uncompressed
/// bytes, so `verify`, `restore` and `serve` check the same thing on every kind of file.
public enum BackupCompression: Hashable, Sendable, CustomStringConvertible {
    /// Clusters stored as they are (the default).
    case none
    /// Raw deflate (zlib), qcow2's default compression type (0), readable by every qemu.
    case zlib
    /// zstd at `level` (qcow2 compression type 1: the header field and incompatible
    /// feature bit 3 are set, so readers that do not know zstd refuse the file).
    case zstd(level: Int32)

    /// The zstd level when none is given: 3, zstd's and qemu's default.
    public static let defaultZstdLevel: Int32 = 3
    /// The zstd levels accepted (20–22 need more memory than a backup should take).
    public static let zstdLevels: ClosedRange<Int32> = 1...19

    /// Parses `none`, `zlib`, `zstd` or `zstd:LEVEL`.
    ///
    /// - Throws: ``BackupError`` `.refused` naming what is accepted.
    public init(parsing text: String) throws(BackupError) {
        let lowered = text.lowercased()
        switch lowered {
        case "none": self = .none
        case "zlib": self = .zlib
        case "zstd": self = .zstd(level: Self.defaultZstdLevel)
        default:
            guard lowered.hasPrefix("zstd:"), let level = Int32(lowered.dropFirst(5)) else {
                throw BackupError(.refused, "compression '\(text)' is not one of none, zlib, zstd, zstd:LEVEL (EINVAL)", errno: .invalidArgument)
            }
            guard Self.zstdLevels.contains(level) else {
                throw BackupError(.refused, "zstd level \(level) is outside \(Self.zstdLevels.lowerBound)...\(Self.zstdLevels.upperBound) (EINVAL): pick a level in that range (3 is zstd's default)", errno: .invalidArgument)
            }
            self = .zstd(level: level)
        }
    }

    /// `none`, `zlib` or `zstd:LEVEL`: what ``init(parsing:)`` reads back.
    public var description: String {
        switch self {
        case .none: return "none"
        case .zlib: return "zlib"
        case .zstd(let level): return "zstd:\(level)"
        }
    }

    /// The qcow2 compression type of the files written, nil when nothing is compressed.
    public var qcow2Type: QCOW2CompressionType? {
        switch self {
        case .none: return nil
        case .zlib: return .zlib
        case .zstd: return .zstd
        }
    }
}
