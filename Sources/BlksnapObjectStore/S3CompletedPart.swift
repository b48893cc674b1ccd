/// A part of a multipart upload as UploadPart returned it, for CompleteMultipartUpload.
public struct S3CompletedPart: Sendable, Equatable, Hashable {
    /// The part's number, 1 to 10,000.
    public var partNumber: Int
    /// The ETag the service gave the part (quoted).
    public var eTag: String

    /// A part from its parts.
    public init(partNumber: Int, eTag: String) {
        self.partNumber = partNumber
        self.eTag = eTag
    }
}
