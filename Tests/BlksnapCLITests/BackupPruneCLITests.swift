import Foundation
import Testing

/// `blksnapctl backup prune` end to end on `blksnapctl sim serve`: the dry run, the prune,
/// and what `backup list` and `backup verify` then show.
@Suite("backup prune on the simulator", .enabled(if: CLITestSupport.binaryAvailable))
struct BackupPruneCLITests {
    @Test("dry run lists what would go and why; prune merges; list and verify show the history; qemu-img reads the result; restore --delta")
    func pruneEndToEnd() throws {
        let server = try BackupCLITests.simulator(size: "8M")
        let repo = server.directory.appendingPathComponent("repo").path
        var random = TestRandomCLI(seed: 0x9121E)
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "3", "--length", "4M"])
        var ids: [Int] = []
        var raws: [Int: String] = [:]
        for step in 0..<4 {
            if step > 0 { try BackupCLITests.randomWrites(server, random: &random, count: 3, deviceBytes: 8 << 20) }
            let (backup, _) = try BackupCLITests.create(server, repo: repo)
            let id = try #require(backup["id"] as? Int)
            ids.append(id)
            let raw = server.directory.appendingPathComponent("point\(id).raw").path
            try server.ok(["sim", "read", "/dev/d0", "--offset", "0", "--length", "8M", "--output", raw])
            raws[id] = raw
        }
        // Refusals: no rule, a bad span, a count below -1.
        #expect(try server.ctl(["backup", "prune", "--repo", repo]).status == 64)
        #expect(try server.ctl(["backup", "prune", "--repo", repo, "--keep-within", "3x"]).status == 64)
        #expect(try server.ctl(["backup", "prune", "--repo", repo, "--keep-last", "-2"]).status == 64)

        let dry = try server.json(["backup", "prune", "--repo", repo, "--keep-last", "2", "--dry-run"])
        #expect(dry["dry_run"] as? Bool == true)
        let points = try #require(dry["points"] as? [[String: Any]])
        let keep = Dictionary(uniqueKeysWithValues: points.map { ($0["id"] as? Int ?? 0, $0) })
        #expect(keep[ids[3]]?["reasons"] as? [String] == ["last"])
        #expect(keep[ids[2]]?["keep"] as? Bool == true)
        #expect(keep[ids[1]]?["merged_into"] as? Int == ids[2])
        #expect(keep[ids[0]]?["merged_into"] as? Int == ids[2])
        let text = try server.ok(["backup", "prune", "--repo", repo, "--keep-last", "2", "--dry-run"])
        #expect(text.contains("\(ids[0])  /dev/d0") && text.contains("would go: merged into \(ids[2])"), "\(text)")
        #expect(text.contains("keep (last)"), "\(text)")
        #expect(try BackupCLITests.list(server, repo: repo).count == 4, "a dry run changes nothing")

        let pruned = try server.ctl(["backup", "prune", "--repo", repo, "--keep-last", "2", "--json"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stderr.contains("prune: merge 1: increment \(ids[1]) into \(ids[2]): done"), "\(pruned.stderr)")
        #expect(pruned.stderr.contains("prune: merge 2: full \(ids[0]) into \(ids[2]): done"), "\(pruned.stderr)")
        let document = try E2E.object(pruned.stdout)
        let merges = try #require(document["merges"] as? [[String: Any]])
        #expect(merges.map { $0["kind"] as? String } == ["increment", "full"])

        let listed = try BackupCLITests.list(server, repo: repo)
        #expect(listed.compactMap { $0["id"] as? Int } == [ids[2], ids[3]])
        let head = try #require(listed.first)
        #expect(head["type"] as? String == "full" && head["parent"] == nil)
        let history = try #require(head["merged"] as? [[String: Any]])
        #expect(history.compactMap { $0["source"] as? Int } == [ids[1], ids[0]])
        #expect(history.allSatisfy { $0["state"] as? String == "done" && $0["finished_at"] is String })
        let listText = try server.ok(["backup", "list", "--repo", repo])
        #expect(listText.contains("full backup \(ids[0]) (taken"), "\(listText)")
        #expect(listText.contains("merged into \(ids[2]) on"), "\(listText)")

        let verify = try server.json(["backup", "verify", "--repo", repo])
        #expect(verify["ok"] as? Bool == true)
        #expect((verify["merges"] as? [[String: Any]])?.count == 2)
        for id in [ids[2], ids[3]] {
            let file = repo + "/" + (try #require(listed.first { $0["id"] as? Int == id }?["file_name"] as? String))
            try BackupCLITests.expectCheckClean(file)
            let compare = try BackupCLITests.qemuImg(["compare", "-f", "qcow2", "-F", "raw", file, raws[id]!])
            #expect(compare.status == 0, "backup \(id): \(compare.stdout)\(compare.stderr)")
            let restored = server.directory.appendingPathComponent("restored\(id).raw").path
            try server.ok(["backup", "restore", "\(id)", "--to", restored, "--repo", repo])
            #expect(try Data(contentsOf: URL(fileURLWithPath: restored)) == Data(contentsOf: URL(fileURLWithPath: raws[id]!)))
            // --delta onto it after one cluster changed: that cluster alone is written.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: restored))
            try handle.seek(toOffset: 3 * 65536 + 17)
            handle.write(Data([1, 2, 3]))
            try handle.close()
            let delta = try server.json(["backup", "restore", "\(id)", "--to", restored, "--repo", repo, "--delta"])
            #expect(delta["method"] as? String == "compare")
            #expect(delta["bytes_written"] as? Int == 65536)
            #expect(delta["target_bytes_read"] as? Int == 8 << 20)
            #expect(try Data(contentsOf: URL(fileURLWithPath: restored)) == Data(contentsOf: URL(fileURLWithPath: raws[id]!)))
        }
        // The next increment chains on the newest point as before.
        let (next, _) = try BackupCLITests.create(server, repo: repo)
        #expect(next["type"] as? String == "incremental" && next["parent"] as? Int == ids[3])
    }
}
