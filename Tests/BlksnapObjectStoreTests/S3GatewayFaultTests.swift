import BlksnapBackup
import BlksnapBackupS3
@testable import BlksnapObjectStore
import BlksnapSimulator
import CephTestSupport
import Foundation
import Testing

/// The S3 gateway crashing under a `backup create`: radosgw SIGKILLed (`scripts/ceph.sh
/// kill-rgw`) at seeded random moments of the upload, then started again. A suite of its own,
/// so its gateway (killed on purpose) is not the one other suites' tests use meanwhile; its
/// tests one after the other, for the same reason. Also: a client whose clock is off.
@Suite(.cephGateway, .serialized, .enabled(if: CephGateway.shouldRun, CephGateway.skipReason))
struct S3GatewayFaultTests {
    /// Large enough that the upload of a full point (5 parts of 5 MiB) lasts a while.
    static let deviceBytes = 24 << 20
    /// The rounds whose kill must land inside an upload.
    static let rounds = 10

    /// The suite's client settings with quick failures: a killed gateway refuses connections
    /// at once, so two attempts with a short backoff end a run in well under a second.
    static func quickClient(_ base: S3Configuration) -> S3Configuration {
        var configuration = base
        configuration.retry = S3RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(50), maxDelay: .milliseconds(100))
        configuration.requestTimeout = .seconds(10)
        return configuration
    }

    /// One `backup create` of host `alpha` on a thread of its own, with when its copy began
    /// (the first progress event) signalled on `copying`, which ends with the run.
    static func startBackup(_ bucket: S3RepositoryGatewayTests.Bucket, _ host: S3RepositoryGatewayTests.Host,
                            client: S3Configuration, forceFull: Bool) -> (Task<BackupRecord, any Error>, AsyncStream<Void>) {
        let (copying, signal) = AsyncStream.makeStream(of: Void.self)
        let task = Task {
            defer { signal.finish() }
            return try await runOffPool {
                // The repository (and its cache's lock) lives as long as this run only.
                let (repository, _) = try bucket.open(host: "alpha", client: client)
                return try host.backUp(repository, forceFull: forceFull) { event in
                    if case .progress = event { signal.yield() }
                }
            }
        }
        return (task, copying)
    }

    /// What the bucket holds under host `alpha`'s folders.
    struct Contents: Sendable {
        var manifests: Set<String>
        var points: Set<String>
        var uploads: [String]

        init(_ bucket: S3RepositoryGatewayTests.Bucket) async throws {
            let name = bucket.name
            (manifests, points, uploads) = try await bucket.withClient { client in
                (Set(try await client.listAllObjects(bucket: name, prefix: "fleet/manifests/alpha/").map(\.key)),
                 Set(try await client.listAllObjects(bucket: name, prefix: "fleet/points/alpha/").map(\.key)),
                 try await client.listMultipartUploads(bucket: name, prefix: "fleet/points/alpha/").map(\.key))
            }
        }
    }

    @Test("the gateway killed (SIGKILL) during an upload at ≥ 10 random moments: no point appears, the next run succeeds and cleans up")
    func killedDuringUpload() async throws {
        let gateway = try #require(CephGateway.current, "the suite's trait starts the gateway")
        let seed = ProcessInfo.processInfo.environment["BLKSNAP_FAULT_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        print("S3GatewayFaultTests: seed \(seed) (BLKSNAP_FAULT_SEED=\(seed) repeats these kill moments)")
        var random = SplitMix64(seed: seed)
        let bucket = try await S3RepositoryGatewayTests.Bucket("sigkill")
        let client = Self.quickClient(bucket.configuration)
        let host = try S3RepositoryGatewayTests.Host(deviceBytes: Self.deviceBytes)
        try host.machine.write(random.bytes(Self.deviceBytes), to: host.device, atByte: 0)

        // A first full point, to time an upload: the kills fall within 60 % of it.
        let clock = ContinuousClock()
        let (first, firstCopying) = Self.startBackup(bucket, host, client: client, forceFull: true)
        for await _ in firstCopying { break }
        let copyStart = clock.now
        var known = [try await first.value.fileName]
        let upload = copyStart.duration(to: clock.now)
        print("S3GatewayFaultTests: a full upload of \(Self.deviceBytes >> 20) MiB takes \(upload)")
        let window = max(Int(upload / .milliseconds(1)) * 6 / 10, 20)

        var killed = 0, attempts = 0
        while killed < Self.rounds, attempts < Self.rounds * 3 {
            attempts += 1
            let roundStart = clock.now
            // New data, so the point of this round differs from every earlier one.
            try host.machine.write(random.bytes(2 << 20), to: host.device,
                                   atByte: UInt64(Int.random(in: 0..<(Self.deviceBytes >> 21), using: &random)) << 21)
            let delay = Duration.milliseconds(Int.random(in: 0...window, using: &random))
            let (run, copying) = Self.startBackup(bucket, host, client: client, forceFull: true)
            for await _ in copying { break }
            try await Task.sleep(for: delay)
            try await gateway.killGateway()
            let killedAt = clock.now
            let outcome = await run.result
            let failedAfter = killedAt.duration(to: clock.now)
            try await gateway.restartGateway()
            let failure: String
            switch outcome {
            case .success(let record):
                // The kill came after the commit: a complete point, listed as any other.
                print("S3GatewayFaultTests: attempt \(attempts): killed \(delay) into the copy, after the commit; not counted")
                known.append(record.fileName)
                continue
            case .failure(let error):
                failure = "\(error)"
            }
            killed += 1

            // No new point: the manifests are those of the committed points, and a host with
            // an empty cache lists exactly those.
            let before = try await Contents(bucket)
            #expect(before.manifests == Set(known.map { "fleet/manifests/\($0).json" }), "round \(killed)")
            let (observer, _) = try bucket.open(host: "observer", cache: "observer-\(attempts)", client: client)
            #expect(try observer.catalog.all().map(\.fileName) == known, "round \(killed): a point without its manifest")
            let leftovers = before.uploads.count + before.points.subtracting(known.map { "fleet/points/\($0)" }).count

            // The next run of that host succeeds, reads back equal, and leaves nothing behind.
            let recoveryStart = clock.now
            let (next, _) = Self.startBackup(bucket, host, client: client, forceFull: false)
            let record = try await next.value
            let recovery = recoveryStart.duration(to: clock.now)
            known.append(record.fileName)
            let (repository, _) = try bucket.open(host: "alpha", client: client)
            let id = try #require(try repository.catalog.all().last?.id)
            #expect(try S3RepositoryGatewayTests.disk(repository, id: id) == (try host.machine.readAll(host.device)), "round \(killed)")
            let after = try await Contents(bucket)
            #expect(after.uploads.isEmpty, "round \(killed): uploads left open: \(after.uploads)")
            #expect(after.points == Set(known.map { "fleet/points/\($0)" }), "round \(killed): objects no manifest names")
            #expect(after.manifests == Set(known.map { "fleet/manifests/\($0).json" }))
            print("S3GatewayFaultTests: round \(killed): killed \(delay) into the copy; the run failed \(failedAfter) later;"
                  + " \(leftovers) leftover(s); the next run (\(record.type)) took \(recovery); round \(roundStart.duration(to: clock.now));"
                  + " the run said: \(failure.prefix(160))")
        }
        #expect(killed >= Self.rounds, "only \(killed) of \(attempts) kills fell inside an upload")
    }

    @Test("a clock 20 minutes off: one line naming RequestTimeTooSkewed, its meaning and remedy, exit 1 not 69")
    func skewedClock() async throws {
        let bucket = try await S3RepositoryGatewayTests.Bucket("skew")
        var skewed = bucket.configuration
        skewed.signingClockOffset = 20 * 60
        skewed.retry = .none
        let secret = skewed.credentials.secretAccessKey
        let error = try #require(throws: BackupError.self) { try bucket.open(host: "alpha", client: skewed) }
        print("S3GatewayFaultTests: skewed clock: \(error.message)")
        #expect(error.message.contains("RequestTimeTooSkewed"))
        #expect(!error.message.contains("\n") && !error.message.contains(secret))
        #expect(error.errno == .invalidArgument && error.category == nil)
        // The same client with the right clock works: the skew alone failed it.
        skewed.signingClockOffset = 0
        #expect(try bucket.open(host: "alpha", client: skewed).0.catalog.all().isEmpty)
    }
}
