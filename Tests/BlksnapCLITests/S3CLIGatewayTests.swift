import BlksnapObjectStore
import CephTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl backup … --repo s3://BUCKET/PREFIX` end to end against a real Ceph RADOS
/// gateway (``CephGateway``, from the shared CephTestSupport target): the built binary, the
/// simulator served by `sim serve`, the AWS variables in the environment, as an operator runs it.
@Suite("backup on an S3 gateway through blksnapctl", .serialized, .cephGateway,
       .enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built: run swift build"),
       .enabled(if: CephGateway.shouldRun, CephGateway.skipReason))
struct S3CLIGatewayTests {
    /// A new bucket on the suite's gateway, with the environment a shell user would export for
    /// it (`HOME` too, so no operator's ~/.aws or cache is read) and a directory for the test.
    struct Setup {
        let gateway: CephGateway
        let bucket: String
        let server: E2ESimulator
        let environment: [String: String]

        init(_ label: String, deviceSize: String = "64M") async throws {
            gateway = try #require(CephGateway.current, "the suite's trait starts the gateway")
            let name = "\(label)-\(UInt32.random(in: 0...UInt32.max))"
            try await S3Client.withClient(configuration: gateway.configuration) { try await $0.createBucket(name) }
            bucket = name
            server = try BackupCLITests.simulator(size: deviceSize)
            environment = gateway.environment.merging(["HOME": server.directory.path]) { _, new in new }
        }

        /// The repository URL of the bucket.
        var repo: String { "s3://\(bucket)/fleet" }

        /// A cache directory of the test's, by name (another name: another machine's cache).
        func cache(_ name: String) -> String { server.directory.appendingPathComponent("cache-\(name)").path }

        /// `backup SUBCOMMAND ARGS --repo URL --host-name alpha --cache-dir CACHE` with `overrides` in the environment.
        func backup(_ arguments: [String], cache: String = "a", repo: String? = nil, overrides: [String: String] = [:])
            throws -> CLITestSupport.Outcome
        {
            try server.ctl(["backup"] + arguments + ["--repo", repo ?? self.repo, "--host-name", "alpha", "--cache-dir", self.cache(cache)],
                           environment: environment.merging(overrides) { _, new in new })
        }

        /// The points `backup list --json` gives with cache `cache`.
        func list(cache: String = "a", sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
            let outcome = try backup(["list", "--json"], cache: cache)
            #expect(outcome.status == 0, "backup list: \(outcome.stderr)", sourceLocation: sourceLocation)
            let document = try E2E.object(outcome.stdout, sourceLocation: sourceLocation)
            return try #require(document["backups"] as? [[String: Any]], sourceLocation: sourceLocation)
        }

        /// `backup create /dev/d0` into the bucket; its `backup` record.
        func create(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
            try BackupCLITests.create(server, repo: repo, extra: ["--host-name", "alpha", "--cache-dir", cache("a")],
                                      environment: environment, sourceLocation: sourceLocation).backup
        }

        /// The device's bytes now, in a file of the test's directory.
        func deviceImage(_ name: String, length: String) throws -> String {
            let path = server.directory.appendingPathComponent(name).path
            try server.ok(["sim", "read", "/dev/d0", "--offset", "0", "--length", length, "--output", path])
            return path
        }
    }

    /// Expects a failed command: exit `status`, and one line on stderr holding `needle` and
    /// none of `secrets`.
    static func expectFailure(_ outcome: CLITestSupport.Outcome, status: Int32, naming needle: String, secrets: [String] = [],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let message = outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        print("S3CLIGatewayTests: exit \(outcome.status): \(message)")
        #expect(outcome.status == status, "\(message)", sourceLocation: sourceLocation)
        #expect(!message.isEmpty && !message.contains("\n"), "one line on stderr: \(message)", sourceLocation: sourceLocation)
        #expect(message.contains(needle), "\(message)", sourceLocation: sourceLocation)
        for secret in secrets { #expect(!message.contains(secret) && !outcome.stdout.contains(secret), "a secret is echoed", sourceLocation: sourceLocation) }
    }

    @Test("full + incremental, list, verify, restore, serve read by nbdcopy, prune --keep-last 1, a fresh cache; a tampered object fails verify (65) and its read")
    func lifecycle() async throws {
        let started = ContinuousClock.now
        let setup = try await Setup("cli")
        let server = setup.server
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "1", "--length", "16M"])
        let full = try setup.create()
        #expect(full["type"] as? String == "full")
        try server.ok(["sim", "write", "/dev/d0", "--offset", "40M", "--pattern", "2", "--length", "3M"])
        let incremental = try setup.create()
        #expect(incremental["type"] as? String == "incremental" && incremental["parent"] as? Int == full["id"] as? Int)
        let image = try setup.deviceImage("device.raw", length: "64M")

        let listed = try setup.list()
        #expect(listed.compactMap { $0["file_name"] as? String } == [full, incremental].compactMap { $0["file_name"] as? String })
        let verify = try setup.backup(["verify"])
        #expect(verify.status == 0, "backup verify: \(verify.stderr)")

        let id = try #require(incremental["id"] as? Int)
        let restored = server.directory.appendingPathComponent("restored.raw").path
        let restore = try setup.backup(["restore", "\(id)", "--to", restored, "--quiet"])
        #expect(restore.status == 0, "backup restore: \(restore.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: restored, andPath: image), "the restore = the device")

        let socket = server.directory.appendingPathComponent("b.sock").path
        let uri = "nbd+unix:///d0?socket=\(socket)"
        let nbdcopy = FileManager.default.isExecutableFile(atPath: NBDTools.nbdcopy.path) || CLITestSupport.isCI
        let serveArguments = ["backup", "serve", "\(id)", "--repo", setup.repo, "--host-name", "alpha", "--cache-dir", setup.cache("a"),
                              "--unix", socket, "--json"]
        if nbdcopy {
            let serving = try NBDServeProcess(serveArguments, environment: setup.environment)
            let copy = server.directory.appendingPathComponent("copy.raw").path
            try NBDTools.run(NBDTools.nbdcopy, [uri, copy])
            #expect(FileManager.default.contentsEqual(atPath: copy, andPath: image), "nbdcopy of the served point = the device")
            #expect(serving.stop().status == 0)
        } else {
            print("S3CLIGatewayTests: nbdcopy missing (libnbd-bin): the serve checks are skipped")
        }

        let prune = try setup.backup(["prune", "--keep-last", "1"])
        #expect(prune.status == 0, "backup prune: \(prune.stderr)")
        let kept = try setup.list()
        #expect(kept.count == 1)
        let fresh = try setup.list(cache: "fresh")
        #expect(fresh.first?["file_name"] is String && fresh.first?["taken_at"] is String, "\(fresh)")
        #expect(fresh.compactMap { $0["file_name"] as? String } == kept.compactMap { $0["file_name"] as? String })
        #expect(fresh.compactMap { $0["taken_at"] as? String } == kept.compactMap { $0["taken_at"] as? String })
        // Ids are each cache's own: the fresh cache numbers the kept point anew.
        let keptID = try #require(fresh.first?["id"] as? Int)
        let again = server.directory.appendingPathComponent("again.raw").path
        let restoreFresh = try setup.backup(["restore", "\(keptID)", "--to", again, "--quiet"], cache: "fresh")
        #expect(restoreFresh.status == 0, "backup restore with a fresh cache: \(restoreFresh.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: again, andPath: image), "the merged point restored on another machine = the device")

        // Served from the fresh cache, then a byte in the middle of the one object left (a data
        // cluster, beyond the header block the server reads on start) changed in the bucket.
        let serving = nbdcopy
            ? try NBDServeProcess(["backup", "serve", "\(keptID)", "--repo", setup.repo, "--host-name", "alpha",
                                   "--cache-dir", setup.cache("fresh"), "--unix", socket, "--json"], environment: setup.environment)
            : nil
        let bucket = setup.bucket
        try await S3Client.withClient(configuration: setup.gateway.configuration) { client in
            let objects = try await client.listAllObjects(bucket: bucket, prefix: "fleet/points/alpha/")
            let key = try #require(objects.count == 1 ? objects.first?.key : nil, "\(objects.map(\.key))")
            var bytes = try await client.getObject(bucket: bucket, key: key).bytes
            bytes[bytes.count / 2] ^= 0xFF
            _ = try await client.putObject(bucket: bucket, key: key, bytes: bytes)
        }
        let tampered = try setup.backup(["verify"], cache: "fresh")
        #expect(tampered.status == 65, "backup verify of a tampered object: \(tampered.stdout)\(tampered.stderr)")
        print("S3CLIGatewayTests: tampered verify exit \(tampered.status): \(tampered.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        if let serving {
            let failed = try CLITestSupport.runProgram(NBDTools.nbdcopy, [uri, server.directory.appendingPathComponent("bad.raw").path])
            print("S3CLIGatewayTests: nbdcopy over the tampered cluster: exit \(failed.status): \(failed.stderr.trimmingCharacters(in: .whitespacesAndNewlines).prefix(300))")
            #expect(failed.status != 0, "nbdcopy over a tampered cluster must fail")
            #expect(failed.stderr.contains("Input/output error") || failed.stderr.contains("EIO"), "the read fails with EIO: \(failed.stderr)")
            #expect(serving.stop().status == 0)
        }
        print("S3CLIGatewayTests: lifecycle took \(started.duration(to: .now))")
    }

    @Test("wrong secret (1, SignatureDoesNotMatch), missing bucket (1, NoSuchBucket), closed port (69), user:secret@ URL (1): one line each, no secret")
    func errors() async throws {
        let started = ContinuousClock.now
        let setup = try await Setup("errors", deviceSize: "8M")
        let secret = try #require(setup.environment["AWS_SECRET_ACCESS_KEY"])
        let wrong = "wrongSecretKey0123456789abcdefghijklmnop"
        Self.expectFailure(try setup.backup(["list"], overrides: ["AWS_SECRET_ACCESS_KEY": wrong]), status: 1,
                           naming: "SignatureDoesNotMatch", secrets: [wrong, secret])
        Self.expectFailure(try setup.backup(["list"], repo: "s3://no-such-bucket-\(UInt32.random(in: 0...UInt32.max))/fleet"),
                           status: 1, naming: "NoSuchBucket", secrets: [secret])
        // A port nothing listens on: bound, then closed.
        let port = try Self.closedPort()
        Self.expectFailure(try setup.backup(["list"], overrides: ["AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)"]), status: 69,
                           naming: "Transport", secrets: [secret])
        Self.expectFailure(try setup.backup(["list"], repo: "s3://AKIA:urlSecret0123456789@\(setup.bucket)/fleet"), status: 1,
                           naming: "s3://", secrets: ["urlSecret0123456789", secret])
        print("S3CLIGatewayTests: errors took \(started.duration(to: .now))")
    }

    /// A TCP port of 127.0.0.1 no one listens on (bound by the kernel's choice, then closed).
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        #expect(bound, "bind 127.0.0.1:0")
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
