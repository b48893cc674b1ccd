import BlksnapObjectStore
import CephTestSupport
import Foundation
import Logging
import Testing

/// The S3 client against a real S3 service: Ceph's RADOS Gateway, started by scripts/ceph.sh
/// (``CephGateway``). Each test has a bucket of its own. `S3_TEST_LOG=1` prints the exchanges,
/// `S3_TEST_LOG=2` the XML answers too.
@Suite(.cephGateway, .enabled(if: CephGateway.shouldRun, CephGateway.skipReason))
struct S3ClientGatewayTests {
    static func logger() -> Logger {
        var logger = Logger(label: "s3-test") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = switch ProcessInfo.processInfo.environment["S3_TEST_LOG"] {
        case "1": .debug
        case "2": .trace
        default: .warning
        }
        return logger
    }

    /// Runs `body` with a client of the suite's gateway and a new bucket.
    func withBucket(
        _ name: String, configure: (inout S3Configuration) -> Void = { _ in },
        _ body: (S3Client, String) async throws -> Void
    ) async throws {
        let gateway = try #require(CephGateway.current, "the suite's trait starts the gateway")
        var configuration = gateway.configuration
        configure(&configuration)
        let bucket = "\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try await S3Client.withClient(configuration: configuration, logger: Self.logger()) { client in
            try await client.createBucket(bucket)
            try await body(client, bucket)
        }
    }

    static func bytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 8)) }
    }

    @Test func putGetRangedGetHeadDelete() async throws {
        try await withBucket("objects") { client, bucket in
            let data = Self.bytes(1024)
            let eTag = try await client.putObject(bucket: bucket, key: "a/object", bytes: data, contentType: "application/octet-stream")
            #expect(eTag.hasPrefix("\"") && eTag.count == 34, "a quoted MD5")
            let whole = try await client.getObject(bucket: bucket, key: "a/object")
            #expect(whole.bytes == data)
            #expect(whole.range == nil)
            #expect(whole.head.eTag == eTag)

            let ranged = try await client.getObject(bucket: bucket, key: "a/object", range: 10...19)
            #expect(ranged.bytes == Array(data[10...19]))
            #expect(ranged.range == 10...19)
            #expect(ranged.head.size == 1024, "the whole object's size, from Content-Range")
            let clamped = try await client.getObject(bucket: bucket, key: "a/object", range: 1000...5000)
            #expect(clamped.bytes == Array(data[1000...]))
            #expect(clamped.range == 1000...1023)
            let past = await #expect(throws: S3Error.self) {
                try await client.getObject(bucket: bucket, key: "a/object", range: 2000...2010)
            }
            #expect(past?.code == "InvalidRange" && past?.httpStatus == 416)

            let head = try await client.headObject(bucket: bucket, key: "a/object")
            #expect(head.size == 1024 && head.eTag == eTag && head.contentType == "application/octet-stream")

            try await client.deleteObject(bucket: bucket, key: "a/object")
            let gone = await #expect(throws: S3Error.self) { try await client.headObject(bucket: bucket, key: "a/object") }
            #expect(gone?.code == "NotFound" && gone?.httpStatus == 404)
            let noKey = await #expect(throws: S3Error.self) { try await client.getObject(bucket: bucket, key: "a/object") }
            #expect(noKey?.code == "NoSuchKey" && noKey?.httpStatus == 404 && noKey?.requestID?.isEmpty == false)
            try await client.deleteObject(bucket: bucket, key: "a/object")  // deleting twice succeeds
        }
    }

    @Test func keysThatNeedEncoding() async throws {
        try await withBucket("keys") { client, bucket in
            let keys = ["dir/a b+c=d&e%f~g", "dir/ü€/x;y:z,@!$'()*", "dir//double//slash", "dir/../dots/./here"]
            for (index, key) in keys.enumerated() {
                try await client.putObject(bucket: bucket, key: key, bytes: Self.bytes(10 + index))
                #expect(try await client.getObject(bucket: bucket, key: key).bytes == Self.bytes(10 + index), "\(key)")
            }
            let listed = try await client.listAllObjects(bucket: bucket, prefix: "dir/")
            #expect(Set(listed.map(\.key)) == Set(keys))
        }
    }

    @Test func listingPagesWithPrefixAndDelimiter() async throws {
        try await withBucket("list") { client, bucket in
            let keys = (0..<7).map { "p/\($0)" }
            for key in keys + ["q/x", "q/y", "p/sub/z"] {
                try await client.putObject(bucket: bucket, key: key, bytes: Array(key.utf8))
            }
            var pages: [S3ListObjectsPage] = []
            var token: String?
            repeat {
                let page = try await client.listObjectsV2(bucket: bucket, prefix: "p/", continuationToken: token, maxKeys: 3)
                pages.append(page)
                token = page.nextContinuationToken
                #expect(page.isTruncated == (token != nil))
            } while token != nil && pages.count < 10
            #expect(pages.map(\.objects.count) == [3, 3, 2])
            #expect(pages.flatMap(\.objects).map(\.key) == (keys + ["p/sub/z"]).sorted())
            #expect(pages[0].objects[0].size == 3)

            let all = try await client.listAllObjects(bucket: bucket, prefix: "p/", pageSize: 2)
            #expect(all.map(\.key) == (keys + ["p/sub/z"]).sorted())
            let top = try await client.listObjectsV2(bucket: bucket, delimiter: "/")
            #expect(top.objects.isEmpty && top.commonPrefixes == ["p/", "q/"])
            let none = try await client.listObjectsV2(bucket: bucket, prefix: "nothing/")
            #expect(none.objects.isEmpty && !none.isTruncated)
        }
    }

    @Test func multipartUploadWithPartsOutOfOrder() async throws {
        try await withBucket("multipart") { client, bucket in
            let first = Self.bytes(5 << 20, seed: 1)
            let last = Self.bytes(1000, seed: 2)
            let uploadID = try await client.createMultipartUpload(bucket: bucket, key: "big")
            let part2 = try await client.uploadPart(bucket: bucket, key: "big", uploadID: uploadID, partNumber: 2, bytes: last)
            let part1 = try await client.uploadPart(bucket: bucket, key: "big", uploadID: uploadID, partNumber: 1, bytes: first)
            let open = try await client.listMultipartUploads(bucket: bucket)
            #expect(open.map(\.uploadID) == [uploadID] && open.first?.key == "big")
            let eTag = try await client.completeMultipartUpload(bucket: bucket, key: "big", uploadID: uploadID, parts: [part2, part1])
            #expect(eTag.hasSuffix("-2\""), "a multipart ETag names its part count: \(eTag)")
            let object = try await client.getObject(bucket: bucket, key: "big")
            #expect(object.head.eTag == eTag)
            #expect(object.bytes.count == first.count + last.count)
            #expect(object.bytes == first + last)
            let seam = try await client.getObject(bucket: bucket, key: "big", range: Int64(first.count - 2)...Int64(first.count + 1))
            #expect(seam.bytes == Array(first.suffix(2)) + Array(last.prefix(2)))
            #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
        }
    }

    @Test func multipartAbortAndEntityTooSmall() async throws {
        try await withBucket("abort") { client, bucket in
            let aborted = try await client.createMultipartUpload(bucket: bucket, key: "k")
            _ = try await client.uploadPart(bucket: bucket, key: "k", uploadID: aborted, partNumber: 1, bytes: Self.bytes(100))
            try await client.abortMultipartUpload(bucket: bucket, key: "k", uploadID: aborted)
            #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
            let completeAborted = await #expect(throws: S3Error.self) {
                try await client.completeMultipartUpload(
                    bucket: bucket, key: "k", uploadID: aborted, parts: [S3CompletedPart(partNumber: 1, eTag: "\"x\"")])
            }
            // AWS answers 404 NoSuchUpload; RGW 16.2.15 answers 500 InternalError, which the
            // client retries like any 5xx before reporting it.
            #expect(["NoSuchUpload", "InternalError"].contains(completeAborted?.code ?? ""), "\(String(describing: completeAborted))")
            if completeAborted?.code == "InternalError" { #expect(completeAborted?.attempts == S3RetryPolicy.standard.maxAttempts) }

            let small = try await client.createMultipartUpload(bucket: bucket, key: "small")
            let p1 = try await client.uploadPart(bucket: bucket, key: "small", uploadID: small, partNumber: 1, bytes: Self.bytes(1024))
            let p2 = try await client.uploadPart(bucket: bucket, key: "small", uploadID: small, partNumber: 2, bytes: Self.bytes(1024))
            let tooSmall = await #expect(throws: S3Error.self) {
                try await client.completeMultipartUpload(bucket: bucket, key: "small", uploadID: small, parts: [p1, p2])
            }
            #expect(tooSmall?.code == "EntityTooSmall" && tooSmall?.httpStatus == 400)
            #expect(tooSmall?.description.contains("at least 5 MiB") == true)
            #expect(try await client.listMultipartUploads(bucket: bucket, prefix: "small").map(\.uploadID) == [small])
            try await client.abortMultipartUpload(bucket: bucket, key: "small", uploadID: small)
            let missing = await #expect(throws: S3Error.self) { try await client.headObject(bucket: bucket, key: "small") }
            #expect(missing?.httpStatus == 404)
        }
    }

    @Test func unsignedPayloads() async throws {
        try await withBucket("unsigned", configure: { $0.signsPayloads = false }) { client, bucket in
            try await client.putObject(bucket: bucket, key: "u", bytes: Self.bytes(4096))
            #expect(try await client.getObject(bucket: bucket, key: "u").bytes == Self.bytes(4096))
        }
    }

    @Test func wrongSecretIsSignatureDoesNotMatchWithoutTheSecret() async throws {
        let gateway = try #require(CephGateway.current)
        var configuration = gateway.configuration
        let rightSecret = configuration.credentials.secretAccessKey
        let wrongSecret = "wrongSecretKeyForTheTest0123456789abcdef"
        configuration.credentials.secretAccessKey = wrongSecret
        try await S3Client.withClient(configuration: configuration, logger: Self.logger()) { client in
            let error = await #expect(throws: S3Error.self) {
                try await client.putObject(bucket: "any-bucket", key: "k", bytes: [1, 2, 3])
            }
            let unwrapped = try #require(error)
            #expect(unwrapped.code == "SignatureDoesNotMatch")
            #expect(unwrapped.httpStatus == 403)
            #expect(unwrapped.attempts == 1, "a refused signature is not retried")
            #expect(unwrapped.description.contains("the secret access key does not belong to the access key ID"))
            #expect(!unwrapped.description.contains(wrongSecret) && !unwrapped.description.contains(rightSecret))
            #expect(!"\(unwrapped)".contains(wrongSecret) && !String(reflecting: unwrapped).contains(wrongSecret))
        }
        var unknownKey = gateway.configuration
        unknownKey.credentials.accessKeyID = "NOSUCHACCESSKEY00000"
        try await S3Client.withClient(configuration: unknownKey, logger: Self.logger()) { client in
            let error = await #expect(throws: S3Error.self) { try await client.listObjectsV2(bucket: "any-bucket") }
            #expect(error?.code == "InvalidAccessKeyId" && error?.httpStatus == 403)
        }
    }

    @Test func missingBucketIsNoSuchBucket() async throws {
        let gateway = try #require(CephGateway.current)
        try await S3Client.withClient(configuration: gateway.configuration, logger: Self.logger()) { client in
            let put = await #expect(throws: S3Error.self) {
                try await client.putObject(bucket: "no-such-bucket-here", key: "k", bytes: [1])
            }
            #expect(put?.code == "NoSuchBucket" && put?.httpStatus == 404)
            #expect(put?.description.contains("S3 PutObject s3://no-such-bucket-here/k: HTTP 404 NoSuchBucket") == true)
            #expect(put?.description.contains("Remedy: create it") == true)
            let list = await #expect(throws: S3Error.self) { try await client.listObjectsV2(bucket: "no-such-bucket-here") }
            #expect(list?.code == "NoSuchBucket")
        }
    }

    /// s3cmd, a stock S3 client, writes what ours reads and reads what ours writes.
    @Test(.enabled(if: CephGateway.which("s3cmd") != nil || ProcessInfo.processInfo.environment["CI"] == "true",
                   "s3cmd missing: install Debian's s3cmd to compare with a stock client"))
    func interoperatesWithS3cmd() async throws {
        let gateway = try #require(CephGateway.current)
        let s3cmd = try #require(CephGateway.which("s3cmd"), "s3cmd is installed (CI installs it)")
        let env = gateway.environment
        let config = gateway.directory + "/s3cfg"
        try """
            [default]
            access_key = \(env["AWS_ACCESS_KEY_ID"] ?? "")
            secret_key = \(env["AWS_SECRET_ACCESS_KEY"] ?? "")
            host_base = 127.0.0.1:\(gateway.port)
            host_bucket = 127.0.0.1:\(gateway.port)
            use_https = False
            signature_v2 = False
            bucket_location = \(env["AWS_REGION"] ?? "")

            """.write(toFile: config, atomically: true, encoding: .utf8)
        func s3cmdRun(_ arguments: [String]) async throws -> String {
            let result = try await CephGateway.runOffPool([s3cmd, "-c", config] + arguments, environment: ["HOME": gateway.directory])
            #expect(result.status == 0, "s3cmd \(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout
        }
        try await withBucket("interop") { client, bucket in
            let theirs = Self.bytes(200_000, seed: 3)
            let upload = gateway.directory + "/from-s3cmd"
            try Data(theirs).write(to: URL(fileURLWithPath: upload))
            _ = try await s3cmdRun(["put", upload, "s3://\(bucket)/from s3cmd/file"])
            #expect(try await client.getObject(bucket: bucket, key: "from s3cmd/file").bytes == theirs)

            let ours = Self.bytes(150_000, seed: 4)
            try await client.putObject(bucket: bucket, key: "from-ours/file+1", bytes: ours)
            let download = gateway.directory + "/from-ours"
            _ = try await s3cmdRun(["get", "--force", "s3://\(bucket)/from-ours/file+1", download])
            #expect(try Array(Data(contentsOf: URL(fileURLWithPath: download))) == ours)
            let listing = try await s3cmdRun(["ls", "--recursive", "s3://\(bucket)"])
            #expect(listing.contains("s3://\(bucket)/from-ours/file+1") && listing.contains("s3://\(bucket)/from s3cmd/file"))
        }
    }
}
