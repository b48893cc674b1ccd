/// Where an S3 service answers: scheme, host and port, from a URL such as
/// `http://127.0.0.1:7480` or `https://s3.eu-west-1.amazonaws.com`. Requests use path-style
/// addressing (`/bucket/key`), which every S3 implementation (Ceph's RGW, MinIO) takes
/// without DNS names per bucket.
public struct S3Endpoint: Sendable, Equatable, CustomStringConvertible {
    /// `http` or `https`.
    public var scheme: String
    /// The host name or address (IPv6 without brackets).
    public var host: String
    /// The port, explicit or the scheme's default.
    public var port: Int

    /// Parses `url`: `http(s)://host[:port][/]`. Paths, queries and credentials in the URL are refused.
    public init(url: String) throws(S3Error) {
        func refuse(_ why: String) -> S3Error {
            S3Error(
                code: S3Error.configurationCode,
                message: "endpoint URL '\(url)' \(why); expected http(s)://HOST[:PORT], e.g. http://127.0.0.1:7480",
                operation: "LoadConfiguration")
        }
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw refuse("has no scheme") }
        let scheme = parts[0].lowercased()
        guard scheme == "http" || scheme == "https" else { throw refuse("has scheme '\(scheme)', not http or https") }
        var authority = Substring(parts[1])
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        guard !authority.contains("/"), !authority.contains("?"), !authority.contains("#") else {
            throw refuse("has a path or query")
        }
        guard !authority.contains("@") else { throw refuse("carries credentials") }
        var host = authority
        var port = scheme == "https" ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw refuse("has an unclosed IPv6 bracket") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = Int(rest.dropFirst()), (1...65535).contains(value) else { throw refuse("has a bad port") }
                port = value
            } else if !rest.isEmpty {
                throw refuse("has text after the IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else {
                throw refuse("has a bad port")
            }
            port = value
        }
        guard !host.isEmpty else { throw refuse("has no host") }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
    }

    /// Whether the port is the scheme's default (then the `Host` header omits it).
    public var isDefaultPort: Bool { (scheme == "http" && port == 80) || (scheme == "https" && port == 443) }

    /// The `Host` header's value: host, and `:port` unless it is the default.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return isDefaultPort ? name : "\(name):\(port)"
    }

    /// `scheme://host[:port]`.
    public var description: String { "\(scheme)://\(hostHeader)" }
}
