#if canImport(Glibc)
import Glibc
#endif

/// A benchmark step that failed: what, and the errno when a system call said why.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    /// What failed.
    public var message: String

    init(_ message: String, errno code: Int32? = nil) {
        if let code {
            self.message = message + ": " + String(cString: strerror(code)) + " (errno \(code))"
        } else {
            self.message = message
        }
    }

    /// The message.
    public var description: String { message }
}
