import Crypto
import Foundation

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for requests signed in the `Authorization`
/// header, as the S3 API and every SigV4 service take it.
///
/// Written here with swift-crypto's HMAC and SHA-256 because no maintained Swift S3 SDK is
/// available to this project. It follows the published algorithm step by step: the canonical
/// request, the string to sign, the signing key derived from the secret, date, region and
/// service, and the signature; ``S3SignatureV4Tests`` checks it against AWS's published test
/// vectors (the `aws-sig-v4-test-suite` and the S3 API reference's examples).
///
/// Paths are encoded once and never normalized (S3's rule: `/a//b/../c` is a key, not a path to
/// simplify); query names and values are encoded with the same rule and sorted by name, then by
/// value. Header values are trimmed, runs of spaces become one, and repeated headers are joined
/// with commas in the order they were given.
public struct S3SignatureV4: Sendable {
    /// The algorithm's name, the first word of the `Authorization` header.
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash S3 accepts in place of a body's SHA-256 (the body is then not signed).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of no bytes, the payload hash of a request without a body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// What the signature covers of the request's body.
    public enum Payload: Sendable, Equatable {
        /// The body is not signed (`UNSIGNED-PAYLOAD`, S3 only): for bodies not hashed ahead of
        /// sending. TLS still protects them in transit.
        case unsigned
        /// The body's SHA-256 in lowercase hex (``S3SignatureV4/hexSHA256(_:)``).
        case sha256(String)

        /// The hash of `bytes`, signed.
        public static func hashing<Bytes: Sequence>(_ bytes: Bytes) -> Payload where Bytes.Element == UInt8 {
            .sha256(S3SignatureV4.hexSHA256(Array(bytes)))
        }

        /// The value of the canonical request's last line and of `x-amz-content-sha256`.
        public var canonicalValue: String {
            switch self {
            case .unsigned: S3SignatureV4.unsignedPayload
            case .sha256(let hex): hex
            }
        }
    }

    /// A request as the signature sees it. Path and query are given decoded; the signer encodes
    /// them, and ``S3SignatureV4/encodedPath(_:)`` and ``S3SignatureV4/canonicalQueryString(_:)``
    /// give the same encoding for the wire, so what is sent is what was signed.
    public struct Request: Sendable {
        /// The HTTP method, upper case (`GET`, `PUT`, …).
        public var method: String
        /// The `Host` header's value: host, plus `:port` unless it is the scheme's default.
        public var host: String
        /// The decoded path, starting with `/` (`/bucket/key with spaces`).
        public var path: String
        /// Decoded query parameters, in any order; a parameter without a value has `""`.
        public var query: [(name: String, value: String)]
        /// Further headers to sign (and send), in the order given; `Host`, `X-Amz-Date`,
        /// `X-Amz-Content-SHA256` and `X-Amz-Security-Token` are added by the signer.
        public var headers: [(name: String, value: String)]
        /// What the signature covers of the body.
        public var payload: Payload

        /// A request to sign.
        public init(
            method: String, host: String, path: String, query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)] = [], payload: Payload = .sha256(S3SignatureV4.emptyPayloadHash)
        ) {
            self.method = method
            self.host = host
            self.path = path
            self.query = query
            self.headers = headers
            self.payload = payload
        }
    }

    /// The result of signing: every intermediate value (for tests and diagnostics) and the
    /// headers to send. None of them contains the secret key.
    public struct Signature: Sendable {
        /// The canonical request, lines joined by `\n`.
        public var canonicalRequest: String
        /// The string to sign: algorithm, timestamp, scope and the canonical request's hash.
        public var stringToSign: String
        /// The signed header names, lower case, sorted, joined by `;`.
        public var signedHeaders: String
        /// The signature, 64 lowercase hex digits.
        public var signature: String
        /// The `Authorization` header's value.
        public var authorization: String
        /// The headers to send with the request: the caller's, then `x-amz-date`,
        /// `x-amz-content-sha256` (S3), `x-amz-security-token` (if any) and `Authorization`.
        public var headers: [(name: String, value: String)]
    }

    /// The access key pair and, for temporary credentials, the session token.
    public var credentials: S3Credentials
    /// The region of the signature's scope (`us-east-1`; Ceph's RGW takes any name its zone group has, `default` too).
    public var region: String
    /// The service of the scope: `s3` for S3 (which adds `x-amz-content-sha256` to every request).
    public var service: String

    /// A signer for `service` in `region` with `credentials`.
    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Signs `request` as of `date`.
    public func sign(_ request: Request, at date: Date) -> Signature {
        let stamp = S3SignatureV4.timestamp(date)
        let day = String(stamp.prefix(8))
        var headers = request.headers
        headers.append((name: "x-amz-date", value: stamp))
        if service == "s3" {
            headers.append((name: "x-amz-content-sha256", value: request.payload.canonicalValue))
        }
        if let token = credentials.sessionToken {
            headers.append((name: "x-amz-security-token", value: token))
        }
        let (canonicalHeaders, signedHeaders) = S3SignatureV4.canonicalHeaders(
            [(name: "host", value: request.host)] + headers)
        let canonicalRequest = [
            request.method,
            S3SignatureV4.encodedPath(request.path),
            S3SignatureV4.canonicalQueryString(request.query),
            canonicalHeaders,
            signedHeaders,
            request.payload.canonicalValue,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            S3SignatureV4.algorithm, stamp, scope, S3SignatureV4.hexSHA256(Array(canonicalRequest.utf8)),
        ].joined(separator: "\n")
        let key = S3SignatureV4.signingKey(secret: credentials.secretAccessKey, day: day, region: region, service: service)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)
        let signature = S3SignatureV4.hex(mac.withUnsafeBytes { Array($0) })
        let authorization = "\(S3SignatureV4.algorithm) Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        headers.append((name: "Authorization", value: authorization))
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
            signature: signature, authorization: authorization, headers: headers)
    }

    /// The signing key: HMAC-SHA256 chained over the day (`yyyyMMdd`), region, service and
    /// `aws4_request`, starting from `"AWS4" + secret`.
    public static func signingKey(secret: String, day: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }

    /// `x-amz-date`'s form of `date`: `yyyyMMdd'T'HHmmss'Z'`, in UTC.
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { let v = value ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year ?? 1970)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
    }

    /// The canonical header block (each `name:value` line ending in `\n`) and the signed
    /// header list: names lower case and sorted, values trimmed with runs of spaces collapsed,
    /// repeated names joined by commas in the order given.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (block: String, signed: String) {
        var values: [String: [String]] = [:]
        for header in headers {
            values[header.name.lowercased(), default: []].append(normalizedHeaderValue(header.value))
        }
        let names = values.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let block = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// `value` trimmed of leading and trailing whitespace, with runs of spaces made one.
    static func normalizedHeaderValue(_ value: String) -> String {
        var result = ""
        var lastWasSpace = false
        for character in value.trimmingCharacters(in: .whitespaces) {
            if character == " " || character == "\t" {
                if !lastWasSpace { result.append(" ") }
                lastWasSpace = true
            } else {
                result.append(character)
                lastWasSpace = false
            }
        }
        return result
    }

    /// The canonical (and wire) query string: each name and value URI-encoded, pairs sorted
    /// by encoded name then encoded value, `name=value` joined by `&` (`name=` with no value).
    public static func canonicalQueryString(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncode($0.name), uriEncode($0.value)) }
            .sorted { lhs, rhs in
                lhs.0 == rhs.0
                    ? Array(lhs.1.utf8).lexicographicallyPrecedes(Array(rhs.1.utf8))
                    : Array(lhs.0.utf8).lexicographicallyPrecedes(Array(rhs.0.utf8))
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// The canonical (and wire) path: every byte URI-encoded but `/`, once, not normalized;
    /// an empty path is `/`.
    public static func encodedPath(_ path: String) -> String {
        path.isEmpty ? "/" : uriEncode(path, keepingSlash: true)
    }

    /// SigV4's `UriEncode`: the unreserved bytes `A-Z a-z 0-9 - . _ ~` as they are, every
    /// other byte of the UTF-8 as `%XX` (upper-case hex); `/` kept when `keepingSlash`.
    public static func uriEncode(_ string: String, keepingSlash: Bool = false) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                bytes.append(byte)
            case UInt8(ascii: "/") where keepingSlash:
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// SHA-256 of `bytes` in lowercase hex.
    public static func hexSHA256(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes).withUnsafeBytes { Array($0) })
    }

    /// `bytes` in lowercase hex.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
