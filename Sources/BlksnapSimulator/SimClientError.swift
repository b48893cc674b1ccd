import BlksnapKit
import SystemPackage

/// A failure talking to a simulator server, or a management request it refused.
///
/// Carries the errno and what it means here, e.g.
/// "simulator at /run/sim.sock is not running (ECONNREFUSED)".
public struct SimClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The errno: from `connect`, from the server, or `ECONNRESET` for a lost connection.
    public var errno: Errno
    /// What failed, in words, ending with the errno's name.
    public var message: String

    /// Creates an error.
    public init(errno: Errno, message: String) {
        self.errno = errno
        self.message = message
    }

    public var description: String { message }

    /// The symbolic name of an errno (`ECONNREFUSED`), as ``ErrnoName`` spells it.
    public static func name(of code: Int32) -> String { ErrnoName.name(of: Errno(rawValue: code)) }
}
