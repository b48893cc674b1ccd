import Foundation

/// A failed S3 request: the service's error code and message (from the XML error body, or
/// from the status when there is no body), the HTTP status, the request id, which operation on
/// which object, and what the code means and what to do about it.
///
/// Its description never contains a secret: the client builds it from the response and the
/// request's bucket and key only, and removes the secret key and session token should a
/// server echo them.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// The S3 error code (`NoSuchBucket`, `SignatureDoesNotMatch`, …), or one of the client's own:
    /// ``S3Error/transportCode`` (no HTTP answer), ``S3Error/invalidResponseCode`` (an answer
    /// that is not S3's), ``S3Error/configurationCode`` (settings that cannot work).
    public var code: String
    /// The service's message, or the client's account of what happened.
    public var message: String
    /// The HTTP status, when there was an answer.
    public var httpStatus: Int?
    /// The request id the service gave (`x-amz-request-id` or `<RequestId>`), for its operators.
    public var requestID: String?
    /// The S3 operation (`PutObject`, `ListObjectsV2`, …).
    public var operation: String
    /// `s3://bucket/key` (or `s3://bucket`) the request was about; empty for none.
    public var resource: String
    /// How many attempts were made (more than 1 when the error was retried).
    public var attempts: Int

    /// No HTTP answer (connection refused, reset, timeout).
    public static let transportCode = "Transport"
    /// An answer that is not S3's (unexpected status without an error body, unreadable XML).
    public static let invalidResponseCode = "InvalidResponse"
    /// Settings that cannot work (no credentials, a malformed endpoint URL, an unknown profile).
    public static let configurationCode = "Configuration"

    /// An error from its parts.
    public init(
        code: String, message: String, httpStatus: Int? = nil, requestID: String? = nil, operation: String,
        resource: String = "", attempts: Int = 1
    ) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.requestID = requestID
        self.operation = operation
        self.resource = resource
        self.attempts = attempts
    }

    /// Whether the same request may succeed later: 500, 502, 503, 504, S3's `SlowDown`,
    /// `InternalError`, `RequestTimeout`, `ServiceUnavailable`, and transport failures.
    public var isRetryable: Bool {
        if code == S3Error.transportCode { return true }
        if ["SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable", "RequestTimeTooSkewed"].contains(code) {
            return true
        }
        if let httpStatus { return [500, 502, 503, 504].contains(httpStatus) }
        return false
    }

    /// What the code means and what to do about it, for the codes a backup meets.
    public var explanation: (meaning: String, remedy: String) {
        switch code {
        case "SignatureDoesNotMatch":
            ("the server computed another signature from the same request: the secret access key does not belong to the access key ID",
             "check AWS_SECRET_ACCESS_KEY (or the profile's aws_secret_access_key) for this access key; a proxy that rewrites the path or headers has the same effect")
        case "InvalidAccessKeyId":
            ("the server knows no such access key ID", "check AWS_ACCESS_KEY_ID or the profile, and that the endpoint is the right server")
        case "AccessDenied":
            ("the credentials are valid but may not do this", "grant the user this operation on the bucket (bucket policy or user capabilities)")
        case "NoSuchBucket":
            ("the bucket does not exist on this endpoint", "create it, or check the bucket name, the endpoint (AWS_ENDPOINT_URL) and the region")
        case "NoSuchKey", "NotFound":
            ("no object has this key", "check the key and the prefix of the repository")
        case "NoSuchUpload":
            ("the multipart upload is not open (completed, aborted, or never created)", "start a new upload")
        case "EntityTooSmall":
            ("a part other than the last is under the minimum (5 MiB)", "upload parts of at least 5 MiB, only the last may be smaller")
        case "InvalidPart", "InvalidPartOrder":
            ("a listed part was not uploaded, or its ETag or order does not match", "list the parts with the ETags UploadPart returned, in ascending part number")
        case "InvalidRange":
            ("the range starts past the object's end", "ask for a range inside the object (HeadObject gives its size)")
        case "BucketAlreadyExists":
            ("another account owns a bucket with this name", "choose another bucket name")
        case "BucketAlreadyOwnedByYou":
            ("the bucket exists and is yours", "use it as it is")
        case "RequestTimeTooSkewed":
            ("this machine's clock differs from the server's by more than 15 minutes", "set the clock (NTP)")
        case "SlowDown", "ServiceUnavailable":
            ("the server asks for fewer requests", "retry later or with less concurrency")
        case "InternalError":
            ("the server failed on its side", "retry; if it persists, ask the server's operators with the request id")
        case S3Error.transportCode:
            ("no HTTP answer came from the endpoint", "check that the endpoint URL is right and the server runs and is reachable")
        case S3Error.configurationCode:
            ("the settings cannot make a working client", "fix the setting named in the message")
        case S3Error.invalidResponseCode:
            ("the endpoint's answer is not S3's", "check that the endpoint URL points at an S3 service")
        default:
            ("the service refused the request", "see the service's message; quote the request id to its operators")
        }
    }

    /// `S3 PutObject s3://b/k: HTTP 403 SignatureDoesNotMatch: message (request id …,
    /// N attempts). Meaning: …. Remedy: ….`
    public var description: String {
        var text = "S3 \(operation)"
        if !resource.isEmpty { text += " \(resource)" }
        text += ": "
        if let httpStatus { text += "HTTP \(httpStatus) " }
        text += code
        if !message.isEmpty { text += ": \(message)" }
        var details: [String] = []
        if let requestID, !requestID.isEmpty { details.append("request id \(requestID)") }
        if attempts > 1 { details.append("\(attempts) attempts") }
        if !details.isEmpty { text += " (\(details.joined(separator: ", ")))" }
        let (meaning, remedy) = explanation
        return text + ". Meaning: \(meaning). Remedy: \(remedy)."
    }

    /// This error with every occurrence of each of `secrets` in its texts replaced by `<hidden>`.
    func redacting(_ secrets: [String]) -> S3Error {
        var copy = self
        for secret in secrets where !secret.isEmpty {
            copy.message = copy.message.replacingOccurrences(of: secret, with: "<hidden>")
            copy.code = copy.code.replacingOccurrences(of: secret, with: "<hidden>")
            copy.requestID = copy.requestID?.replacingOccurrences(of: secret, with: "<hidden>")
            copy.resource = copy.resource.replacingOccurrences(of: secret, with: "<hidden>")
        }
        return copy
    }
}
