import Foundation

/// Everything ``S3Client`` needs: the endpoint, the region, the credentials, and how it
/// signs, times out and retries.
///
/// ``S3Configuration/fromEnvironment(_:)`` takes the settings as the AWS CLI and SDKs do, so a
/// repository on S3 works with the environment an operator already has:
/// - endpoint: `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, else the profile's
///   `endpoint_url`, else `https://s3.REGION.amazonaws.com`;
/// - region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's `region`, else `us-east-1`;
/// - credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else
///   the profile's `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`;
/// - the CAs an `https` endpoint's certificate is checked against: `AWS_CA_BUNDLE`, else the
///   profile's `ca_bundle`, else the system's;
/// - the profile: `AWS_PROFILE`, else `default`, in `~/.aws/credentials` and `~/.aws/config`
///   (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE` name other files).
public struct S3Configuration: Sendable, CustomStringConvertible {
    /// Where the service answers.
    public var endpoint: S3Endpoint
    /// The region of the signatures' scope.
    public var region: String
    /// The access key pair (and session token).
    public var credentials: S3Credentials
    /// Whether bodies are hashed into the signature (`true`) or sent as `UNSIGNED-PAYLOAD`.
    public var signsPayloads: Bool
    /// How failed requests are retried.
    public var retry: S3RetryPolicy
    /// The longest one attempt may take, connection and body included.
    public var requestTimeout: Duration
    /// The most bytes a response body may have (GetObject's included); larger answers fail.
    public var maxResponseBytes: Int
    /// A PEM file of the CAs to trust for an `https` endpoint instead of the system's (a
    /// gateway with a private CA); nil: the system's.
    public var caFile: String?
    /// Seconds added to this machine's clock when signing: a test's way to be a host whose
    /// clock is off (`RequestTimeTooSkewed`), with no way to set it from outside the package.
    var signingClockOffset: TimeInterval = 0

    /// A configuration from its parts.
    public init(
        endpoint: S3Endpoint, region: String, credentials: S3Credentials, signsPayloads: Bool = true,
        retry: S3RetryPolicy = .standard, requestTimeout: Duration = .seconds(60), maxResponseBytes: Int = 1 << 30,
        caFile: String? = nil
    ) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.signsPayloads = signsPayloads
        self.retry = retry
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.caFile = caFile
    }

    /// The configuration the AWS environment variables and shared files describe (see the
    /// type's documentation for the order). Throws a ``S3Error`` with code
    /// ``S3Error/configurationCode`` when the named profile does not exist, no credentials are
    /// found, or the endpoint URL is malformed.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(S3Error) -> S3Configuration {
        func nonEmpty(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        let files = try S3SharedConfigFiles.load(environment: environment)
        let profileName = nonEmpty("AWS_PROFILE") ?? "default"
        let profile = files.profile(profileName)
        if nonEmpty("AWS_PROFILE") != nil && profile == nil {
            throw S3Error(
                code: S3Error.configurationCode,
                message: "AWS_PROFILE names profile '\(profileName)', which neither the credentials nor the config file has "
                    + "(\(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials"), \(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config"))",
                operation: "LoadConfiguration")
        }
        let region = nonEmpty("AWS_REGION") ?? nonEmpty("AWS_DEFAULT_REGION") ?? profile?["region"] ?? "us-east-1"
        let endpointURL = nonEmpty("AWS_ENDPOINT_URL_S3") ?? nonEmpty("AWS_ENDPOINT_URL") ?? profile?["endpoint_url"]
            ?? "https://s3.\(region).amazonaws.com"
        let credentials: S3Credentials
        if let accessKey = nonEmpty("AWS_ACCESS_KEY_ID") {
            guard let secret = nonEmpty("AWS_SECRET_ACCESS_KEY") else {
                throw S3Error(
                    code: S3Error.configurationCode,
                    message: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both (or neither, to use a profile)",
                    operation: "LoadConfiguration")
            }
            credentials = S3Credentials(accessKeyID: accessKey, secretAccessKey: secret, sessionToken: nonEmpty("AWS_SESSION_TOKEN"))
        } else if let profile, let accessKey = profile["aws_access_key_id"], !accessKey.isEmpty {
            guard let secret = profile["aws_secret_access_key"], !secret.isEmpty else {
                throw S3Error(
                    code: S3Error.configurationCode,
                    message: "profile '\(profileName)' has aws_access_key_id but no aws_secret_access_key",
                    operation: "LoadConfiguration")
            }
            let token = profile["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
            credentials = S3Credentials(accessKeyID: accessKey, secretAccessKey: secret, sessionToken: token)
        } else {
            throw S3Error(
                code: S3Error.configurationCode,
                message: "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE to a profile "
                    + "with aws_access_key_id and aws_secret_access_key in ~/.aws/credentials",
                operation: "LoadConfiguration")
        }
        let caFile = nonEmpty("AWS_CA_BUNDLE") ?? profile?["ca_bundle"].flatMap { $0.isEmpty ? nil : $0 }
        return S3Configuration(endpoint: try S3Endpoint(url: endpointURL), region: region, credentials: credentials, caFile: caFile)
    }

    /// Endpoint, region and access key ID; never the secret.
    public var description: String {
        "S3 \(endpoint) region \(region), \(credentials)"
    }
}
