import Foundation

/// A synchronous writer of one object, in bounded memory, through a multipart upload whose
/// parts go up in the background while the caller keeps writing: made for a qcow2 image that
/// is written front to back and whose header is written last.
///
/// ## The order of writes
/// Writes may come at any offset, as long as each write either
/// - lies entirely inside the first part, `0..<partSize` (the first part stays in memory until
///   ``finish()``, so it can be rewritten at any time: a header written last), or
/// - reaches no part before the current one, the part holding the end of the furthest write so
///   far (the current part may be rewritten, and writes may go anywhere beyond it).
///
/// A write that begins at or beyond the end of the current part sends that part: it is uploaded
/// (UploadPart) in the background, with up to `parallelism` uploads in flight; the writer blocks
/// only when all of them are busy. A write that reaches into a part already sent throws
/// ``S3StreamError/Kind/partAlreadySent`` (a programming error of the caller; the upload is
/// aborted). Bytes never written (holes, including whole parts skipped) read as zeroes in the
/// object. The object's size is the end of the furthest write.
///
/// ``finish()`` sends the last part, then the first, then joins them
/// (CompleteMultipartUpload). An object of at most one part (`size <= partSize`) is stored
/// with a single PutObject instead, and no multipart upload is ever opened for it.
///
/// ## Memory
/// The writer holds at most ``memoryBound(partSize:parallelism:)`` = `(2 + parallelism) ×
/// partSize` bytes of parts: the first part, the current one, and one per upload in flight.
/// (While a part is being sent, ``S3Client`` also holds the request's copy of its bytes.)
///
/// ## Failures
/// Nothing becomes visible under the key unless ``finish()`` returned. Any failure (a request
/// that failed after its retries, a misordered write, an object too large) aborts the multipart
/// upload (AbortMultipartUpload, after the parts in flight settled) and is thrown; the writer is
/// then closed, and later calls throw ``S3StreamError/Kind/closed``. Should the abort itself
/// fail, ``uploadID`` still names the open upload, for ``S3Client/abortMultipartUpload(bucket:key:uploadID:)``
/// or a bucket lifecycle rule to clean up. A writer released unfinished aborts its upload the
/// same way.
///
/// ## Use
/// ```swift
/// let bridge = S3BlockingBridge(client: client)
/// let writer = try S3MultipartWriter(
///     bridge: bridge, bucket: "backups", key: "vda/full.qcow2",
///     partSize: S3MultipartWriter.partSize(forObjectSize: largestImageSize))
/// do {
///     try cluster.withUnsafeBytes { try writer.write($0, at: clusterOffset) }  // front to back
///     try header.withUnsafeBytes { try writer.write($0, at: 0) }               // the header last
///     let (size, eTag) = try writer.finish()
/// } catch {
///     writer.abort()  // already done after a failure of the writer; needed if the caller failed
///     throw error
/// }
/// ```
///
/// ## Threads
/// Every call blocks its thread until done; calls from several threads are serialized (the
/// order of writes above is the order in which they are serialized). It may be called from
/// any thread, including those of Swift's cooperative pool (``S3BlockingBridge``).
public final class S3MultipartWriter: @unchecked Sendable {
    // @unchecked: every mutable property is guarded by `lock`.

    /// S3's smallest part but the last: 5 MiB.
    public static let minimumPartSize = 5 << 20
    /// S3's largest part: 5 GiB.
    public static let maximumPartSize = 5 << 30
    /// S3's most parts in one upload: 10,000.
    public static let maximumPartCount = 10_000
    /// The part size when none is given: 8 MiB.
    public static let defaultPartSize = 8 << 20

    /// The most bytes of parts a writer holds: `(2 + parallelism) × partSize` (the first part,
    /// the current part, and one part per upload in flight).
    public static func memoryBound(partSize: Int = defaultPartSize, parallelism: Int = 4) -> Int {
        (2 + parallelism) * partSize
    }

    /// The smallest part size of at least `minimum` (and of S3's 5 MiB), in whole MiB, whose
    /// 10,000 parts hold `objectSize` bytes: the part size for an object whose size is known
    /// (or bounded) beforehand. With the default 8 MiB parts, objects are limited to 78.1 GiB.
    public static func partSize(forObjectSize objectSize: UInt64, atLeast minimum: Int = defaultPartSize) -> Int {
        let mebibyte: UInt64 = 1 << 20
        let needed = (objectSize + UInt64(maximumPartCount) - 1) / UInt64(maximumPartCount)
        let floor = UInt64(max(minimum, minimumPartSize))
        let size = max(floor, (needed + mebibyte - 1) / mebibyte * mebibyte)
        return Int(min(size, UInt64(Int.max)))
    }

    /// The bucket written to.
    public let bucket: String
    /// The key written.
    public let key: String
    /// The size of every part but the last.
    public let partSize: Int
    /// The most uploads of parts in flight at once.
    public let parallelism: Int
    /// The largest object the part size allows: `10,000 × partSize`.
    public var maximumObjectSize: UInt64 { UInt64(partSize) * UInt64(S3MultipartWriter.maximumPartCount) }

    /// The id of the multipart upload, while one is open: from the first part sent until
    /// ``finish()`` completed it or ``abort()`` (or a failure) aborted it. Still set after a
    /// failed abort, so the upload can be found and aborted.
    public var uploadID: String? { lock.withLock { openUploadID } }

    /// Uploads one part: `S3Client.uploadPart`, or a test's stand-in.
    typealias PartUploader = @Sendable (
        _ client: S3Client, _ bucket: String, _ key: String, _ uploadID: String, _ partNumber: Int, _ bytes: [UInt8]
    ) async throws -> S3CompletedPart

    private enum State {
        case open
        case finished
        case aborted
        case failed(any Error)
    }

    private let bridge: S3BlockingBridge
    private let uploadPart: PartUploader
    private let uploads = PartUploads()
    private let lock = NSLock()
    private var state = State.open
    /// Part 1 (index 0), from its first write (grown up to its furthest write).
    private var first: [UInt8]?
    /// The part being filled (index `currentIndex`), from its first write.
    private var current: [UInt8]?
    /// The 0-based index of the current part; parts `1..<currentIndex` were sent.
    private var currentIndex = 1
    /// The end of the furthest write.
    private var size: UInt64 = 0
    private var openUploadID: String?

    /// A writer of `key` in `bucket` through `bridge`. Throws ``S3StreamError/Kind/invalidArgument``
    /// for a part size outside S3's 5 MiB to 5 GiB, or a parallelism below 1. Sends nothing
    /// until a write needs it.
    public convenience init(
        bridge: S3BlockingBridge, bucket: String, key: String, partSize: Int = defaultPartSize, parallelism: Int = 4
    ) throws {
        try self.init(bridge: bridge, bucket: bucket, key: key, partSize: partSize, parallelism: parallelism) {
            client, bucket, key, uploadID, partNumber, bytes in
            try await client.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: partNumber, bytes: bytes)
        }
    }

    /// A writer of `key` in `bucket` on `client`, through a bridge of its own (see
    /// ``init(bridge:bucket:key:partSize:parallelism:)``).
    public convenience init(
        client: S3Client, bucket: String, key: String, partSize: Int = defaultPartSize, parallelism: Int = 4
    ) throws {
        try self.init(bridge: S3BlockingBridge(client: client), bucket: bucket, key: key, partSize: partSize, parallelism: parallelism)
    }

    /// The designated initializer, with the part uploader a test may replace.
    init(
        bridge: S3BlockingBridge, bucket: String, key: String, partSize: Int, parallelism: Int, uploadPart: @escaping PartUploader
    ) throws {
        let resource = "s3://\(bucket)/\(key)"
        guard (S3MultipartWriter.minimumPartSize...S3MultipartWriter.maximumPartSize).contains(partSize) else {
            throw S3StreamError(
                kind: .invalidArgument, resource: resource,
                message: "part size \(partSize) B is outside S3's limits for parts (5 MiB to 5 GiB)",
                remedy: "pass a part size from 5,242,880 to 5,368,709,120 bytes, e.g. S3MultipartWriter.partSize(forObjectSize:)")
        }
        guard parallelism >= 1 else {
            throw S3StreamError(
                kind: .invalidArgument, resource: resource, message: "parallelism \(parallelism) leaves no upload in flight",
                remedy: "pass a parallelism of at least 1")
        }
        self.bridge = bridge
        self.bucket = bucket
        self.key = key
        self.partSize = partSize
        self.parallelism = parallelism
        self.uploadPart = uploadPart
    }

    deinit {
        if case .open = state { abortLocked() }
    }

    private var resource: String { "s3://\(bucket)/\(key)" }

    /// Writes `bytes` at `offset`, extending the object as needed (see the type's
    /// documentation for the order of writes). May block: to open the multipart upload, or
    /// while `parallelism` parts are in flight. Throws ``S3StreamError`` for a misordered write
    /// or one past ``maximumObjectSize``, the ``S3Error`` of a failed request (this one or an
    /// earlier part's), or ``S3StreamError/Kind/closed``; every failure aborts the upload.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        lock.lock()
        defer { lock.unlock() }
        try checkOpen()
        do {
            if let failure = uploads.failure { throw failure }
            guard !bytes.isEmpty else { return }
            let (end, overflow) = offset.addingReportingOverflow(UInt64(bytes.count))
            guard !overflow, end <= maximumObjectSize else {
                throw S3StreamError(
                    kind: .objectTooLarge, resource: resource,
                    message: "a write of \(bytes.count) B at offset \(offset) ends past \(maximumObjectSize) B, the largest object of 10,000 parts of \(partSize) B",
                    remedy: "create the writer with a larger part size: S3MultipartWriter.partSize(forObjectSize:) for the largest size expected")
            }
            let unit = UInt64(partSize)
            let firstIndex = Int(offset / unit)
            let lastIndex = Int((end - 1) / unit)
            let lowestLater = max(firstIndex, 1)
            if lowestLater <= lastIndex && lowestLater < currentIndex {
                throw S3StreamError(
                    kind: .partAlreadySent, resource: resource,
                    message: "a write of \(bytes.count) B at offset \(offset) reaches part \(lowestLater + 1) (bytes \(UInt64(lowestLater) * unit)..<\(UInt64(lowestLater + 1) * unit)), which was already uploaded: after a write ending in part \(currentIndex + 1), only the first part and parts from \(currentIndex + 1) on may be written",
                    remedy: "this is a bug of the caller: write the object front to back, rewriting only the first part (\(partSize) B) later")
            }
            for index in firstIndex...lastIndex {
                let partStart = UInt64(index) * unit
                let from = max(offset, partStart)
                let to = min(end, partStart + unit)
                let source = UnsafeRawBufferPointer(rebasing: bytes[Int(from - offset)..<Int(to - offset)])
                let at = Int(from - partStart)
                if index == 0 {
                    copy(source, into: &first, at: at)
                } else {
                    if index > currentIndex { try advance(to: index) }
                    copy(source, into: &current, at: at)
                }
            }
            size = max(size, end)
        } catch {
            throw fail(error)
        }
    }

    /// Stores the object and returns its size (the end of the furthest write) and ETag: sends
    /// the last part and the first, waits for every part, and completes the upload; an object of
    /// at most one part is one PutObject. The object is visible once this returns, and only
    /// then. Any failure aborts the upload and is thrown; the writer is closed either way.
    public func finish() throws -> (size: UInt64, eTag: String) {
        lock.lock()
        defer { lock.unlock() }
        try checkOpen()
        do {
            if let failure = uploads.failure { throw failure }
            let eTag: String
            if size <= UInt64(partSize) && openUploadID == nil {
                let bytes = take(&first, sizedTo: Int(size))
                let (bucket, key) = (self.bucket, self.key)
                eTag = try bridge.run { [bytes] client in try await client.putObject(bucket: bucket, key: key, bytes: bytes) }
            } else {
                // `size - 1` lies in the current part: no write goes below it but into the first.
                try send(take(&current, sizedTo: Int(size - UInt64(currentIndex) * UInt64(partSize))), index: currentIndex)
                try send(take(&first, sizedTo: partSize), index: 0)
                let parts = try uploads.waitForAll()
                let (bucket, key, uploadID) = (self.bucket, self.key, try requireUploadID())
                eTag = try bridge.run { client in
                    try await client.completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
                }
                openUploadID = nil
            }
            state = .finished
            return (size, eTag)
        } catch {
            throw fail(error)
        }
    }

    /// Abandons the object: waits for the parts in flight, aborts the multipart upload if one
    /// was opened, and frees the buffers. Idempotent; after ``finish()`` returned it does
    /// nothing. When AbortMultipartUpload fails, ``uploadID`` keeps the upload's id and a later
    /// `abort()` tries again.
    public func abort() {
        lock.lock()
        defer { lock.unlock() }
        switch state {
        case .finished:
            return
        case .open:
            state = .aborted
            abortLocked()
        case .aborted, .failed:
            if openUploadID != nil { abortLocked() }
        }
    }

    // MARK: Internals (called with `lock` held)

    /// Throws ``S3StreamError/Kind/closed`` unless the writer is open.
    private func checkOpen() throws {
        let reason: String
        switch state {
        case .open: return
        case .finished: reason = "finish() already stored the object"
        case .aborted: reason = "abort() abandoned the upload"
        case .failed(let error): reason = "an earlier failure aborted the upload (\(error))"
        }
        throw S3StreamError(
            kind: .closed, resource: resource, message: "the writer is closed: \(reason)",
            remedy: "create a new writer to write the object again")
    }

    /// Aborts after `error`, closes the writer, and returns `error` to throw.
    private func fail(_ error: any Error) -> any Error {
        if case .open = state {
            state = .failed(error)
            abortLocked()
        }
        return error
    }

    /// Waits for the parts in flight, then aborts the upload (if open) and frees the buffers.
    private func abortLocked() {
        first = nil
        current = nil
        uploads.waitUntilSettled()
        guard let uploadID = openUploadID else { return }
        let (bucket, key) = (self.bucket, self.key)
        do {
            try bridge.run { client in try await client.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID) }
            openUploadID = nil
        } catch let error as S3Error where error.httpStatus == 404 {
            openUploadID = nil  // NoSuchUpload (or NoSuchBucket): nothing is left open
        } catch {
            // Still open: `uploadID` names it, and a later abort() tries again.
        }
    }

    /// Copies `source` into `part` at `at`. A part grows with zeroes up to its furthest write
    /// (so a small object costs its size, not a part), within a capacity of one part reserved at
    /// its first write (so it never grows past one part).
    private func copy(_ source: UnsafeRawBufferPointer, into part: inout [UInt8]?, at: Int) {
        if part == nil {
            part = []
            part!.reserveCapacity(partSize)
        }
        let end = at + source.count
        if part!.count < end { part!.append(contentsOf: repeatElement(0, count: end - part!.count)) }
        part!.withUnsafeMutableBytes { target in
            UnsafeMutableRawBufferPointer(rebasing: target[at..<end]).copyMemory(from: source)
        }
    }

    /// `part`'s bytes, zeroes when never written, cut or padded with zeroes to `length`; `part`
    /// is left empty (`nil`), so the bytes are not copied.
    private func take(_ part: inout [UInt8]?, sizedTo length: Int) -> [UInt8] {
        var bytes = part ?? []
        part = nil
        if bytes.count > length {
            bytes.removeSubrange(length...)
        } else if bytes.count < length {
            bytes.append(contentsOf: repeatElement(0, count: length - bytes.count))
        }
        return bytes
    }

    /// Sends the current part and zeroes for the parts skipped before `index`, which becomes
    /// the current part.
    private func advance(to index: Int) throws {
        try send(take(&current, sizedTo: partSize), index: currentIndex)
        if currentIndex + 1 < index {
            // One buffer of zeroes for the whole gap: the uploads in flight share it.
            let zeroes = [UInt8](repeating: 0, count: partSize)
            for skipped in (currentIndex + 1)..<index { try send(zeroes, index: skipped) }
        }
        currentIndex = index
    }

    /// Starts the upload of part `index` (0-based) once a slot is free, opening the multipart
    /// upload first if needed.
    private func send(_ bytes: [UInt8], index: Int) throws {
        let uploadID = try openUpload()
        try uploads.acquire(limit: parallelism)
        let (bucket, key, uploadPart, uploads) = (self.bucket, self.key, self.uploadPart, self.uploads)
        bridge.start({ client in
            try await uploadPart(client, bucket, key, uploadID, index + 1, bytes)
        }, completion: { uploads.settle($0) })
    }

    /// The open upload's id, opening it (CreateMultipartUpload) at the first part sent.
    private func openUpload() throws -> String {
        if let openUploadID { return openUploadID }
        let (bucket, key) = (self.bucket, self.key)
        let uploadID = try bridge.run { client in
            try await client.createMultipartUpload(bucket: bucket, key: key, contentType: "application/octet-stream")
        }
        openUploadID = uploadID
        return uploadID
    }

    private func requireUploadID() throws -> String {
        guard let openUploadID else {
            throw S3StreamError(
                kind: .closed, resource: resource, message: "no multipart upload is open to complete",
                remedy: "report this as a bug of S3MultipartWriter")
        }
        return openUploadID
    }
}

/// The uploads of parts in flight: how many, the parts done, and the first failure.
private final class PartUploads: @unchecked Sendable {
    // @unchecked: every property is guarded by `condition`.
    private let condition = NSCondition()
    private var inFlight = 0
    private var parts: [S3CompletedPart] = []
    private var firstFailure: (any Error)?

    /// The first failure of a part, if any.
    var failure: (any Error)? { condition.withLock { firstFailure } }

    /// Waits until fewer than `limit` parts are in flight and counts one more; throws the first
    /// failure of a part instead.
    func acquire(limit: Int) throws {
        condition.lock()
        defer { condition.unlock() }
        while inFlight >= limit && firstFailure == nil { condition.wait() }
        if let firstFailure { throw firstFailure }
        inFlight += 1
    }

    /// Records the outcome of a part in flight.
    func settle(_ outcome: Result<S3CompletedPart, any Error>) {
        condition.lock()
        defer { condition.unlock() }
        inFlight -= 1
        switch outcome {
        case .success(let part): parts.append(part)
        case .failure(let error): if firstFailure == nil { firstFailure = error }
        }
        condition.broadcast()
    }

    /// Waits until no part is in flight.
    func waitUntilSettled() {
        condition.lock()
        defer { condition.unlock() }
        while inFlight > 0 { condition.wait() }
    }

    /// Waits until no part is in flight; the parts, or the first failure.
    func waitForAll() throws -> [S3CompletedPart] {
        condition.lock()
        defer { condition.unlock() }
        while inFlight > 0 { condition.wait() }
        if let firstFailure { throw firstFailure }
        return parts
    }
}
