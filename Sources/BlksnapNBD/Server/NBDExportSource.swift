import SystemPackage

/// Where an export's bytes and block status come from. The server knows nothing else of
/// a source: a snapshot image (``SnapshotImageSource``) and a backup's qcow2 chain are
/// served through the same ``NBDServer``.
///
/// Every method may be called from several threads at once (one per request in flight)
/// and may block: the server calls them off its event loops.
public protocol NBDExportSource: Sendable {
    /// The export's name, as clients select it (`nbd+unix:///NAME?socket=...`).
    var name: String { get }
    /// Size in bytes.
    var sizeBytes: UInt64 { get }
    /// A line for `NBD_INFO_DESCRIPTION` and `NBD_OPT_LIST`.
    var description: String { get }
    /// Preferred block size: a power of two, 512 ... 32 MiB.
    var preferredBlockBytes: UInt32 { get }
    /// The metadata contexts offered, in the order their ids are given (the default:
    /// `base:allocation` only).
    var metaContexts: [NBDMetaContext] { get }

    /// Fills `buffer` with the bytes at `offsetBytes` (inside the export). Throws when they
    /// cannot be read (the errno goes to the client through ``NBDError/init(errno:)``); a
    /// ``NBDSourceError/isFatal`` error stops the whole server.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(NBDSourceError)

    /// Adds the status of `context` (one of ``metaContexts``) over the window of `extents`
    /// to it: runs in any order, which the builder clips, sorts and merges; bytes left out
    /// are data (`base:allocation`) or clean (a dirty bitmap). A source may stop once
    /// ``NBDExtentBuilder/isFull``. The default adds nothing: the whole window is data and
    /// clean.
    func blockStatus(_ context: NBDMetaContext, into extents: inout NBDExtentBuilder) throws(NBDSourceError)

    /// Polled about once a second: a fatal error when the source can no longer be served
    /// (a snapshot destroyed or corrupted), else nil. The default is always healthy.
    func healthCheck() -> NBDSourceError?
}

extension NBDExportSource {
    /// `base:allocation` only.
    public var metaContexts: [NBDMetaContext] { [.allocation] }

    /// Nothing: the whole window is data and clean.
    public func blockStatus(_ context: NBDMetaContext, into extents: inout NBDExtentBuilder) throws(NBDSourceError) {}

    /// Always healthy.
    public func healthCheck() -> NBDSourceError? { nil }

    /// The descriptor the protocol machine offers for this source.
    public func exportDescriptor() -> NBDExportDescriptor {
        NBDExportDescriptor(
            name: name, sizeBytes: sizeBytes, description: description, preferredBlockBytes: preferredBlockBytes,
            flags: [.hasFlags, .readOnly, .canMultiConn, .sendCache, .sendDF],
            metaContexts: metaContexts)
    }
}

/// A source could not answer: the errno of the failure (the client gets its NBD error,
/// ``NBDError/init(errno:)``), what failed, and whether the server must stop (its data
/// can no longer be trusted or reached).
public struct NBDSourceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the request fails with, as a POSIX error.
    public var errno: Errno
    /// What failed, its cause and what to do (for the server's log and the client's error chunk).
    public var message: String
    /// True when the source is gone or corrupted: every later request fails `EIO` and the
    /// server stops.
    public var isFatal: Bool

    /// Creates an error.
    public init(errno: Errno, message: String, isFatal: Bool) {
        self.errno = errno
        self.message = message
        self.isFatal = isFatal
    }

    /// The error the client gets.
    public var nbdError: NBDError { NBDError(errno: errno) }

    /// The message.
    public var description: String { message }
}
