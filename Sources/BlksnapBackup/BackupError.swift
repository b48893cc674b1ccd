import BlksnapKit
import SystemPackage

/// A backup operation that failed: what, the errno where one applies, what it means here
/// and what to do.
public struct BackupError: Error, Hashable, Sendable, CustomStringConvertible {
    /// How the failure should be reported (the CLI maps it to an exit status).
    public enum Kind: String, Sendable, Hashable {
        /// A system call failed (I/O, permissions, space).
        case io
        /// The request was refused (mounted or smaller target, unknown id, bad repository).
        case refused
        /// Data did not match its recorded hash, or a file's structure is broken.
        case corrupted
        /// The snapshot's image was corrupted while it was being read.
        case snapshotCorrupted
    }

    /// The kind.
    public var kind: Kind
    /// The whole message: operation, object, errno name, meaning, remedy.
    public var message: String
    /// The errno, when a system call failed.
    public var errno: Errno?
    /// The BlksnapKit category when the failure came from the snapshot side (module
    /// unavailable, refused, corrupted): it decides the exit status over ``kind``.
    public var category: BlksnapErrorCategory?

    /// Creates an error with a complete message.
    public init(_ kind: Kind, _ message: String, errno: Errno? = nil, category: BlksnapErrorCategory? = nil) {
        self.kind = kind
        self.message = message
        self.errno = errno
        self.category = category
    }

    /// A failed system call on `path`: `"<operation> <path> failed: <strerror> (<NAME>): <remedy>"`.
    public static func io(_ operation: String, _ path: String, _ errno: Errno, remedy: String? = nil) -> BackupError {
        var text = "\(operation) \(path) failed: \(errno.description) (\(Self.name(of: errno)))"
        if let hint = remedy ?? Self.defaultRemedy(errno) { text += ": \(hint)" }
        return BackupError(.io, text, errno: errno)
    }

    /// The message.
    public var description: String { message }

    static func name(of errno: Errno) -> String { ErrnoName.name(of: errno) }

    static func defaultRemedy(_ errno: Errno) -> String? {
        switch errno {
        case .noSpace: return "the repository's filesystem is full; free space or use another --repo"
        case .permissionDenied, .notPermitted: return "run as a user that may write there (or as root)"
        case .readOnlyFileSystem: return "the filesystem is mounted read-only; use another --repo"
        case .ioError: return "the disk under it reported an I/O error; check it (dmesg)"
        case .noSuchFileOrDirectory: return "check the path"
        case .notDirectory: return "a component of the path is a file, not a directory; check the path"
        default: return nil
        }
    }
}
