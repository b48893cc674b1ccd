/// An access key pair for SigV4 and, for temporary credentials, the session token.
///
/// Its description names the access key ID only: the secret and the token never appear in
/// logs, errors or test failure messages.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible {
    /// The access key ID (`AKIA…`), public: it appears in every `Authorization` header.
    public var accessKeyID: String
    /// The secret access key. Never printed.
    public var secretAccessKey: String
    /// The session token of temporary credentials (`AWS_SESSION_TOKEN`), sent as
    /// `x-amz-security-token`. Never printed.
    public var sessionToken: String?

    /// Credentials from their parts.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// `access key AKIA… (secret hidden)`, plus whether a session token is set.
    public var description: String {
        "access key \(accessKeyID) (secret hidden\(sessionToken == nil ? "" : ", session token hidden"))"
    }
}
