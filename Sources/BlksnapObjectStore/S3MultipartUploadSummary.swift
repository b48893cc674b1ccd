/// An open multipart upload, as ListMultipartUploads lists it.
public struct S3MultipartUploadSummary: Sendable, Equatable {
    /// The key the upload will create.
    public var key: String
    /// The upload's id, for UploadPart, CompleteMultipartUpload and AbortMultipartUpload.
    public var uploadID: String
    /// When it was created, as the service gives it (ISO 8601).
    public var initiated: String

    /// A summary from its parts.
    public init(key: String, uploadID: String, initiated: String) {
        self.key = key
        self.uploadID = uploadID
        self.initiated = initiated
    }
}
