import BlksnapObjectStore
import Foundation
import Testing

/// SigV4 against AWS's published vectors: the `aws-sig-v4-test-suite` (service `service`,
/// region `us-east-1`, 2015-08-30T12:36:00Z, key AKIDEXAMPLE) and the examples of the S3 API
/// reference's "Signature Calculations for the Authorization Header" (bucket `examplebucket`,
/// 2013-05-24T00:00:00Z, key AKIAIOSFODNN7EXAMPLE). No network.
@Suite struct S3SignatureV4Tests {
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let suiteSigner = S3SignatureV4(
        credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let s3Signer = S3SignatureV4(
        credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3")
    static let unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var method = "GET"
        var path = "/"
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var body = ""
        var sessionToken: String?
        var signedHeaders = "host;x-amz-date"
        var signature: String
        var testDescription: String { name }
    }

    static let suiteVectors: [Vector] = [
        Vector(name: "get-vanilla", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        Vector(name: "get-vanilla-query", query: [("Param1", "value1")],
               signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
        Vector(name: "get-vanilla-query-order-key-case", query: [("Param2", "value2"), ("Param1", "value1")],
               signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        Vector(name: "get-vanilla-query-order-key (same key, values out of order)", query: [("Param1", "value2"), ("Param1", "value1")],
               signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
        Vector(name: "get-vanilla-query-order-value (values differing in case)", query: [("Param1", "value2"), ("Param1", "Value1")],
               signature: "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
        Vector(name: "get-vanilla-query-unreserved", query: [(unreserved, unreserved)],
               signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
        Vector(name: "get-vanilla-utf8-query", query: [("\u{1234}", "bar")],
               signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        Vector(name: "get-unreserved", path: "/" + unreserved,
               signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        Vector(name: "get-header-value-trim", headers: [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
               signedHeaders: "host;my-header1;my-header2;x-amz-date",
               signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        Vector(name: "get-header-key-duplicate", headers: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
               signedHeaders: "host;my-header1;x-amz-date",
               signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
        Vector(name: "get-header-value-order",
               headers: [("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")],
               signedHeaders: "host;my-header1;x-amz-date",
               signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
        Vector(name: "post-vanilla", method: "POST", signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        Vector(name: "post-vanilla-query", method: "POST", query: [("Param1", "value1")],
               signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
        Vector(name: "post-header-key-sort", method: "POST", headers: [("My-Header1", "value1")],
               signedHeaders: "host;my-header1;x-amz-date",
               signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
        Vector(name: "post-header-value-case", method: "POST", headers: [("My-Header1", "VALUE1")],
               signedHeaders: "host;my-header1;x-amz-date",
               signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
        Vector(name: "post-x-www-form-urlencoded", method: "POST",
               headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "Param1=value1",
               signedHeaders: "content-type;host;x-amz-date",
               signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
        Vector(name: "post-x-www-form-urlencoded-parameters", method: "POST",
               headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf8")], body: "Param1=value1",
               signedHeaders: "content-type;host;x-amz-date",
               signature: "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"),
        Vector(name: "post-sts-header-before", method: "POST",
               sessionToken: "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIe"
                   + "oIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0"
                   + "wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDr"
                   + "ypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==",
               signedHeaders: "host;x-amz-date;x-amz-security-token",
               signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    ]

    @Test(arguments: suiteVectors)
    func testSuiteVector(_ vector: Vector) {
        var signer = Self.suiteSigner
        signer.credentials.sessionToken = vector.sessionToken
        let signed = signer.sign(
            S3SignatureV4.Request(
                method: vector.method, host: "example.amazonaws.com", path: vector.path, query: vector.query,
                headers: vector.headers, payload: .hashing(Array(vector.body.utf8))),
            at: Self.suiteDate)
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)",
            "canonical request:\n\(signed.canonicalRequest)")
        #expect(!signed.headers.contains { $0.name.lowercased() == "x-amz-content-sha256" }, "only S3 adds the payload header")
    }

    @Test func getVanillaIntermediateValues() {
        let signed = Self.suiteSigner.sign(
            S3SignatureV4.Request(method: "GET", host: "example.amazonaws.com", path: "/"), at: Self.suiteDate)
        #expect(
            signed.canonicalRequest
                == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
    }

    @Test func queryOrderCanonicalization() {
        #expect(S3SignatureV4.canonicalQueryString([("Param1", "value2"), ("Param1", "Value1")]) == "Param1=Value1&Param1=value2")
        #expect(S3SignatureV4.canonicalQueryString([("b", "1"), ("a", "2"), ("A", "3")]) == "A=3&a=2&b=1")
        #expect(S3SignatureV4.canonicalQueryString([("uploads", "")]) == "uploads=")
        #expect(S3SignatureV4.canonicalQueryString([("prefix", "a b/c+d=e&f")]) == "prefix=a%20b%2Fc%2Bd%3De%26f")
    }

    @Test func uriEncodingRules() {
        #expect(S3SignatureV4.uriEncode(Self.unreserved) == Self.unreserved)
        #expect(S3SignatureV4.uriEncode("a b*'()!$") == "a%20b%2A%27%28%29%21%24")
        #expect(S3SignatureV4.uriEncode("/a/b") == "%2Fa%2Fb")
        #expect(S3SignatureV4.encodedPath("/bucket/dir//x y/../ü") == "/bucket/dir//x%20y/../%C3%BC", "S3 paths are not normalized")
        #expect(S3SignatureV4.encodedPath("") == "/")
    }

    // The S3 API reference's examples: same keys, bucket examplebucket, 2013-05-24.

    @Test func s3GetObjectWithRange() {
        let signed = Self.s3Signer.sign(
            S3SignatureV4.Request(
                method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", headers: [("Range", "bytes=0-9")]),
            at: Self.s3Date)
        #expect(signed.signedHeaders == "host;range;x-amz-content-sha256;x-amz-date")
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", "\(signed.canonicalRequest)")
        #expect(
            signed.canonicalRequest
                == "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                + "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
                + "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
                + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                + "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
    }

    @Test func s3PutObject() {
        let body = Array("Welcome to Amazon S3.".utf8)
        #expect(S3SignatureV4.hexSHA256(body) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let signed = Self.s3Signer.sign(
            S3SignatureV4.Request(
                method: "PUT", host: "examplebucket.s3.amazonaws.com", path: "/test$file.text",
                headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                payload: .hashing(body)),
            at: Self.s3Date)
        #expect(signed.signedHeaders == "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class")
        #expect(signed.canonicalRequest.split(separator: "\n").dropFirst().first == "/test%24file.text")
        #expect(signed.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd", "\(signed.canonicalRequest)")
    }

    @Test func s3GetBucketLifecycle() {
        let signed = Self.s3Signer.sign(
            S3SignatureV4.Request(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/", query: [("lifecycle", "")]),
            at: Self.s3Date)
        #expect(signed.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543", "\(signed.canonicalRequest)")
    }

    @Test func s3ListObjects() {
        let signed = Self.s3Signer.sign(
            S3SignatureV4.Request(
                method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/", query: [("max-keys", "2"), ("prefix", "J")]),
            at: Self.s3Date)
        #expect(signed.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", "\(signed.canonicalRequest)")
    }

    @Test func unsignedPayload() {
        let request = S3SignatureV4.Request(
            method: "PUT", host: "examplebucket.s3.amazonaws.com", path: "/k", payload: .unsigned)
        let signed = Self.s3Signer.sign(request, at: Self.s3Date)
        #expect(signed.canonicalRequest.hasSuffix("\nUNSIGNED-PAYLOAD"))
        #expect(signed.headers.contains { $0.name == "x-amz-content-sha256" && $0.value == "UNSIGNED-PAYLOAD" })
        var hashed = request
        hashed.payload = .hashing([])
        #expect(Self.s3Signer.sign(hashed, at: Self.s3Date).signature != signed.signature)
    }

    @Test func signingKeyAndSignatureHideTheSecret() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let signed = Self.s3Signer.sign(
            S3SignatureV4.Request(method: "GET", host: "h", path: "/"), at: Self.s3Date)
        let everything = [signed.canonicalRequest, signed.stringToSign, signed.authorization]
            + signed.headers.map { "\($0.name): \($0.value)" }
        #expect(!everything.contains { $0.contains(secret) })
        #expect(!Self.s3Signer.credentials.description.contains(secret))
        #expect(S3SignatureV4.timestamp(Self.s3Date) == "20130524T000000Z")
    }
}
