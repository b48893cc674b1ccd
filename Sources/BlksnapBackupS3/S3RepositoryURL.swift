import BlksnapBackup

/// A repository in a bucket: `s3://BUCKET[/PREFIX]`, as `--repo` takes it.
///
/// The endpoint, region and credentials come from the AWS environment
/// (`S3Configuration.fromEnvironment`), never from the URL: a URL carrying a user, a
/// password, a query or a fragment is refused, so that no secret lands in a shell history,
/// a log line or `--json`.
public struct S3RepositoryURL: Hashable, Sendable, CustomStringConvertible {
    /// The bucket.
    public var bucket: String
    /// The key prefix of the repository (no leading or trailing `/`; empty: the bucket's root).
    public var prefix: String

    /// Whether `text` names a bucket rather than a directory.
    public static func isS3(_ text: String) -> Bool { text.hasPrefix("s3://") }

    /// Parses `s3://BUCKET[/PREFIX]`.
    public init(parsing text: String) throws(BackupError) {
        guard Self.isS3(text) else {
            throw BackupError(.refused, "'\(text)' is not an s3:// URL (EINVAL): give s3://BUCKET[/PREFIX]", errno: .invalidArgument)
        }
        let rest = text.dropFirst("s3://".count)
        let slash = rest.firstIndex(of: "/")
        let authority = String(slash.map { rest[..<$0] } ?? rest)
        let path = slash.map { String(rest[rest.index(after: $0)...]) } ?? ""
        if authority.contains("@") {
            throw BackupError(.refused, "the repository URL carries credentials before '@' (EINVAL): it was refused and is not repeated here; give s3://BUCKET[/PREFIX] and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) instead", errno: .invalidArgument)
        }
        if path.contains("?") || path.contains("#") || authority.contains("?") || authority.contains("#") {
            throw BackupError(.refused, "the repository URL carries a query or fragment (EINVAL): it may hold a secret, so it was refused and is not repeated here; give s3://BUCKET[/PREFIX]", errno: .invalidArgument)
        }
        guard Self.isValidBucket(authority) else {
            throw BackupError(.refused, "'\(authority)' is not a bucket name (EINVAL): 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit", errno: .invalidArgument)
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        if components.contains(where: { $0 == "." || $0 == ".." }) {
            throw BackupError(.refused, "the prefix '\(path)' has a '.' or '..' component (EINVAL): give a plain key prefix", errno: .invalidArgument)
        }
        bucket = authority
        prefix = components.joined(separator: "/")
    }

    /// `s3://bucket/prefix`.
    public var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    /// The key of `name` (relative to the repository's root) under `area` (`points`, `manifests`).
    public func key(_ area: String, _ name: String) -> String {
        (prefix.isEmpty ? "" : prefix + "/") + area + "/" + name
    }

    /// S3's bucket naming rules (the DNS-compatible ones every gateway accepts).
    static func isValidBucket(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        let allowed = { (byte: UInt8) in (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2E || byte == 0x2D }
        let edge = { (byte: UInt8) in (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) }
        return bytes.allSatisfy(allowed) && edge(bytes.first!) && edge(bytes.last!) && !name.contains("..")
    }
}
