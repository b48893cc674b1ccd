import Foundation
import Testing

/// `--progress` of `backup create` and `backup restore` on the simulator: the JSON Lines
/// schema, counts that add up to the summary and to the catalog, and `auto` silent on a
/// pipe (the tests' stderr is one).
@Suite("backup --progress on the simulator", .enabled(if: CLITestSupport.binaryAvailable))
struct BackupProgressCLITests {
    static let progressKeys: Set<String> = ["event", "phase", "device", "device_index", "bytes_read", "bytes_written",
                                            "bytes_total", "rate", "eta_seconds", "elapsed_seconds", "final"]
    static let summaryKeys: Set<String> = ["event", "phase", "status", "error", "bytes_read", "bytes_written", "bytes_total",
                                           "rate", "elapsed_seconds", "devices"]
    static let deviceKeys: Set<String> = ["device", "device_index", "bytes_read", "bytes_written", "bytes_total"]

    /// The `--progress json` lines of `stderr` (every line that starts with `{`), each
    /// parsed, with its keys checked; the other lines are the CLI's diagnostics.
    static func progressLines(_ stderr: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let lines = try stderr.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try E2E.object($0, sourceLocation: sourceLocation)
        }
        for line in lines {
            let summary = line["event"] as? String == "summary"
            E2E.expectKeys(line, summary ? summaryKeys : progressKeys, "--progress json", sourceLocation: sourceLocation)
            for device in line["devices"] as? [[String: Any]] ?? [] {
                E2E.expectKeys(device, deviceKeys, "--progress json summary device", sourceLocation: sourceLocation)
            }
        }
        return lines
    }

    /// Checks the stream: progress lines, then one summary, last; per device, bytes read
    /// never go back and the last line is final and equals the summary's entry; the
    /// summary's totals are the sums of its devices. Returns the summary.
    static func checkStream(_ lines: [[String: Any]], phase: String, devices: Int,
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let summary = try #require(lines.last, "no --progress json line", sourceLocation: sourceLocation)
        #expect(summary["event"] as? String == "summary", sourceLocation: sourceLocation)
        let progress = lines.dropLast()
        #expect(progress.allSatisfy { $0["event"] as? String == "progress" }, "one summary, last", sourceLocation: sourceLocation)
        #expect(lines.allSatisfy { $0["phase"] as? String == phase }, sourceLocation: sourceLocation)
        let entries = try #require(summary["devices"] as? [[String: Any]], sourceLocation: sourceLocation)
        #expect(entries.count == devices, sourceLocation: sourceLocation)
        for entry in entries {
            let index = try #require(entry["device_index"] as? Int, sourceLocation: sourceLocation)
            let mine = progress.filter { $0["device_index"] as? Int == index }
            let reads = mine.compactMap { $0["bytes_read"] as? Int }
            #expect(reads.count == mine.count && reads == reads.sorted(), "device \(index): \(reads)", sourceLocation: sourceLocation)
            #expect(reads.first == 0, "device \(index)'s first line is its start", sourceLocation: sourceLocation)
            let last = try #require(mine.last, "device \(index) has no progress line", sourceLocation: sourceLocation)
            #expect(last["final"] as? Bool == true, sourceLocation: sourceLocation)
            #expect(mine.dropLast().allSatisfy { $0["final"] as? Bool == false }, sourceLocation: sourceLocation)
            for key in ["device", "bytes_read", "bytes_written", "bytes_total"] {
                #expect(last[key] as? NSObject == entry[key] as? NSObject, "device \(index) \(key): last line \(last[key] ?? "nil"), summary \(entry[key] ?? "nil")",
                        sourceLocation: sourceLocation)
            }
            #expect(last["eta_seconds"] as? Double == 0, sourceLocation: sourceLocation)
        }
        for key in ["bytes_read", "bytes_written", "bytes_total"] {
            let sum = entries.reduce(0) { $0 + ($1[key] as? Int ?? -1) }
            #expect(summary[key] as? Int == sum, "summary \(key) is the sum of its devices", sourceLocation: sourceLocation)
        }
        return summary
    }

    @Test("create and restore --progress json: lines parse, add up to the summary, which matches the catalog and the restore")
    func jsonLines() throws {
        let server = try E2ESimulator()
        try server.ok(["sim", "device", "add", "d0", "--size", "80M"])
        try server.ok(["sim", "device", "add", "d1", "--size", "8M"])
        try server.ok(["sim", "device", "add", "st", "--size", "128M"])
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "5", "--length", "70M"])
        try server.ok(["sim", "write", "/dev/d1", "--offset", "1M", "--pattern", "6", "--length", "3M"])
        let repo = server.directory.appendingPathComponent("repo").path
        let create = try server.ctl(["backup", "create", "/dev/d0", "/dev/d1", "--repo", repo, "--storage", "/dev/st",
                                     "--progress", "json", "--json"])
        #expect(create.status == 0, "\(create.stderr)")
        let lines = try Self.progressLines(create.stderr)
        // 80 MiB is more than one 64 MiB interval: d0 has a middle line whatever the speed.
        #expect(lines.filter { $0["device_index"] as? Int == 0 }.count >= 3, "\(create.stderr)")
        let summary = try Self.checkStream(lines, phase: "backup", devices: 2)
        #expect(summary["status"] as? String == "ok")
        #expect(summary["error"] is NSNull)
        let document = try E2E.object(create.stdout)
        let backups = try #require(document["backups"] as? [[String: Any]]).compactMap { $0["backup"] as? [String: Any] }
        #expect(backups.count == 2)
        let entries = try #require(summary["devices"] as? [[String: Any]])
        for (entry, backup) in zip(entries, backups) {
            #expect(entry["device"] as? String == backup["device"] as? String)
            #expect(entry["bytes_read"] as? Int == backup["bytes_read"] as? Int, "the catalog's bytes read")
            #expect(entry["bytes_written"] as? Int == backup["bytes_written"] as? Int, "the catalog's bytes written (file size)")
        }

        let target = server.directory.appendingPathComponent("d0.raw").path
        let id = try #require(backups.first?["id"] as? Int)
        let restore = try server.ctl(["backup", "restore", "\(id)", "--to", target, "--repo", repo, "--progress", "json", "--json"])
        #expect(restore.status == 0, "\(restore.stderr)")
        let restoreSummary = try Self.checkStream(try Self.progressLines(restore.stderr), phase: "restore", devices: 1)
        let restored = try E2E.object(restore.stdout)
        #expect(restoreSummary["bytes_written"] as? Int == restored["bytes_written"] as? Int)
        #expect(restoreSummary["bytes_total"] as? Int == restored["size_bytes"] as? Int)
        #expect((restoreSummary["devices"] as? [[String: Any]])?.first?["device"] as? String == target)
    }

    @Test("a failed create ends its JSON Lines with a failed summary carrying the error", arguments: [false, true])
    func failedSummary(beforeTheRun: Bool) throws {
        let server = try BackupCLITests.simulator(size: "8M")
        let repo = server.directory.appendingPathComponent("repo").path
        // A failing hook fails inside the library's run; a repository that cannot be made
        // (its parent is a file) fails in the CLI before the run starts.
        let blocker = server.directory.appendingPathComponent("file").path
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: blocker))
        let create = try server.ctl(["backup", "create", "/dev/d0", "--storage", "/dev/st", "--progress", "json"]
                                    + (beforeTheRun ? ["--repo", blocker + "/repo"] : ["--repo", repo, "--pre-snapshot", "exit 4"]))
        #expect(create.status != 0)
        let lines = try Self.progressLines(create.stderr)
        #expect(lines.count == 1, "nothing was copied: the summary alone: \(create.stderr)")
        let summary = try #require(lines.last)
        #expect(summary["event"] as? String == "summary")
        #expect(summary["status"] as? String == "failed")
        let error = try #require(summary["error"] as? String)
        #expect(create.stderr.contains("blksnapctl: \(error)"), "the summary's error is the message the command fails with")
    }

    @Test("auto and none draw nothing on a pipe; tty draws the bar there; json lines only with json")
    func modesOnAPipe() throws {
        let server = try BackupCLITests.simulator(size: "8M")
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "3", "--length", "4M"])
        let repo = server.directory.appendingPathComponent("repo").path
        for mode in [nil, "auto", "none", "tty", "json"] as [String?] {
            let create = try server.ctl(["backup", "create", "/dev/d0", "--repo", repo, "--storage", "/dev/st"]
                                        + (mode.map { ["--progress", $0] } ?? []))
            #expect(create.status == 0, "\(mode ?? "default"): \(create.stderr)")
            let json = create.stderr.split(separator: "\n").contains { $0.hasPrefix("{") }
            let bar = create.stderr.contains("\r")
            #expect(json == (mode == "json"), "\(mode ?? "default"): \(create.stderr)")
            #expect(bar == (mode == "tty"), "\(mode ?? "default"): \(create.stderr)")
            #expect(create.stdout.hasPrefix("backup "), "the result still goes to stdout")
        }
        let bad = try server.ctl(["backup", "create", "/dev/d0", "--repo", repo, "--storage", "/dev/st", "--progress", "yes"])
        #expect(bad.status == 64, "\(bad.stderr)")
    }
}
