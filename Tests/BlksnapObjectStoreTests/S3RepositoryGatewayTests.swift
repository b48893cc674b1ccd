import BlksnapBackup
import BlksnapBackupS3
import BlksnapKit
import BlksnapObjectStore
import BlksnapSimulator
import CephTestSupport
import Foundation
import Testing

/// Backup repositories in a bucket of Ceph's RADOS Gateway (``CephGateway``): `BackupRun`
/// on an in-process simulated machine writes full and incremental points through
/// ``S3Storage``; fresh caches (other hosts) list and read them; leftovers of a killed
/// upload are cleaned; a tampered object fails verification.
@Suite(.cephGateway, .enabled(if: CephGateway.shouldRun, CephGateway.skipReason))
struct S3RepositoryGatewayTests {
    static let deviceBytes = 24 << 20

    /// A host: a simulated machine with one original device and one for snapshot storage.
    struct Host: Sendable {
        let machine: SimMachine
        let device: String
        let storage: String

        /// A host whose device holds `deviceBytes` (``S3RepositoryGatewayTests/deviceBytes`` by default).
        init(deviceBytes: Int = S3RepositoryGatewayTests.deviceBytes) throws {
            machine = SimMachine(params: SimMachine.smallParams())
            device = try machine.addDevice("orig0", sectors: UInt64(deviceBytes / 512)).path
            storage = try machine.addDevice("store", sectors: 1 << 18).path
        }

        /// One `backup create` of the device into `repository`; `onEvent` sees the run's events.
        func backUp(_ repository: BackupRepository, forceFull: Bool = false, compression: BackupCompression? = nil,
                    takenAt: Date? = nil, onEvent: @escaping @Sendable (BackupRunEvent) -> Void = { _ in }) throws -> BackupRecord {
            let provider = try DeviceRangeProvider(kernel: machine.backend, devicePath: storage)
            let run = BackupRun(repository: repository, kernel: machine.backend,
                                configuration: SessionConfiguration(devices: [device], pollMilliseconds: 10, hz: 1000),
                                storage: provider, forceFull: forceFull, blockBytes: 1 << 20, compression: compression,
                                takenAt: takenAt, onEvent: onEvent)
            return try #require(run.run().records.first)
        }
    }

    /// A bucket of the suite's gateway, and a way to open it as one host would.
    final class Bucket: Sendable {
        let configuration: S3Configuration
        let name: String
        let root: String

        init(_ label: String) async throws {
            let gateway = try #require(CephGateway.current, "the suite's trait starts the gateway")
            configuration = gateway.configuration
            name = "\(label)-\(UInt32.random(in: 0...UInt32.max))"
            root = FileManager.default.temporaryDirectory.appendingPathComponent("s3repo-\(UUID().uuidString)").path
            let name = self.name
            try await S3Client.withClient(configuration: configuration) { client in try await client.createBucket(name) }
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        var url: S3RepositoryURL { get throws { try S3RepositoryURL(parsing: "s3://\(name)/fleet") } }

        /// The repository as host `host` sees it, with its own cache (`cache` names it);
        /// `client` replaces the suite's client settings (retries, timeout, clock).
        func open(host: String, cache: String? = nil, partSize: Int = 5 << 20, client: S3Configuration? = nil) throws
            -> (BackupRepository, S3Repository.Sync)
        {
            let bridge = S3BlockingBridge(client: S3Client(configuration: client ?? configuration))
            let storage = try S3Storage(url: try url, bridge: bridge, host: host, partSize: partSize, parallelism: 3)
            return try S3Repository.open(storage: storage, cacheDirectory: root + "/" + (cache ?? host))
        }

        /// A client for direct object access.
        func withClient<T: Sendable>(_ body: (S3Client) async throws -> T) async throws -> T {
            try await S3Client.withClient(configuration: configuration, body)
        }
    }

    /// The disk at point `id`, read through the chain reader (ranged GETs, SHA-256 checked).
    static func disk(_ repository: BackupRepository, id: Int64) throws -> [UInt8] {
        let reader = try BackupChainReader(repository: repository, id: id)
        var bytes = [UInt8](repeating: 0, count: Int(reader.sizeBytes))
        let cluster = reader.clusterSize
        try bytes.withUnsafeMutableBytes { raw in
            for index in 0..<reader.clusterCount {
                let start = Int(index) * cluster
                try reader.readCluster(index, into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + cluster)]))
            }
        }
        return bytes
    }

    /// Where a scenario keeps its repository: the same body runs on both.
    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case directory, bucket
        var testDescription: String { rawValue }
    }

    /// A repository of `kind` for host "alpha": a directory beside the bucket's caches, or
    /// the bucket.
    static func repository(_ kind: Kind, _ bucket: Bucket) throws -> BackupRepository {
        switch kind {
        case .directory: try BackupRepository(directory: bucket.root + "/directory-repo", create: true)
        case .bucket: try bucket.open(host: "alpha").0
        }
    }

    /// Rewrites the device's cluster `index` (zeroes when `zero`) without CBT seeing it:
    /// the tracker is detached first, as when CBT is lost.
    static func detachTracker(_ host: Host) throws {
        let device = try BlockDevice(path: host.device, kernel: host.machine.backend)
        defer { try? device.close() }
        try device.detach()
    }

    @Test("full, incremental and resync points read back and restore equal; a fresh host rebuilds the catalog",
          arguments: Kind.allCases)
    func fullIncrementalResync(kind: Kind) async throws {
        let bucket = try await Bucket("chain")
        let host = try Host()
        let first = DataPattern(seed: 11).bytes(atByte: 0, count: Self.deviceBytes)
        try host.machine.write(first, to: host.device, atByte: 0)
        let repository = try Self.repository(kind, bucket)
        let full = try host.backUp(repository)
        #expect(full.type == .full)
        #expect(full.fileName.hasPrefix(kind == .bucket ? "alpha/blksnap-" : "blksnap-"))
        let change = DataPattern(seed: 12).bytes(atByte: 0, count: 3 << 20)
        try host.machine.write(change, to: host.device, atByte: 9 << 20)
        let second = try host.machine.readAll(host.device)
        let increment = try host.backUp(repository)
        #expect(increment.type == .incremental && increment.parentId == full.id)
        #expect(increment.changedBytes == 3 << 20)
        #expect(increment.fileSize < 4 << 20, "the increment holds the 3 MiB changed and its tables, not the disk")
        // CBT lost: 5 clusters rewritten (one zeroed) while no tracker watched.
        try Self.detachTracker(host)
        for (number, index) in [3, 77, 150, 200, 301].enumerated() {
            let bytes = number == 0 ? [UInt8](repeating: 0, count: 65_536) : DataPattern(seed: UInt64(500 + index)).bytes(atByte: 0, count: 65_536)
            try host.machine.write(bytes, to: host.device, atByte: UInt64(index) * 65_536)
        }
        let third = try host.machine.readAll(host.device)
        let resync = try host.backUp(repository)
        #expect(resync.resyncReason != nil && resync.type == .incremental && resync.parentId == increment.id)
        #expect(resync.changedBytes == 5 * 65_536, "exactly the 5 clusters rewritten are stored")

        for (record, image) in [(full, first), (increment, second), (resync, third)] {
            #expect(try Self.disk(repository, id: try #require(record.id)) == image)
        }
        let target = bucket.root + "/restored-\(kind).raw"
        _ = try BackupRestorer(repository: repository).restore(id: try #require(resync.id), to: target)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(third))
        let report = try BackupVerifier(repository: repository).verify(id: nil)
        #expect(report.findings.isEmpty, "\(report.findings)")

        guard kind == .bucket else { return }
        // Another machine: an empty cache, rebuilt from the manifests.
        let (fresh, freshSync) = try bucket.open(host: "omega")
        #expect(freshSync.added == 3)
        let listed = try fresh.catalog.all()
        #expect(listed.map(\.fileName) == [full.fileName, increment.fileName, resync.fileName])
        #expect(listed[1].parentId == listed[0].id && listed[2].parentId == listed[1].id)
        #expect(try Self.disk(fresh, id: try #require(listed.last?.id)) == third)
    }

    @Test("prune (in place on disk, by rewriting objects in a bucket): every kept point reads as at its take; nothing is left over",
          arguments: Kind.allCases)
    func prune(kind: Kind) async throws {
        let bucket = try await Bucket("prune")
        let host = try Host()
        let repository = try Self.repository(kind, bucket)
        try host.machine.write(DataPattern(seed: 21).bytes(atByte: 0, count: Self.deviceBytes), to: host.device, atByte: 0)
        var images: [Int64: [UInt8]] = [:]
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        for day in 0..<5 {
            if day > 0 {
                // Each day rewrites 1 MiB somewhere and zeroes 64 KiB elsewhere.
                try host.machine.write(DataPattern(seed: UInt64(30 + day)).bytes(atByte: 0, count: 1 << 20), to: host.device,
                                       atByte: UInt64(day * 3) << 20)
                try host.machine.write([UInt8](repeating: 0, count: 64 << 10), to: host.device, atByte: UInt64(20 << 20) + UInt64(day) * (64 << 10))
            }
            let record = try host.backUp(repository, compression: day % 2 == 0 ? BackupCompression.none : .zstd(level: 3),
                                         takenAt: start.addingTimeInterval(Double(day) * 86_400))
            images[try #require(record.id)] = try host.machine.readAll(host.device)
        }
        let result = try BackupPruner(repository: repository).prune(policy: RetentionPolicy(keepLast: 2))
        #expect(result.merges.count == 3 && result.deleted.isEmpty, "days 0, 1 and 2 merge, one by one, into the kept day 3")
        let kept = try repository.catalog.all()
        #expect(kept.count == 2)
        #expect(kept.first?.type == .full)
        for record in kept {
            #expect(try Self.disk(repository, id: try #require(record.id)) == images[try #require(record.id)], "\(record.fileName)")
        }
        #expect(try BackupVerifier(repository: repository).verify(id: nil).findings.isEmpty)
        // A later backup chains on the merged head.
        try host.machine.write(DataPattern(seed: 99).bytes(atByte: 0, count: 64 << 10), to: host.device, atByte: 0)
        let next = try host.backUp(repository)
        #expect(next.type == .incremental && next.parentId == kept.last?.id)
        #expect(try Self.disk(repository, id: try #require(next.id)) == (try host.machine.readAll(host.device)))

        guard kind == .bucket else { return }
        // A fresh host sees the merged points; the bucket holds only their objects and manifests.
        let (fresh, _) = try bucket.open(host: "omega")
        let listed = try fresh.catalog.all()
        // Catalogs keep times to the millisecond.
        let milliseconds = { (date: Date) in (date.timeIntervalSince1970 * 1000).rounded() }
        #expect(listed.map { milliseconds($0.takenAt) } == (kept + [next]).map { milliseconds($0.takenAt) })
        for (record, original) in zip(listed, kept) {
            #expect(try Self.disk(fresh, id: try #require(record.id)) == images[try #require(original.id)])
        }
        let name = bucket.name
        let keys = try await bucket.withClient { try await $0.listAllObjects(bucket: name) }.map(\.key)
        #expect(keys.count == 6, "three objects and three manifests: \(keys)")
    }

    @Test("four hosts back up at once into one bucket; each lists every point; a fifth restores any")
    func fourHostsOneBucket() async throws {
        let bucket = try await Bucket("fleet")
        let names = ["h1", "h2", "h3", "h4"]
        let hosts = try names.map { _ in try Host() }
        for (index, host) in hosts.enumerated() {
            try host.machine.write(DataPattern(seed: UInt64(100 + index)).bytes(atByte: 0, count: Self.deviceBytes), to: host.device, atByte: 0)
        }
        let images = try hosts.map { try $0.machine.readAll($0.device) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, host) in hosts.enumerated() {
                let name = names[index]
                group.addTask {
                    try await runOffPool {
                        let (repository, _) = try bucket.open(host: name)
                        _ = try host.backUp(repository)
                    }
                }
            }
            try await group.waitForAll()
        }
        for name in names {
            let (repository, _) = try bucket.open(host: name)
            #expect(try repository.catalog.all().count == 4, "host \(name) lists every host's point")
        }
        let (fifth, sync) = try bucket.open(host: "h5")
        #expect(sync.added == 4)
        for record in try fifth.catalog.all() {
            let owner = try #require(names.firstIndex { record.fileName.hasPrefix($0 + "/") })
            #expect(try Self.disk(fifth, id: try #require(record.id)) == images[owner], "\(record.fileName)")
        }
    }

    @Test("a killed upload leaves no point; the next run of that host cleans it up")
    func killedUploadIsCleaned() async throws {
        let bucket = try await Bucket("killed")
        let (repository, _) = try bucket.open(host: "alpha")
        // An upload in parts left open, and a complete object without a manifest, as a
        // process killed before its manifest leaves them.
        let open = try repository.storage.create("alpha/blksnap-orig0-20260101T000000Z-1.qcow2", maximumBytes: 1 << 30)
        let chunk = [UInt8](repeating: 0x5A, count: 6 << 20)
        try chunk.withUnsafeBytes { raw in
            try open.write(raw, at: 0)
            try open.write(raw, at: UInt64(6 << 20))
            try open.write(raw, at: UInt64(12 << 20))
        }
        let complete = try repository.storage.create("alpha/blksnap-orig0-20260101T000001Z-2.qcow2", maximumBytes: 1 << 30)
        try chunk.withUnsafeBytes { raw in try complete.write(raw, at: 0) }
        try complete.finish()
        // Another host's open upload is not this host's to clean.
        let (other, _) = try bucket.open(host: "beta")
        let foreign = try other.storage.create("beta/blksnap-orig0-20260101T000002Z-3.qcow2", maximumBytes: 1 << 30)
        try chunk.withUnsafeBytes { raw in
            try foreign.write(raw, at: 0)
            try foreign.write(raw, at: UInt64(6 << 20))
        }
        #expect(try repository.catalog.all().isEmpty, "no manifest: no point")
        let (again, _) = try bucket.open(host: "alpha")
        #expect(try again.catalog.all().isEmpty)
        let removed = try again.removeLeftovers()
        #expect(removed.count == 2, "\(removed)")
        let name = bucket.name
        let uploads = try await bucket.withClient { try await $0.listMultipartUploads(bucket: name) }
        #expect(uploads.map(\.key) == ["fleet/points/beta/blksnap-orig0-20260101T000002Z-3.qcow2"])
        let objects = try await bucket.withClient { try await $0.listAllObjects(bucket: name) }
        #expect(objects.isEmpty, "\(objects.map(\.key))")
        foreign.discard()
    }

    @Test("a tampered object fails verify and reads; a URL carrying a secret is refused")
    func tamperedObjectAndSecretURL() async throws {
        let bucket = try await Bucket("tamper")
        let host = try Host()
        try host.machine.write(DataPattern(seed: 5).bytes(atByte: 0, count: Self.deviceBytes), to: host.device, atByte: 0)
        let (repository, _) = try bucket.open(host: "alpha")
        let full = try host.backUp(repository)
        let name = bucket.name
        let key = "fleet/points/" + full.fileName
        var object = try await bucket.withClient { try await $0.getObject(bucket: name, key: key) }.bytes
        // A byte of the first data cluster (cluster 1 of the file).
        object[(64 << 10) + 100] ^= 0xFF
        let tampered = object
        _ = try await bucket.withClient { try await $0.putObject(bucket: name, key: key, bytes: tampered) }
        let (fresh, _) = try bucket.open(host: "omega")
        let report = try BackupVerifier(repository: fresh).verify(id: nil)
        #expect(report.findings.count == 1)
        #expect(report.findings.first?.problem.contains("does not match its SHA-256") == true)
        #expect(throws: BackupError.self) { try Self.disk(fresh, id: 1) }

        #expect(throws: BackupError.self) { try S3RepositoryURL(parsing: "s3://AKIA:secret@bucket/prefix") }
        do {
            _ = try S3RepositoryURL(parsing: "s3://AKIA:verysecret@bucket/prefix")
        } catch {
            #expect(!error.message.contains("verysecret"))
        }
    }
}

/// Runs blocking work on a thread of its own, off Swift's cooperative pool.
func runOffPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
