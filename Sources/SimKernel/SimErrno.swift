#if canImport(Glibc)
import Glibc
#endif

/// An errno value returned by the simulated kernel (positive, as in `<errno.h>`).
///
/// SimKernel knows nothing of BlksnapKit's error types: it returns raw errno codes
/// exactly as the v5 module would, and the caller names them.
public struct SimErrno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The positive errno code (`ENOENT` = 2, ...).
    public var code: Int32

    /// Wraps a positive errno code.
    public init(_ code: Int32) { self.code = code }

    public var description: String { String(cString: strerror(code)) + " (errno \(code))" }
}
