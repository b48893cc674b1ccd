import BlksnapBackup
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl backup` end to end on `blksnapctl sim serve`, checked against qemu-img.
@Suite("backup create/list/verify/restore on the simulator", .enabled(if: CLITestSupport.binaryAvailable))
struct BackupCLITests {
    static let cluster = 65536
    static var qemuImgAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img") }

    /// qemu-img with both streams; qemu-utils is a test dependency (install-deps.sh).
    static func qemuImg(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CLITestSupport.Outcome {
        try #require(qemuImgAvailable, "qemu-img is missing: install qemu-utils (scripts/install-deps.sh)", sourceLocation: sourceLocation)
        return try CLITestSupport.runProgram(URL(fileURLWithPath: "/usr/bin/qemu-img"), arguments)
    }

    static func expectCheckClean(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let check = try qemuImg(["check", "-f", "qcow2", path], sourceLocation: sourceLocation)
        #expect(check.status == 0 && check.stdout.contains("No errors were found") && !check.stdout.contains("leaked"),
                "qemu-img check \(path): \(check.stdout)\(check.stderr)", sourceLocation: sourceLocation)
    }

    /// A simulator with device d0 (`size`) and storage device st.
    static func simulator(size: String = "32M") throws -> E2ESimulator {
        let server = try E2ESimulator()
        try server.ok(["sim", "device", "add", "d0", "--size", size])
        try server.ok(["sim", "device", "add", "st", "--size", "128M"])
        return server
    }

    static func create(_ server: E2ESimulator, repo: String, extra: [String] = [], environment: [String: String] = [:],
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> (backup: [String: Any], stderr: String) {
        let outcome = try server.ctl(["backup", "create", "/dev/d0", "--repo", repo, "--storage", "/dev/st", "--json"] + extra,
                                     environment: environment)
        #expect(outcome.status == 0, "backup create failed: \(outcome.stderr)", sourceLocation: sourceLocation)
        let document = try E2E.object(outcome.stdout, sourceLocation: sourceLocation)
        let entries = try #require(document["backups"] as? [[String: Any]], sourceLocation: sourceLocation)
        let backup = try #require(entries.first?["backup"] as? [String: Any], sourceLocation: sourceLocation)
        return (backup, outcome.stderr)
    }

    static func list(_ server: E2ESimulator, repo: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let document = try server.json(["backup", "list", "--repo", repo], sourceLocation: sourceLocation)
        return try #require(document["backups"] as? [[String: Any]], sourceLocation: sourceLocation)
    }

    /// Random writes through the simulator (as a program would): `count` ranges.
    static func randomWrites(_ server: E2ESimulator, random: inout TestRandomCLI, count: Int, deviceBytes: Int) throws {
        for _ in 0..<count {
            let length = Int(random.next(below: 128) + 1) * 4096
            let offset = Int(random.next(below: UInt64((deviceBytes - length) / 512))) * 512
            try server.ok(["sim", "write", "/dev/d0", "--offset", "\(offset)", "--pattern", "\(random.next(below: 1 << 30) + 1)",
                           "--length", "\(length)"])
        }
    }

    /// Bytes of `ranges` (sector ranges) widened to whole 64 KiB clusters, merged, clipped.
    static func clusterAlignedBytes(_ ranges: [[String: Any]], capacity: Int) -> Int {
        var clusters = Set<Int>()
        for range in ranges {
            let offset = (range["offset_sectors"] as? Int ?? 0) * 512
            let count = (range["count_sectors"] as? Int ?? 0) * 512
            for index in (offset / cluster)..<((offset + count + cluster - 1) / cluster) { clusters.insert(index) }
        }
        return clusters.reduce(0) { $0 + min(cluster, capacity - $1 * cluster) }
    }

    @Test("full + 3 incrementals with random writes: each head is its point in time, check clean, restore equal, reads = CBT changes")
    func chain() throws {
        let server = try Self.simulator()
        let deviceBytes = 32 << 20
        let repo = server.directory.appendingPathComponent("repo").path
        var random = TestRandomCLI(seed: 0xBAC)
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "7", "--length", "12M"])
        var points: [(id: Int, raw: String, file: String)] = []
        var previousNumber: Int?
        var ratios: [String] = []
        for step in 0..<4 {
            if step > 0 { try Self.randomWrites(server, random: &random, count: 6, deviceBytes: deviceBytes) }
            let (backup, stderr) = try Self.create(server, repo: repo)
            let id = try #require(backup["id"] as? Int)
            let raw = server.directory.appendingPathComponent("point\(step).raw").path
            // Nothing writes during the backup: the device now is the image at take.
            try server.ok(["sim", "read", "/dev/d0", "--offset", "0", "--length", "32M", "--output", raw])
            let file = repo + "/" + (try #require(backup["file_name"] as? String))
            points.append((id, raw, file))
            let number = try #require(backup["cbt_changes_number"] as? Int)
            if step == 0 {
                #expect(backup["type"] as? String == "full")
                #expect(stderr.contains("full backup: no earlier backup"))
            } else {
                #expect(backup["type"] as? String == "incremental", "\(stderr)")
                #expect(backup["parent"] as? Int == points[step - 1].id)
                #expect(stderr.contains("incremental on backup \(points[step - 1].id)"))
                // What the CBT lists as changed since the parent's number, widened to clusters,
                // is exactly what was read.
                let cbt = try server.json(["cbt", "read", "/dev/d0", "--since", "\(previousNumber!)"])
                let ranges = try #require(cbt["changed_ranges"] as? [[String: Any]])
                let changed = ranges.reduce(0) { $0 + ($1["count_sectors"] as? Int ?? 0) * 512 }
                #expect(backup["changed_bytes"] as? Int == changed)
                let read = try #require(backup["bytes_read"] as? Int)
                #expect(read == Self.clusterAlignedBytes(ranges, capacity: deviceBytes))
                #expect(read >= changed && read > 0)
                let written = try #require(backup["bytes_written"] as? Int)
                // Data is at most what was read; metadata is 5 clusters (header, L1, L2, refcount block and table).
                #expect(written <= read + 5 * Self.cluster)
                ratios.append(String(format: "increment %d: read/changed %.3f, written/changed %.3f", step,
                                     Double(read) / Double(changed), Double(written) / Double(changed)))
            }
            previousNumber = number
        }
        print("backup chain ratios: " + ratios.joined(separator: "; "))
        for (index, point) in points.enumerated() {
            try Self.expectCheckClean(point.file)
            let compare = try Self.qemuImg(["compare", "-f", "qcow2", "-F", "raw", point.file, point.raw])
            #expect(compare.status == 0, "point \(index): \(compare.stdout)\(compare.stderr)")
            let restored = server.directory.appendingPathComponent("restored\(index).raw").path
            try server.ok(["backup", "restore", "\(point.id)", "--to", restored, "--repo", repo])
            let expected = try Data(contentsOf: URL(fileURLWithPath: point.raw))
            #expect(try Data(contentsOf: URL(fileURLWithPath: restored)) == expected, "restore of backup \(point.id)")
        }
        let listed = try Self.list(server, repo: repo)
        #expect(listed.map { $0["id"] as? Int } == points.map { $0.id })
        #expect(listed.map { $0["type"] as? String } == ["full", "incremental", "incremental", "incremental"])
        let verify = try server.json(["backup", "verify", "--repo", repo])
        #expect(verify["ok"] as? Bool == true)
        #expect((verify["backups"] as? [Int])?.count == 4)
    }

    @Test("restore --delta --storage onto the tracked original: method cbt writes what the CBT and the chain name, reads nothing of it; a new CBT generation is refused on the simulator with the reason")
    func cbtDeltaRestore() throws {
        let server = try Self.simulator(size: "8M")
        let repo = server.directory.appendingPathComponent("repo").path
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "3", "--length", "8M"])
        let first = try Self.create(server, repo: repo).backup
        try server.ok(["sim", "write", "/dev/d0", "--offset", "\(10 * Self.cluster)", "--pattern", "4", "--length", "\(2 * Self.cluster)"])
        let second = try Self.create(server, repo: repo).backup
        let firstID = try #require(first["id"] as? Int), secondID = try #require(second["id"] as? Int)
        // After the last backup: 3 clusters written (one of them also in backup 2's file).
        for cluster in [11, 40, 90] {
            try server.ok(["sim", "write", "/dev/d0", "--offset", "\(cluster * Self.cluster)", "--pattern", "5", "--length", "\(Self.cluster)"])
        }
        let pointRaw = server.directory.appendingPathComponent("point1.raw").path
        let expected = try server.ctl(["backup", "restore", "\(firstID)", "--repo", repo, "--to", pointRaw, "--quiet"])
        #expect(expected.status == 0, "\(expected.stderr)")
        let restored = try server.json(["backup", "restore", "\(firstID)", "--repo", repo, "--to", "/dev/d0", "--delta", "--storage", "/dev/st"])
        #expect(restored["method"] as? String == "cbt", "\(restored)")
        #expect(restored["cbt_base"] as? Int == secondID)
        #expect(restored["target_bytes_read"] as? Int == 0)
        #expect(restored["chain_differing_clusters"] as? Int == 2, "backup 2 holds clusters 10 and 11")
        #expect(restored["cbt_changed_bytes"] as? Int == 3 * Self.cluster)
        #expect(restored["bytes_written"] as? Int == 4 * Self.cluster, "clusters 10, 11, 40 and 90: \(restored)")
        let now = server.directory.appendingPathComponent("now.raw").path
        try server.ok(["sim", "read", "/dev/d0", "--offset", "0", "--length", "8M", "--output", now])
        #expect(FileManager.default.contentsEqual(atPath: now, andPath: pointRaw), "the device reads as backup \(firstID)")
        // Back to backup 2: the first restore's writes are changes since backup 2 now.
        let again = try server.json(["backup", "restore", "\(secondID)", "--repo", repo, "--to", "/dev/d0", "--delta", "--storage", "/dev/st"])
        #expect(again["method"] as? String == "cbt" && again["cbt_base"] as? Int == secondID && again["chain_differing_clusters"] as? Int == 0)
        #expect(again["bytes_written"] as? Int == 4 * Self.cluster, "\(again)")
        // The next backup is an ordinary incremental holding the restore's writes.
        let third = try Self.create(server, repo: repo).backup
        #expect(third["type"] as? String == "incremental" && third["parent"] as? Int == secondID)
        // A new generation: no backup of the chain matches; on the simulator nothing can be compared.
        try server.ok(["tracker", "detach", "/dev/d0"])
        let refused = try server.ctl(["backup", "restore", "\(firstID)", "--repo", repo, "--to", "/dev/d0", "--delta", "--storage", "/dev/st"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("method cbt does not apply") && refused.stderr.contains("CBT generation"), "\(refused.stderr)")
        let usage = try server.ctl(["backup", "restore", "\(firstID)", "--repo", repo, "--to", "/dev/d0", "--storage", "/dev/st"])
        #expect(usage.status == 64 && usage.stderr.contains("add --delta"), "\(usage.stderr)")
    }

    @Test("a re-attached tracker (new CBT generation) resyncs on the same device: only differing clusters, and says why")
    func generationChange() throws {
        let server = try Self.simulator(size: "8M")
        let repo = server.directory.appendingPathComponent("repo").path
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "3", "--length", "2M"])
        let first = try Self.create(server, repo: repo).backup
        try server.ok(["tracker", "detach", "/dev/d0"])
        // While the tracker is away, 3 clusters change (no CBT sees them) and one is zeroed.
        try server.ok(["sim", "write", "/dev/d0", "--offset", "\(5 * Self.cluster)", "--pattern", "9", "--length", "\(3 * Self.cluster)"])
        let zeroes = server.directory.appendingPathComponent("zeroes.bin")
        try Data(count: Self.cluster).write(to: zeroes)
        try server.ok(["sim", "write", "/dev/d0", "--offset", "\(20 * Self.cluster)", "--input", zeroes.path])
        let (second, stderr) = try Self.create(server, repo: repo)
        #expect(second["type"] as? String == "incremental")
        #expect(second["parent"] as? Int == first["id"] as? Int)
        #expect(stderr.contains("resync on backup \(first["id"] as? Int ?? 0): the CBT generation of /dev/d0 changed"), "\(stderr)")
        #expect((second["resync_reason"] as? String)?.contains("compared with backup") == true)
        #expect(second["changed_bytes"] as? Int == 4 * Self.cluster, "3 rewritten clusters and 1 zeroed one differ")
        #expect(second["bytes_read"] as? Int == 8 << 20, "a resync reads the whole image")
        // 3 data clusters stored (the zeroed one is an L2 zero flag) + header, L1, L2, refcount block and table.
        #expect(second["bytes_written"] as? Int == 8 * Self.cluster)
        #expect(second["cbt_generation"] as? String != first["cbt_generation"] as? String)
        let raw = server.directory.appendingPathComponent("now.raw").path
        try server.ok(["sim", "read", "/dev/d0", "--offset", "0", "--length", "8M", "--output", raw])
        let file = repo + "/" + (try #require(second["file_name"] as? String))
        try Self.expectCheckClean(file)
        let compare = try Self.qemuImg(["compare", "-f", "qcow2", "-F", "raw", file, raw])
        #expect(compare.status == 0, "\(compare.stdout)\(compare.stderr)")
        // --full is a reason too.
        let (third, thirdErr) = try Self.create(server, repo: repo, extra: ["--full"])
        #expect(third["type"] as? String == "full")
        #expect(thirdErr.contains("--full was given"))
    }

    @Test("verify names a flipped byte's backup, file and range, exits 65, and the next backup is full")
    func verifyFindsCorruption() throws {
        let server = try Self.simulator(size: "8M")
        let repo = server.directory.appendingPathComponent("repo").path
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "5", "--length", "8M"])
        let full = try Self.create(server, repo: repo).backup
        try server.ok(["sim", "write", "/dev/d0", "--offset", "1M", "--pattern", "6", "--length", "64K"])
        _ = try Self.create(server, repo: repo)
        #expect(try server.ctl(["backup", "verify", "--repo", repo]).status == 0)
        let name = try #require(full["file_name"] as? String)
        let path = repo + "/" + name
        // Flip one byte in a data cluster (data starts after the header cluster).
        let offset: UInt64 = 3 * 65536 + 4321
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: offset)
        let original = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([original ^ 0x01]))
        try handle.close()
        let verify = try server.ctl(["backup", "verify", "--repo", repo, "--json"])
        #expect(verify.status == 65, "\(verify.stderr)")
        let document = try E2E.object(verify.stdout)
        let findings = try #require(document["findings"] as? [[String: Any]])
        #expect(findings.count == 1)
        let finding = try #require(findings.first)
        #expect(finding["backup"] as? Int == full["id"] as? Int)
        #expect(finding["file_name"] as? String == name)
        let start = try #require(finding["file_offset"] as? Int), length = try #require(finding["length"] as? Int)
        #expect(start <= Int(offset) && Int(offset) < start + length, "the range \(start)..<\(start + length) holds byte \(offset)")
        #expect(verify.stderr.contains("backup \(full["id"] as? Int ?? 0): \(name) bytes \(start)..<\(start + length)"))
        // The corrupt backup is marked; restore refuses it; the next backup is full.
        let listed = try Self.list(server, repo: repo)
        #expect(listed.first?["status"] as? String == "corrupt")
        let restore = try server.ctl(["backup", "restore", "\(full["id"] as? Int ?? 0)", "--to",
                                      server.directory.appendingPathComponent("r.raw").path, "--repo", repo])
        #expect(restore.status == 65, "\(restore.stderr)")
        let (next, stderr) = try Self.create(server, repo: repo)
        #expect(next["type"] as? String == "full", "\(stderr)")
        #expect(stderr.contains("failed verification"))
    }

    @Test("A run killed while creating its snapshot: the next run names the snapshots that appeared since, destroys none")
    func pendingMarker() throws {
        let server = try Self.simulator()
        let repo = server.directory.appendingPathComponent("repo").path
        _ = try Self.create(server, repo: repo)
        // Another program's snapshot before the killed run, and one that appeared after it.
        let before = try #require(try server.json(["snapshot", "create"])["id"] as? String)
        try "pending\n\(before)\n".write(toFile: repo + "/.snapshot", atomically: true, encoding: .utf8)
        let appeared = try #require(try server.json(["snapshot", "create"])["id"] as? String)
        let outcome = try server.ctl(["backup", "create", "/dev/d0", "--repo", repo, "--storage", "/dev/st", "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let document = try E2E.object(outcome.stdout)
        #expect(document["unclaimed_snapshots"] as? [String] == [appeared], "\(outcome.stdout)")
        #expect(outcome.stderr.contains("snapshot \(appeared) appeared while an interrupted backup was creating its snapshot"))
        #expect(outcome.stderr.contains("blksnapctl snapshot destroy \(appeared)"))
        let left = Set((try server.json(["snapshot", "list"])["snapshots"] as? [String]) ?? [])
        #expect(left == [before, appeared], "both kept: \(left)")
        #expect(!FileManager.default.fileExists(atPath: repo + "/.snapshot"), "the marker is consumed")
        // Without a marker, the next run names nothing.
        let quiet = try server.json(["backup", "create", "/dev/d0", "--repo", repo, "--storage", "/dev/st"])
        #expect(quiet["unclaimed_snapshots"] as? [String] == [])
    }

    @Test("SIGKILL of backup create at random points (24 runs): catalog and files stay valid, nothing half listed, next run succeeds")
    func sigkill() throws {
        let server = try Self.simulator(size: "48M")
        let repo = server.directory.appendingPathComponent("repo").path
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "11", "--length", "48M"])
        let binary = try #require(CLITestSupport.binary)
        // How long an uninterrupted run takes, to spread the kills over it: the faster of two
        // (the first one is cold), so that most kills land before a run ends.
        var duration = Double.infinity
        for _ in 0..<2 {
            let started = Date()
            _ = try Self.create(server, repo: repo, extra: ["--full"])
            duration = min(duration, Date().timeIntervalSince(started))
        }
        var random = TestRandomCLI(seed: 0x5EED)
        var count = try Self.list(server, repo: repo).count
        var killedMidway = 0
        // Snapshots a run killed between CREATE's return and its marker's rename may leave:
        // those that appeared since its pending marker (the only ones allowed to remain).
        var unclaimable: Set<String> = []
        for run in 0..<24 {
            if run % 3 == 0 { try Self.randomWrites(server, random: &random, count: 3, deviceBytes: 48 << 20) }
            let process = Process()
            process.executableURL = binary
            process.arguments = ["backup", "create", "/dev/d0", "--repo", repo, "--storage", "/dev/st", "--quiet", "--sim", server.socket]
                + (run % 3 != 2 ? ["--full"] : [])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(Double(random.next(below: 1000)) / 1000 * duration * 0.8 * 1e6))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { killedMidway += 1 }
            let markerText = (try? String(contentsOfFile: repo + "/.snapshot", encoding: .utf8)) ?? ""
            let markerLines = markerText.split(separator: "\n").map(String.init)
            if markerLines.first == "pending" {
                let now = (try server.json(["snapshot", "list"])["snapshots"] as? [String]) ?? []
                unclaimable.formUnion(Set(now).subtracting(markerLines.dropFirst()))
            }
            // The catalog opens, lists only whole backups, and every listed file checks clean.
            let listed = try Self.list(server, repo: repo)
            #expect(listed.count == count || listed.count == count + 1, "run \(run): \(listed.count) backups after \(count)")
            count = listed.count
            for backup in listed {
                let file = repo + "/" + (backup["file_name"] as? String ?? "")
                #expect(FileManager.default.fileExists(atPath: file), "run \(run): listed \(file) is missing")
            }
            if let last = listed.last { try Self.expectCheckClean(repo + "/" + (last["file_name"] as? String ?? "")) }
        }
        #expect(killedMidway >= 12, "most runs must be killed before they finish (\(killedMidway) of 24)")
        let verify = try server.ctl(["backup", "verify", "--repo", repo])
        #expect(verify.status == 0, "\(verify.stderr)")
        // The next run cleans up (leftover files, the killed run's snapshot) and succeeds.
        let (next, _) = try Self.create(server, repo: repo)
        let listed = try Self.list(server, repo: repo)
        #expect(listed.count == count + 1)
        #expect(listed.last?["id"] as? Int == next["id"] as? Int)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: repo).filter { $0.hasPrefix(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        let snapshots = try server.json(["snapshot", "list"])
        let marker = (try? String(contentsOfFile: repo + "/.snapshot", encoding: .utf8)) ?? "none"
        let left = Set((snapshots["snapshots"] as? [String]) ?? [])
        #expect(left.isSubset(of: unclaimable), "no snapshot left: \(snapshots); marker \(marker); last run: \(next)")
        for backup in listed { try Self.expectCheckClean(repo + "/" + (backup["file_name"] as? String ?? "")) }
        let head = repo + "/" + (listed.last?["file_name"] as? String ?? "")
        let raw = server.directory.appendingPathComponent("now.raw").path
        try server.ok(["sim", "read", "/dev/d0", "--offset", "0", "--length", "48M", "--output", raw])
        let compare = try Self.qemuImg(["compare", "-f", "qcow2", "-F", "raw", head, raw])
        #expect(compare.status == 0, "\(compare.stdout)\(compare.stderr)")
    }

    @Test("restore refuses an existing file without --force and a missing backup id")
    func restoreRefusals() throws {
        let server = try Self.simulator(size: "4M")
        let repo = server.directory.appendingPathComponent("repo").path
        let backup = try Self.create(server, repo: repo).backup
        let target = server.directory.appendingPathComponent("exists.raw").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: target))
        let refused = try server.ctl(["backup", "restore", "\(backup["id"] as? Int ?? 0)", "--to", target, "--repo", repo])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("EEXIST") && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data([1, 2, 3]))
        #expect(try server.ctl(["backup", "restore", "\(backup["id"] as? Int ?? 0)", "--to", target, "--repo", repo, "--force"]).status == 0)
        let missing = try server.ctl(["backup", "restore", "99", "--to", target + "2", "--repo", repo])
        #expect(missing.status == 1 && missing.stderr.contains("no backup 99"), "\(missing.stderr)")
        let noRepo = try server.ctl(["backup", "list", "--repo", server.directory.appendingPathComponent("nothing").path])
        #expect(noRepo.status == 1 && noRepo.stderr.contains("no backup repository"), "\(noRepo.stderr)")
    }

    @Test("hooks: a failing pre hook exits 1 with nothing taken; hooks exiting 0 make the backup application-consistent")
    func hooks() throws {
        let server = try Self.simulator(size: "4M")
        let repo = server.directory.appendingPathComponent("repo").path
        let marker = server.directory.appendingPathComponent("post").path
        let failed = try server.ctl(["backup", "create", "/dev/d0", "--repo", repo, "--storage", "/dev/st",
                                     "--pre-snapshot", "exit 7", "--post-snapshot", "echo \"$BLKSNAP_TAKE\" > \(marker)"])
        #expect(failed.status == 1 && failed.stderr.contains("exited 7") && failed.stderr.contains("nothing was taken"), "\(failed.stderr)")
        #expect((try? String(contentsOfFile: marker, encoding: .utf8)) == "failed\n")
        #expect((try server.json(["snapshot", "list"])["snapshots"] as? [Any])?.isEmpty ?? true, "no snapshot left")
        #expect(try Self.list(server, repo: repo).isEmpty)
        let badTimeout = try server.ctl(["backup", "create", "/dev/d0", "--repo", repo, "--storage", "/dev/st", "--hook-timeout", "0"])
        #expect(badTimeout.status == 64, "\(badTimeout.stderr)")
        let quiesced = try Self.create(server, repo: repo, extra: ["--pre-snapshot", "true", "--post-snapshot", "true"]).backup
        #expect(quiesced["consistency"] as? String == "application")
        let plain = try Self.create(server, repo: repo).backup
        #expect(plain["consistency"] as? String == "crash")
        let text = try server.ctl(["backup", "list", "--repo", repo])
        #expect(text.stdout.contains("application-consistent"), "\(text.stdout)")
    }
}

/// xorshift64* for the CLI tests.
struct TestRandomCLI {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func next(below bound: UInt64) -> UInt64 { next() % bound }
}
