import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// An S3 client over async-http-client: objects (put, get whole or ranged, head, delete),
/// listings (ListObjectsV2 with prefixes and continuation), multipart uploads (create, upload a
/// part, complete, abort, list), and bucket creation, with path-style addressing
/// (`ENDPOINT/bucket/key`) and SigV4 (``S3SignatureV4``).
///
/// Failures throw ``S3Error``, built from S3's XML error body: code, message, HTTP status and
/// request id, plus what the code means and what to do. Requests that fail in a way that may
/// pass (5xx, `SlowDown`, timeouts, lost connections) are retried with jittered exponential
/// backoff (``S3RetryPolicy``); every request is signed anew for each attempt and sends the same
/// bytes, so each can be repeated. (A retried CreateMultipartUpload whose first answer was lost
/// leaves an empty upload behind, which ``listMultipartUploads(bucket:prefix:)`` and
/// ``abortMultipartUpload(bucket:key:uploadID:)`` clean up.)
///
/// The client owns an `HTTPClient` and its connections: call ``shutdown()`` once done (or use
/// ``withClient(configuration:logger:_:)``, which does); the client must not be used afterwards.
public final class S3Client: Sendable {
    /// The settings the client was made with.
    public let configuration: S3Configuration
    private let http: HTTPClient
    private let signer: S3SignatureV4
    private let logger: Logger

    /// A client for `configuration`. Logs each exchange (method, path, status, request id,
    /// time; never a header's value) at `debug` level on `logger`.
    public init(configuration: S3Configuration, logger: Logger = Logger(label: "blksnap.s3")) {
        self.configuration = configuration
        self.signer = S3SignatureV4(credentials: configuration.credentials, region: configuration.region)
        self.logger = logger
        let seconds = configuration.requestTimeout.components.seconds
        var httpConfiguration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(min(10, max(1, seconds))), read: .seconds(max(1, seconds))))
        httpConfiguration.httpVersion = .http1Only
        // S3RetryPolicy retries with backoff; the pool's own retrying of refused connections
        // would hold every attempt to an endpoint that is down until the connect timeout.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        if let caFile = configuration.caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            httpConfiguration.tlsConfiguration = tls
        }
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
    }

    /// Closes the connections. Call it once, when done with the client.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Runs `body` with a new client and shuts the client down afterwards, whether `body`
    /// returned or threw.
    public static func withClient<Result>(
        configuration: S3Configuration, logger: Logger = Logger(label: "blksnap.s3"),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (S3Client) async throws -> Result
    ) async throws -> Result {
        let client = S3Client(configuration: configuration, logger: logger)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    // MARK: Buckets

    /// Creates `bucket` (CreateBucket). Outside `us-east-1` it sends the region as the
    /// location constraint, as AWS requires.
    public func createBucket(_ bucket: String) async throws {
        var body: [UInt8] = []
        if configuration.region != "us-east-1" {
            body = Array(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
                    + S3XMLElement.escape(configuration.region) + "</LocationConstraint></CreateBucketConfiguration>").utf8)
        }
        _ = try await send(Request(operation: "CreateBucket", method: .PUT, bucket: bucket, body: body))
    }

    // MARK: Objects

    /// Stores `bytes` as `key` (PutObject); returns the ETag.
    @discardableResult
    public func putObject(bucket: String, key: String, bytes: [UInt8], contentType: String? = nil) async throws -> String {
        var headers: [(name: String, value: String)] = []
        if let contentType { headers.append((name: "Content-Type", value: contentType)) }
        let response = try await send(Request(operation: "PutObject", method: .PUT, bucket: bucket, key: key, headers: headers, body: bytes))
        return response.headers.first(name: "ETag") ?? ""
    }

    /// The bytes of `key` (GetObject): all of them, or `range` (inclusive byte offsets, as
    /// HTTP's `Range: bytes=first-last`; a range past the end is clamped by the service, one
    /// starting past the end fails with `InvalidRange`).
    public func getObject(bucket: String, key: String, range: ClosedRange<Int64>? = nil) async throws -> S3ObjectData {
        var headers: [(name: String, value: String)] = []
        if let range { headers.append((name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let response = try await send(Request(operation: "GetObject", method: .GET, bucket: bucket, key: key, headers: headers))
        var head = S3Client.head(of: response)
        var received: ClosedRange<Int64>?
        if response.status == 206, let contentRange = response.headers.first(name: "Content-Range"),
            let parsed = S3Client.parseContentRange(contentRange)
        {
            received = parsed.range
            if let total = parsed.total { head.size = total }
        }
        return S3ObjectData(bytes: response.body, head: head, range: received)
    }

    /// The metadata of `key` (HeadObject). A missing object fails with code `NotFound`
    /// (HEAD answers carry no error body).
    public func headObject(bucket: String, key: String) async throws -> S3ObjectHead {
        let response = try await send(Request(operation: "HeadObject", method: .HEAD, bucket: bucket, key: key))
        return S3Client.head(of: response)
    }

    /// Deletes `key` (DeleteObject). Deleting a key that does not exist succeeds, as in S3.
    public func deleteObject(bucket: String, key: String) async throws {
        _ = try await send(Request(operation: "DeleteObject", method: .DELETE, bucket: bucket, key: key))
    }

    // MARK: Listings

    /// One page of the keys under `prefix` (ListObjectsV2): at most `maxKeys` (the service's
    /// cap is 1,000), after `continuationToken` (a previous page's ``S3ListObjectsPage/nextContinuationToken``).
    public func listObjectsV2(
        bucket: String, prefix: String? = nil, delimiter: String? = nil, continuationToken: String? = nil, maxKeys: Int? = nil
    ) async throws -> S3ListObjectsPage {
        var query: [(name: String, value: String)] = [(name: "list-type", value: "2")]
        if let prefix { query.append((name: "prefix", value: prefix)) }
        if let delimiter { query.append((name: "delimiter", value: delimiter)) }
        if let continuationToken { query.append((name: "continuation-token", value: continuationToken)) }
        if let maxKeys { query.append((name: "max-keys", value: String(maxKeys))) }
        let request = Request(operation: "ListObjectsV2", method: .GET, bucket: bucket, query: query)
        let root = try xml(of: try await send(request), request: request, root: "ListBucketResult")
        let objects = root.all("Contents").map { entry in
            S3ObjectSummary(
                key: entry.string("Key") ?? "", size: Int64(entry.string("Size") ?? "") ?? 0,
                eTag: entry.string("ETag") ?? "", lastModified: entry.string("LastModified") ?? "")
        }
        let prefixes = root.all("CommonPrefixes").compactMap { $0.string("Prefix") }
        let truncated = root.string("IsTruncated") == "true"
        let token = root.string("NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 }
        if truncated && token == nil {
            throw S3Error(
                code: S3Error.invalidResponseCode, message: "a truncated listing without NextContinuationToken",
                operation: "ListObjectsV2", resource: "s3://\(bucket)")
        }
        return S3ListObjectsPage(objects: objects, commonPrefixes: prefixes, isTruncated: truncated, nextContinuationToken: token)
    }

    /// Every object under `prefix`, following the continuation tokens page by page.
    public func listAllObjects(bucket: String, prefix: String? = nil, pageSize: Int? = nil) async throws -> [S3ObjectSummary] {
        var objects: [S3ObjectSummary] = []
        var token: String?
        repeat {
            let page = try await listObjectsV2(bucket: bucket, prefix: prefix, continuationToken: token, maxKeys: pageSize)
            objects += page.objects
            token = page.isTruncated ? page.nextContinuationToken : nil
        } while token != nil
        return objects
    }

    // MARK: Multipart uploads

    /// Opens a multipart upload of `key` (CreateMultipartUpload); returns its upload id.
    public func createMultipartUpload(bucket: String, key: String, contentType: String? = nil) async throws -> String {
        var headers: [(name: String, value: String)] = []
        if let contentType { headers.append((name: "Content-Type", value: contentType)) }
        let request = Request(
            operation: "CreateMultipartUpload", method: .POST, bucket: bucket, key: key, query: [(name: "uploads", value: "")],
            headers: headers)
        let root = try xml(of: try await send(request), request: request, root: "InitiateMultipartUploadResult")
        guard let uploadID = root.string("UploadId"), !uploadID.isEmpty else {
            throw S3Error(
                code: S3Error.invalidResponseCode, message: "no UploadId in the answer", operation: request.operation,
                resource: request.resource)
        }
        return uploadID
    }

    /// Uploads part `partNumber` (1 to 10,000) of an upload (UploadPart). Every part but the
    /// last must have at least 5 MiB, which CompleteMultipartUpload checks (`EntityTooSmall`).
    public func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int, bytes: [UInt8]) async throws -> S3CompletedPart {
        let request = Request(
            operation: "UploadPart", method: .PUT, bucket: bucket, key: key,
            query: [(name: "partNumber", value: String(partNumber)), (name: "uploadId", value: uploadID)], body: bytes)
        let response = try await send(request)
        guard let eTag = response.headers.first(name: "ETag") else {
            throw S3Error(
                code: S3Error.invalidResponseCode, message: "no ETag for part \(partNumber)", httpStatus: Int(response.status),
                requestID: response.requestID, operation: request.operation, resource: request.resource)
        }
        return S3CompletedPart(partNumber: partNumber, eTag: eTag)
    }

    /// Joins the uploaded `parts` into the object (CompleteMultipartUpload); returns its ETag
    /// (from HeadObject when the answer's is empty, as Ceph RGW 16.2's is).
    /// The parts are sent in ascending part number, whatever their order here or their
    /// upload's. S3 may report a failure in a `200 OK` answer's body: it is thrown as well.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [S3CompletedPart]) async throws -> String {
        var body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts.sorted(by: { $0.partNumber < $1.partNumber }) {
            body += "<Part><PartNumber>\(part.partNumber)</PartNumber><ETag>\(S3XMLElement.escape(part.eTag))</ETag></Part>"
        }
        body += "</CompleteMultipartUpload>"
        let request = Request(
            operation: "CompleteMultipartUpload", method: .POST, bucket: bucket, key: key,
            query: [(name: "uploadId", value: uploadID)], headers: [(name: "Content-Type", value: "application/xml")],
            body: Array(body.utf8))
        let root = try xml(of: try await send(request), request: request, root: "CompleteMultipartUploadResult")
        if let eTag = root.string("ETag"), !eTag.isEmpty { return eTag }
        // RGW 16.2 answers <ETag></ETag>: the object's HEAD has it.
        return try await headObject(bucket: bucket, key: key).eTag
    }

    /// Abandons an upload and its parts (AbortMultipartUpload).
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        _ = try await send(Request(
            operation: "AbortMultipartUpload", method: .DELETE, bucket: bucket, key: key, query: [(name: "uploadId", value: uploadID)]))
    }

    /// The open uploads of keys under `prefix` (ListMultipartUploads), every page of them.
    public func listMultipartUploads(bucket: String, prefix: String? = nil) async throws -> [S3MultipartUploadSummary] {
        var uploads: [S3MultipartUploadSummary] = []
        var keyMarker: String?
        var uploadIDMarker: String?
        while true {
            var query: [(name: String, value: String)] = [(name: "uploads", value: "")]
            if let prefix { query.append((name: "prefix", value: prefix)) }
            if let keyMarker { query.append((name: "key-marker", value: keyMarker)) }
            if let uploadIDMarker { query.append((name: "upload-id-marker", value: uploadIDMarker)) }
            let request = Request(operation: "ListMultipartUploads", method: .GET, bucket: bucket, query: query)
            let root = try xml(of: try await send(request), request: request, root: "ListMultipartUploadsResult")
            uploads += root.all("Upload").map {
                S3MultipartUploadSummary(key: $0.string("Key") ?? "", uploadID: $0.string("UploadId") ?? "", initiated: $0.string("Initiated") ?? "")
            }
            guard root.string("IsTruncated") == "true" else { return uploads }
            let nextKey = root.string("NextKeyMarker")
            let nextUpload = root.string("NextUploadIdMarker")
            guard nextKey != keyMarker || nextUpload != uploadIDMarker else {
                throw S3Error(
                    code: S3Error.invalidResponseCode, message: "a truncated upload listing whose markers do not advance",
                    operation: request.operation, resource: request.resource)
            }
            keyMarker = nextKey
            uploadIDMarker = nextUpload
        }
    }

    // MARK: Requests

    /// A request before signing: what to send where, for which operation.
    struct Request: Sendable {
        var operation: String
        var method: HTTPMethod
        var bucket: String
        var key: String?
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []

        /// `/bucket[/key]`, decoded.
        var path: String { key.map { "/\(bucket)/\($0)" } ?? "/\(bucket)" }
        /// `s3://bucket[/key]`, for messages.
        var resource: String { key.map { "s3://\(bucket)/\($0)" } ?? "s3://\(bucket)" }
    }

    /// A successful answer, its body read in full.
    struct Response: Sendable {
        var status: UInt
        var headers: HTTPHeaders
        var body: [UInt8]
        var requestID: String? { headers.first(name: "x-amz-request-id") }
    }

    /// Sends `request`, retrying per the policy; returns a 2xx answer or throws ``S3Error``
    /// (or `CancellationError` when the task is cancelled).
    func send(_ request: Request) async throws -> Response {
        let policy = configuration.retry
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        while true {
            let error: S3Error
            do {
                return try await attemptOnce(request)
            } catch let failure as S3Error {
                error = failure
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                throw S3Error(
                    code: S3Error.transportCode, message: String(describing: error), operation: request.operation,
                    resource: request.resource, attempts: attempt)
            }
            var final = error
            final.attempts = attempt
            final = final.redacting([configuration.credentials.secretAccessKey, configuration.credentials.sessionToken ?? ""])
            guard final.isRetryable, attempt < policy.maxAttempts else { throw final }
            let delay = policy.delay(beforeRetry: attempt, using: &generator)
            logger.debug("S3 \(request.operation) \(request.resource): \(final.code), retry \(attempt) in \(delay)")
            try await Self.sleep(for: delay)
            attempt += 1
        }
    }

    /// One signed exchange. Throws ``S3Error`` for an error answer or a transport failure.
    private func attemptOnce(_ request: Request) async throws -> Response {
        let endpoint = configuration.endpoint
        let payload: S3SignatureV4.Payload =
            configuration.signsPayloads ? .hashing(request.body) : .unsigned
        let signature = signer.sign(
            S3SignatureV4.Request(
                method: request.method.rawValue, host: endpoint.hostHeader, path: request.path, query: request.query,
                headers: request.headers, payload: payload),
            at: Date().addingTimeInterval(configuration.signingClockOffset))
        var url = endpoint.description + S3SignatureV4.encodedPath(request.path)
        if !request.query.isEmpty { url += "?" + S3SignatureV4.canonicalQueryString(request.query) }
        var httpRequest = HTTPClientRequest(url: url)
        httpRequest.method = request.method
        httpRequest.headers.add(name: "Host", value: endpoint.hostHeader)
        for header in signature.headers { httpRequest.headers.add(name: header.name, value: header.value) }
        if !request.body.isEmpty || request.method == .PUT || request.method == .POST {
            httpRequest.body = .bytes(ByteBuffer(bytes: request.body))
        }
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            let timeout = TimeAmount.nanoseconds(
                configuration.requestTimeout.components.seconds * 1_000_000_000
                    + configuration.requestTimeout.components.attoseconds / 1_000_000_000)
            response = try await http.execute(httpRequest, timeout: timeout, logger: nil)
            body = try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw S3Error(
                code: S3Error.transportCode, message: S3Client.describeTransport(error), operation: request.operation,
                resource: request.resource)
        }
        let answer = Response(status: response.status.code, headers: response.headers, body: Array(buffer: body))
        logger.debug(
            "S3 \(request.method.rawValue) \(url.dropFirst(endpoint.description.count)) -> \(answer.status) \(body.readableBytes) B in \(ContinuousClock.now - started) (request id \(answer.requestID ?? "-"))")
        if (200..<300).contains(answer.status) {
            // CompleteMultipartUpload (and CopyObject) may fail inside a 200: the body is <Error>.
            if answer.body.count > 0, request.method == .POST,
                let root = try? S3XMLElement.parse(answer.body), root.name == "Error"
            {
                throw S3Client.error(from: root, answer: answer, request: request)
            }
            return answer
        }
        if !answer.body.isEmpty, let root = try? S3XMLElement.parse(answer.body), root.name == "Error" {
            throw S3Client.error(from: root, answer: answer, request: request)
        }
        // No error body (HEAD, or a proxy's answer): the status alone.
        let code: String
        switch answer.status {
        case 404: code = "NotFound"
        case 403: code = "Forbidden"
        case 400: code = "BadRequest"
        case 503: code = "ServiceUnavailable"
        default: code = answer.status >= 500 ? "InternalError" : S3Error.invalidResponseCode
        }
        throw S3Error(
            code: code, message: "HTTP \(answer.status) \(response.status.reasonPhrase) without an S3 error body",
            httpStatus: Int(answer.status), requestID: answer.requestID, operation: request.operation, resource: request.resource)
    }

    /// The ``S3Error`` an `<Error>` body describes.
    private static func error(from root: S3XMLElement, answer: Response, request: Request) -> S3Error {
        S3Error(
            code: root.string("Code") ?? S3Error.invalidResponseCode, message: root.string("Message") ?? "",
            httpStatus: Int(answer.status), requestID: root.string("RequestId") ?? answer.requestID,
            operation: request.operation, resource: request.resource)
    }

    /// The XML document of a successful answer, which must be `<root>`.
    private func xml(of response: Response, request: Request, root name: String) throws -> S3XMLElement {
        logger.trace("S3 \(request.operation) answer: \(String(decoding: response.body.prefix(4096), as: UTF8.self))")
        let root: S3XMLElement
        do {
            root = try S3XMLElement.parse(response.body)
        } catch {
            throw S3Error(
                code: S3Error.invalidResponseCode, message: "unreadable answer: \(error)", httpStatus: Int(response.status),
                requestID: response.requestID, operation: request.operation, resource: request.resource)
        }
        guard root.name == name else {
            throw S3Error(
                code: S3Error.invalidResponseCode, message: "the answer is <\(root.name)>, not <\(name)>",
                httpStatus: Int(response.status), requestID: response.requestID, operation: request.operation,
                resource: request.resource)
        }
        return root
    }

    private static func head(of response: Response) -> S3ObjectHead {
        S3ObjectHead(
            size: Int64(response.headers.first(name: "Content-Length") ?? "") ?? Int64(response.body.count),
            eTag: response.headers.first(name: "ETag") ?? "", lastModified: response.headers.first(name: "Last-Modified"),
            contentType: response.headers.first(name: "Content-Type"))
    }

    /// `bytes first-last/total` (total may be `*`).
    static func parseContentRange(_ value: String) -> (range: ClosedRange<Int64>, total: Int64?)? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("bytes ") else { return nil }
        let spec = trimmed.dropFirst("bytes ".count).split(separator: "/", maxSplits: 1)
        let bounds = spec.first?.split(separator: "-", maxSplits: 1) ?? []
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first <= last else { return nil }
        let total = spec.count == 2 ? Int64(spec[1]) : nil
        return (first...last, total)
    }

    /// Waits `delay` on an event loop's timer, not with `Task.sleep`: a sleeping task is
    /// resumed through Swift's global executor, whose few threads callers of
    /// ``S3BlockingBridge`` may all be blocking; a continuation resumed from the event loop
    /// goes back to the task's own executor.
    static func sleep(for delay: Duration) async throws {
        let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
        guard nanoseconds > 0 else { return }
        try await HTTPClient.defaultEventLoopGroup.any().scheduleTask(in: .nanoseconds(nanoseconds)) {}.futureResult.get()
    }

    /// A transport failure in words: AHC's and NIO's errors name the failure but not always readably.
    private static func describeTransport(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connecting timed out"
            case .readTimeout: return "no answer within the read timeout"
            case .deadlineExceeded: return "the request's deadline passed"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return String(describing: error)
            }
        }
        if error is NIOSSLError || error is BoringSSLError {
            let detail = String(describing: error)
            if detail.contains("CERTIFICATE_VERIFY_FAILED") {
                return "the TLS handshake failed: the server's certificate is not signed by a CA this machine trusts (CERTIFICATE_VERIFY_FAILED); for a gateway with a private CA give its PEM file with --ca-file or AWS_CA_BUNDLE"
            }
            return "the TLS handshake failed (\(detail)); check that the endpoint speaks https and its certificate names the host"
        }
        return String(describing: error)
    }
}
