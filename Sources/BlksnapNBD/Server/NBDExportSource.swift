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
    /// Names of the dirty bitmaps offered, each as the context `qemu:dirty-bitmap:NAME`
    /// (empty: none).
    var dirtyBitmapNames: [String] { get }

    /// Fills `buffer` with the bytes at `offsetBytes` (inside the export). Throws when they
    /// cannot be read (the errno goes to the client through ``NBDError/init(errno:)``); a
    /// ``NBDSourceError/isFatal`` error stops the whole server.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(NBDSourceError)

    /// The `base:allocation` descriptors for `offsetBytes ..< offsetBytes + lengthBytes`
    /// (inside the export), from its start, at most `limit`: `NBD_STATE_HOLE` /
    /// `NBD_STATE_ZERO` flags where the source knows them. The default reports the whole
    /// window as data.
    func allocation(offsetBytes: UInt64, lengthBytes: UInt64, limit: Int) throws(NBDSourceError) -> [NBDExtent]

    /// The dirty byte ranges of bitmap `name` that overlap `offsetBytes ..< offsetBytes +
    /// lengthBytes`: sorted, disjoint (they may extend past the window; the server clips).
    func dirtyRanges(bitmap name: String, offsetBytes: UInt64, lengthBytes: UInt64) throws(NBDSourceError) -> [(offsetBytes: UInt64, lengthBytes: UInt64)]

    /// Polled about once a second: a fatal error when the source can no longer be served
    /// (a snapshot destroyed or corrupted), else nil. The default is always healthy.
    func healthCheck() -> NBDSourceError?
}

extension NBDExportSource {
    /// The whole window is data.
    public func allocation(offsetBytes: UInt64, lengthBytes: UInt64, limit: Int) throws(NBDSourceError) -> [NBDExtent] {
        [NBDExtent(lengthBytes: lengthBytes, flags: 0)]
    }

    /// No dirty bitmaps.
    public func dirtyRanges(bitmap name: String, offsetBytes: UInt64, lengthBytes: UInt64) throws(NBDSourceError) -> [(offsetBytes: UInt64, lengthBytes: UInt64)] {
        []
    }

    /// Always healthy.
    public func healthCheck() -> NBDSourceError? { nil }

    /// The descriptor the protocol machine offers for this source.
    public func exportDescriptor() -> NBDExportDescriptor {
        NBDExportDescriptor(
            name: name, sizeBytes: sizeBytes, description: description, preferredBlockBytes: preferredBlockBytes,
            flags: [.hasFlags, .readOnly, .canMultiConn, .sendCache, .sendDF],
            metaContexts: ["base:allocation"] + dirtyBitmapNames.map { "qemu:dirty-bitmap:" + $0 })
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
