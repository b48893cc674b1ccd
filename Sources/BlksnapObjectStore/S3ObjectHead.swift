/// An object's metadata, as HeadObject (and GetObject) answer it.
public struct S3ObjectHead: Sendable, Equatable {
    /// The size of the whole object in bytes (for a ranged GetObject: from `Content-Range`).
    public var size: Int64
    /// The ETag, quoted as the service gives it.
    public var eTag: String
    /// `Last-Modified`, as sent (an HTTP date).
    public var lastModified: String?
    /// `Content-Type`, as sent.
    public var contentType: String?

    /// Metadata from its parts.
    public init(size: Int64, eTag: String, lastModified: String? = nil, contentType: String? = nil) {
        self.size = size
        self.eTag = eTag
        self.lastModified = lastModified
        self.contentType = contentType
    }
}
