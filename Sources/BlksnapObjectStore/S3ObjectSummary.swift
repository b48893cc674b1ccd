/// An object as ListObjectsV2 lists it.
public struct S3ObjectSummary: Sendable, Equatable {
    /// The object's key.
    public var key: String
    /// Its size in bytes.
    public var size: Int64
    /// Its ETag, as the service gives it (quoted; for a multipart object `"…-N"`).
    public var eTag: String
    /// When it was last written, as the service gives it (ISO 8601, `2026-12-07T16:00:00.000Z`).
    public var lastModified: String

    /// A summary from its parts.
    public init(key: String, size: Int64, eTag: String, lastModified: String) {
        self.key = key
        self.size = size
        self.eTag = eTag
        self.lastModified = lastModified
    }
}
