import Foundation
import Testing

/// contrib/systemd's units pass `systemd-analyze verify` with the built blksnapctl as
/// their ExecStart; skipped (with a message) where systemd-analyze is missing, a failure
/// under CI=true (the systemd package is in .ci/run and scripts/install-deps.sh).
@Suite("contrib/systemd units", .serialized, .enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct SystemdUnitTests {
    static let units = ["blksnap-backup@.service", "blksnap-backup@.timer", "blksnap-prune@.service", "blksnap-prune@.timer"]
    /// Where the units expect blksnapctl (the README's install step).
    static let installedBinary = "/usr/local/bin/blksnapctl"
    static var directory: URL { CLITestSupport.packageRoot.appendingPathComponent("contrib/systemd") }

    static var analyzer: URL? {
        ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].map(URL.init(fileURLWithPath:))
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// The analyzer, or nil after recording why the test does not run.
    static func requireAnalyzer() -> URL? {
        if let analyzer { return analyzer }
        if CLITestSupport.isCI {
            Issue.record("systemd-analyze is missing: install systemd (scripts/install-deps.sh)")
        } else {
            print("skipped: systemd-analyze is missing (install systemd): the units of contrib/systemd are not verified")
        }
        return nil
    }

    /// Copies the units into a fresh directory with ExecStart on the built binary, `edit`
    /// applied to each text; returns the directory and the instance units (for /dev/sdb).
    static func stage(_ edit: (String) -> String = { $0 }) throws -> (URL, [String]) {
        let binary = try #require(CLITestSupport.binary, "blksnapctl is not built: run swift build")
        let staged = try CLITestSupport.temporaryDirectory()
        var instances: [String] = []
        for unit in units {
            let text = try String(contentsOf: directory.appendingPathComponent(unit), encoding: .utf8)
            if unit.hasSuffix(".service") {
                #expect(text.contains("ExecStart=\(installedBinary) "), "\(unit) runs \(installedBinary)")
            }
            let local = edit(text.replacingOccurrences(of: installedBinary, with: binary.path))
            try local.write(to: staged.appendingPathComponent(unit), atomically: true, encoding: .utf8)
            // systemd-escape --path /dev/sdb
            instances.append(staged.appendingPathComponent(unit.replacingOccurrences(of: "@.", with: "@dev-sdb.")).path)
        }
        return (staged, instances)
    }

    /// `systemd-analyze verify --man=no` of `instances`: its status and the lines about our units.
    static func verify(_ analyzer: URL, _ instances: [String]) throws -> (Int32, [String]) {
        let run = try CLITestSupport.runProgram(analyzer, ["verify", "--man=no"] + instances)
        let lines = (run.stdout + run.stderr).split(separator: "\n").map(String.init)
        let ours = lines.filter { $0.contains("blksnap") }
        for line in lines where !ours.contains(line) { print("systemd-analyze (not about our units): \(line)") }
        return (run.status, ours)
    }

    @Test("systemd-analyze verify: no warning about the units, exit 0")
    func unitsVerify() throws {
        guard let analyzer = Self.requireAnalyzer() else { return }
        let (staged, instances) = try Self.stage()
        defer { try? FileManager.default.removeItem(at: staged) }
        let (status, complaints) = try Self.verify(analyzer, instances)
        #expect(complaints.isEmpty, "systemd-analyze verify: \(complaints.joined(separator: "\n"))")
        #expect(status == 0)
    }

    @Test("the check catches a bad unit: an unknown key is reported")
    func verifyCatchesMistakes() throws {
        guard let analyzer = Self.requireAnalyzer() else { return }
        let (staged, instances) = try Self.stage { $0.replacingOccurrences(of: "[Service]\n", with: "[Service]\nProtectSistem=strict\n") }
        defer { try? FileManager.default.removeItem(at: staged) }
        let (_, complaints) = try Self.verify(analyzer, instances)
        #expect(complaints.contains { $0.contains("ProtectSistem") }, "\(complaints)")
    }

    @Test("the services' command lines parse: backup create and prune accept their options")
    func commandLinesParse() throws {
        for (unit, command) in [("blksnap-backup@.service", ["backup", "create"]), ("blksnap-prune@.service", ["backup", "prune"])] {
            let text = try String(contentsOf: Self.directory.appendingPathComponent(unit), encoding: .utf8)
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
            let words = line.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
            #expect(Array(words.dropFirst().prefix(2)) == command, "\(unit): \(line)")
            // Every option the unit passes is one the command documents.
            let help = try CLITestSupport.run(command + ["--help"])
            for option in words where option.hasPrefix("--") {
                #expect(help.stdout.contains(option + " "), "\(unit): \(option) is not an option of \(command.joined(separator: " "))")
            }
        }
    }
}
