#if canImport(Glibc)
import Glibc
#endif
import BlksnapBackup
import BlksnapBackupS3
import BlksnapObjectStore
import Foundation

/// Figure 14: backup repositories in an S3 bucket against a stock S3 client moving the same
/// bytes through the same gateway in the same run.
///
/// Each repetition backs up a simulated disk of random data (uncompressed) into a fresh
/// bucket twice — parts uploaded 4 at a time (the default) and 1 at a time — then, on the
/// same gateway, downloads the full point's qcow2 object with `s3cmd get` and uploads that
/// file again with `s3cmd put` in parts of the same size, restores the point from the bucket
/// to a raw file (``BackupRestorer``), and finally rewrites a known number of bytes in
/// 64 KiB runs spread over the disk and takes an incremental, whose new objects are summed
/// from the bucket's listings.
///
/// Debian's s3cmd (2.3.0) has no option for parallel parts: it uploads a multipart object
/// one part after the other, so the 1-at-a-time backup is the like-for-like comparison.
struct ObjectStoreBenchmark {
    /// One repetition's outcome.
    struct Sample {
        /// Size of the full point's qcow2 object (what both uploads and downloads move).
        var objectBytes: UInt64
        /// Wall seconds of the whole full `backup create` (snapshot, read, SHA-256, upload
        /// of the parts, completion, manifest), parts 4 at a time.
        var fullSeconds: Double
        /// The same, parts 1 at a time.
        var fullSequentialSeconds: Double
        /// Wall seconds of the `s3cmd put` process.
        var s3cmdPutSeconds: Double
        /// Wall seconds of ``BackupRestorer/restore(id:to:overwrite:delta:progress:)`` of the full point.
        var restoreSeconds: Double
        /// Wall seconds of the `s3cmd get` process of the same object.
        var s3cmdGetSeconds: Double
        /// Bytes rewritten on the disk before the incremental.
        var changedBytes: UInt64
        /// The CBT's changed bytes of the incremental.
        var cbtChangedBytes: UInt64
        /// Size of the incremental's qcow2 object, and of its data clusters.
        var incrementalObjectBytes: UInt64
        var incrementalDataBytes: UInt64
        /// Size of the incremental's manifest object.
        var incrementalManifestBytes: UInt64
        /// Objects the incremental added to the bucket.
        var incrementalObjects: Int
    }

    /// Bytes per part of every upload (ours and s3cmd's `--multipart-chunk-size-mb`).
    static let partSize = 8 << 20
    /// Parts in flight of the default upload.
    static let parallelism = 4
    /// Bytes of each rewritten run before the incremental.
    static let runBytes = 64 << 10
    /// Where Debian's s3cmd package installs it.
    static let s3cmdPath = "/usr/bin/s3cmd"

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory
    let s3: S3Configuration

    /// Why the figures cannot be measured here, or nil when they can: an S3 endpoint must be
    /// given in the environment (so a run never reaches for AWS on its own), and s3cmd installed.
    static func unavailableReason(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let given = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"].contains { !(environment[$0] ?? "").isEmpty }
        guard given else {
            return "no S3 endpoint: set AWS_ENDPOINT_URL and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                + "(eval \"$(scripts/ceph.sh start DIR)\" starts a local Ceph gateway and prints them)"
        }
        guard access(s3cmdPath, X_OK) == 0 else { return "s3cmd is not installed (\(s3cmdPath), the baseline)" }
        return nil
    }

    func run() throws(BenchError) -> [Sample] {
        let deviceBytes = configuration.objectStoreDeviceBytes
        var fill = BenchRandom(seed: 14)
        let disk = try BackupBenchDevice(scratch: scratch, tag: "s3", bytes: deviceBytes) { $0.fillRandomWords(&fill) }
        defer { disk.remove() }
        let s3cfg = scratch.file("s3cmd.cfg")
        try writeS3cmdConfiguration(s3cfg)
        defer { scratch.unlink(["s3cmd.cfg", "s3-object.qcow2", "s3-restore.raw"]) }
        let bridge = S3BlockingBridge(client: S3Client(configuration: s3))
        defer { try? bridge.run { try await $0.shutdown() } }
        var samples: [Sample] = []
        for repetition in 0..<max(1, min(configuration.repetitions, 3)) {
            let bucket = "blksnap-bench-\(getpid())-\(repetition)-\(UInt32.random(in: 0...UInt32.max))"
            let caches = scratch.file("s3-cache-\(repetition)")
            defer {
                try? FileManager.default.removeItem(atPath: caches)
                removeObjects(bucket, bridge)
            }
            do {
                try bridge.run { try await $0.createBucket(bucket) }
                samples.append(try repetitionSample(repetition, disk: disk, bucket: bucket, bridge: bridge, caches: caches, s3cfg: s3cfg))
            } catch let error as BenchError {
                throw error
            } catch let error as BackupError {
                throw BenchError("object store benchmark: \(error.message)")
            } catch {
                throw BenchError("object store benchmark: \(error)")
            }
        }
        return samples
    }

    private func repetitionSample(_ repetition: Int, disk: BackupBenchDevice, bucket: String, bridge: S3BlockingBridge,
                                  caches: String, s3cfg: String) throws -> Sample {
        func open(_ prefix: String, parallelism: Int) throws -> BackupRepository {
            // A client of its own: the storage shuts its client down when it goes.
            let storage = try S3Storage(url: try S3RepositoryURL(parsing: "s3://\(bucket)/\(prefix)"),
                                        bridge: S3BlockingBridge(client: S3Client(configuration: s3)), host: "bench",
                                        partSize: Self.partSize, parallelism: parallelism)
            return try S3Repository.open(storage: storage, cacheDirectory: caches + "/" + prefix).0
        }
        func timedFull(_ repository: BackupRepository) throws -> (BackupRecord, Double) {
            let start = BenchClock.nanoseconds()
            let result = try disk.backup(repository, full: true)
            let seconds = Double(BenchClock.nanoseconds() - start) / 1e9
            guard let record = result.records.first, record.type == .full else { throw BenchError("the full backup wrote no full point") }
            return (record, seconds)
        }
        let parallel = try open("parallel", parallelism: Self.parallelism)
        let sequential = try open("sequential", parallelism: 1)
        // Alternate which upload goes first, so neither always meets a cold gateway.
        var full: BackupRecord, fullSeconds: Double, sequentialSeconds: Double
        if repetition % 2 == 0 {
            (full, fullSeconds) = try timedFull(parallel)
            sequentialSeconds = try timedFull(sequential).1
        } else {
            sequentialSeconds = try timedFull(sequential).1
            (full, fullSeconds) = try timedFull(parallel)
        }
        let key = "parallel/points/" + full.fileName
        let objectFile = scratch.file("s3-object.qcow2"), restored = scratch.file("s3-restore.raw")
        scratch.unlink(["s3-object.qcow2", "s3-restore.raw"])
        func restore() throws -> Double {
            let start = BenchClock.nanoseconds()
            _ = try BackupRestorer(repository: parallel).restore(id: full.id ?? 0, to: restored)
            return Double(BenchClock.nanoseconds() - start) / 1e9
        }
        var restoreSeconds = 0.0, getSeconds = 0.0
        if repetition % 2 == 0 {
            restoreSeconds = try restore()
            getSeconds = try s3cmd(s3cfg, ["get", "s3://\(bucket)/\(key)", objectFile])
        } else {
            getSeconds = try s3cmd(s3cfg, ["get", "s3://\(bucket)/\(key)", objectFile])
            restoreSeconds = try restore()
        }
        scratch.unlink(["s3-restore.raw"])
        var status = stat()
        guard stat(objectFile, &status) == 0, UInt64(status.st_size) == UInt64(full.fileSize) else {
            throw BenchError("s3cmd get did not download the \(full.fileSize) bytes of \(key)")
        }
        let putSeconds = try s3cmd(s3cfg, ["put", "--multipart-chunk-size-mb=\(Self.partSize >> 20)", objectFile,
                                           "s3://\(bucket)/s3cmd/object.qcow2"])
        scratch.unlink(["s3-object.qcow2"])

        // The incremental: runs of 64 KiB of new random data, evenly spread.
        let changed = try rewrite(disk, seed: 140 + UInt64(repetition))
        let before = Set(try bridge.run { try await $0.listAllObjects(bucket: bucket, prefix: "parallel/") }.map(\.key))
        let result = try disk.backup(parallel, full: false)
        guard let increment = result.records.first, increment.type == .incremental else {
            throw BenchError("the second backup was not incremental: \(result.plans.first?.fullReason ?? "?")")
        }
        let added = try bridge.run { try await $0.listAllObjects(bucket: bucket, prefix: "parallel/") }.filter { !before.contains($0.key) }
        let objectBytes = added.filter { $0.key.hasPrefix("parallel/points/") }.reduce(UInt64(0)) { $0 + UInt64($1.size) }
        let manifestBytes = added.filter { $0.key.hasPrefix("parallel/manifests/") }.reduce(UInt64(0)) { $0 + UInt64($1.size) }
        return Sample(objectBytes: UInt64(full.fileSize), fullSeconds: fullSeconds, fullSequentialSeconds: sequentialSeconds,
                      s3cmdPutSeconds: putSeconds, restoreSeconds: restoreSeconds, s3cmdGetSeconds: getSeconds,
                      changedBytes: changed, cbtChangedBytes: UInt64(increment.changedBytes), incrementalObjectBytes: objectBytes,
                      incrementalDataBytes: UInt64(increment.dataClusters) * UInt64(QCOW2Format.clusterSize),
                      incrementalManifestBytes: manifestBytes, incrementalObjects: added.count)
    }

    /// Writes ``BenchConfiguration/objectStoreChangedBytes`` of random data in 64 KiB runs at
    /// evenly spaced 64 KiB-aligned offsets; returns the bytes written.
    private func rewrite(_ disk: BackupBenchDevice, seed: UInt64) throws(BenchError) -> UInt64 {
        let runs = max(1, Int(configuration.objectStoreChangedBytes) / Self.runBytes)
        let stride = disk.bytes / UInt64(runs) / UInt64(Self.runBytes) * UInt64(Self.runBytes)
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.runBytes, alignment: 4096)
        defer { data.deallocate() }
        var random = BenchRandom(seed: seed)
        let kernel = disk.kernel
        let fd = kernel.open(disk.path, flags: O_RDWR)
        guard fd >= 0 else { throw BenchError("cannot open \(disk.path) to rewrite it") }
        defer { _ = kernel.close(fd) }
        for run in 0..<runs {
            data.fillRandomWords(&random)
            guard kernel.pwrite(fd, from: UnsafeRawBufferPointer(data), at: UInt64(run) * stride) == Self.runBytes else {
                throw BenchError("cannot rewrite \(disk.path) at \(UInt64(run) * stride)")
            }
        }
        return UInt64(runs * Self.runBytes)
    }

    /// An s3cmd configuration for the endpoint and keys of ``s3`` (mode 0600: it holds the secret).
    private func writeS3cmdConfiguration(_ path: String) throws(BenchError) {
        let endpoint = s3.endpoint
        let text = """
            [default]
            access_key = \(s3.credentials.accessKeyID)
            secret_key = \(s3.credentials.secretAccessKey)
            \(s3.credentials.sessionToken.map { "access_token = \($0)" } ?? "")
            host_base = \(endpoint.hostHeader)
            host_bucket = \(endpoint.hostHeader)
            bucket_location = \(s3.region)
            use_https = \(endpoint.scheme == "https" ? "True" : "False")
            signature_v2 = False

            """
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw BenchError("cannot write \(path)", errno: errno) }
        defer { _ = close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw BenchError("cannot write \(path)", errno: errno)
        }
    }

    /// Wall seconds of `s3cmd -c CONFIG --no-progress ARGUMENTS` (process start to exit).
    private func s3cmd(_ config: String, _ arguments: [String]) throws(BenchError) -> Double {
        try ExternalTool.run(Self.s3cmdPath, ["-c", config, "--no-progress"] + arguments)
    }

    /// Deletes every object of `bucket` (the gateway may keep them in memory); the empty
    /// bucket stays (the client has no DeleteBucket).
    private func removeObjects(_ bucket: String, _ bridge: S3BlockingBridge) {
        guard let objects = try? bridge.run({ try await $0.listAllObjects(bucket: bucket) }) else { return }
        for object in objects { _ = try? bridge.run { try await $0.deleteObject(bucket: bucket, key: object.key) } }
        let uploads = (try? bridge.run { try await $0.listMultipartUploads(bucket: bucket) }) ?? []
        for upload in uploads {
            _ = try? bridge.run { try await $0.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID) }
        }
    }
}
