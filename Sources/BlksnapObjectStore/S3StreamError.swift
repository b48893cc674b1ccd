/// A misuse or a limit of ``S3MultipartWriter`` or ``S3RangedReader``, as opposed to a failed
/// request (which is an ``S3Error``): what failed, on which object, and what to do about it.
/// It never contains a secret (only the bucket, the key and offsets).
public struct S3StreamError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// A write reached into a part the writer had already uploaded: the caller broke the
        /// writer's ordering contract (a programming error).
        case partAlreadySent
        /// A write ends past the largest object the part size allows (10,000 parts).
        case objectTooLarge
        /// The part size, parallelism, block size or cache size cannot work.
        case invalidArgument
        /// The writer was used after ``S3MultipartWriter/finish()``, ``S3MultipartWriter/abort()``
        /// or a failure.
        case closed
        /// A ranged read returned other bytes than asked for: the object changed (another
        /// ETag) or was cut short while it was read.
        case objectChanged
    }

    /// What went wrong.
    public var kind: Kind
    /// `s3://bucket/key`.
    public var resource: String
    /// What happened, with the offsets involved.
    public var message: String
    /// What to do about it.
    public var remedy: String

    /// An error from its parts.
    public init(kind: Kind, resource: String, message: String, remedy: String) {
        self.kind = kind
        self.resource = resource
        self.message = message
        self.remedy = remedy
    }

    /// `S3 stream s3://b/k: message. Remedy: remedy.`
    public var description: String {
        "S3 stream \(resource): \(message). Remedy: \(remedy)."
    }
}
