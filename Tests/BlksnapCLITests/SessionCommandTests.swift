import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import blksnap_cli

/// `blksnapctl session` and `snapshot watch` end to end, through `sim serve` and `--sim`.
@Suite(.serialized, .enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct SessionCommandTests {
    typealias Server = SimServeTests.Server

    private func ctl(_ server: Server, _ arguments: [String], environment: [String: String] = [:]) throws -> CLITestSupport.Outcome {
        // Options go before `--`: what follows it is the command.
        var arguments = arguments
        arguments.insert(contentsOf: ["--sim", server.socket], at: arguments.firstIndex(of: "--") ?? arguments.endIndex)
        return try CLITestSupport.run(arguments, environment: environment)
    }

    private func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
    }

    /// A `blksnapctl` process with `arguments`, whose standard output has been read up to
    /// the first JSON Lines record containing `marker` (or 30 s); stderr is discarded.
    private final class Streaming {
        let process = Process()
        private let out = Pipe()
        private var data = Data()

        init(_ arguments: [String], environment: [String: String] = [:], until marker: String) throws {
            process.executableURL = CLITestSupport.binary
            process.arguments = arguments
            if !environment.isEmpty {
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            }
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(30)
            while !String(decoding: data, as: UTF8.self).contains(marker), Date() < deadline {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
            }
        }

        /// Sends `signal`, reads the rest of the output, waits for the exit; returns all output.
        func stop(with signal: Int32) -> String {
            kill(process.processIdentifier, signal)
            data.append(out.fileHandleForReading.readDataToEndOfFile())
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// Two 8 MiB devices with a known pattern, a 64 MiB storage device.
    private func prepare(_ server: Server) throws {
        _ = try server.readyLine()
        for (name, size) in [("sda", "8M"), ("sdb", "8M"), ("store", "64M")] {
            let added = try ctl(server, ["sim", "device", "add", name, "--size", size])
            try #require(added.status == 0, "\(added.stderr)")
        }
        for (name, seed) in [("sda", "1"), ("sdb", "2")] {
            #expect(try ctl(server, ["sim", "write", "/dev/\(name)", "--offset", "0", "--pattern", seed, "--length", "8M"]).status == 0)
        }
    }

    @Test("session … -- sh -c 'cmp …': the command sees the pre-snapshot data through the image while the device changes")
    func commandComparesImage() throws {
        let server = try Server()
        try prepare(server)
        let directory = try CLITestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let before = directory.appendingPathComponent("before.bin").path
        let image = directory.appendingPathComponent("image.bin").path
        #expect(try ctl(server, ["sim", "read", "/dev/sda", "--offset", "0", "--length", "8M", "--output", before]).status == 0)
        let script = """
            set -e
            "$BLKSNAPCTL" sim write /dev/sda --offset 0 --pattern 9 --length 8M >/dev/null
            "$BLKSNAPCTL" sim read "$BLKSNAP_IMAGE_0" --offset 0 --length 8M --output "$OUT/image.bin" >/dev/null
            cmp "$OUT/before.bin" "$OUT/image.bin"
            """
        let outcome = try ctl(server, ["session", "/dev/sda", "/dev/sdb", "--storage", "/dev/store", "--step", "16M", "--json",
                                       "--", "sh", "-c", script],
                              environment: ["BLKSNAPCTL": CLITestSupport.binary!.path, "OUT": directory.path])
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: before, andPath: image))
        let events = try jsonLines(outcome.stdout)
        let names = events.compactMap { $0["event"] as? String }
        #expect(names.first == "created" && names.dropFirst().first == "appended")
        #expect(names.contains("started"))
        #expect(!names.contains("corrupted"))
        #expect(names.last == "ended")
        #expect(events.last?["reason"] as? String == "command_exited")
        #expect(events.last?["status"] as? Int == 0)
        let started = try #require(events.first { $0["event"] as? String == "started" })
        let images = try #require(started["images"] as? [[String: Any]])
        #expect(images.compactMap { $0["image_path"] as? String } == ["/dev/blksnap-image_240:0", "/dev/blksnap-image_240:1"])
        // Nothing left behind but the trackers the session attached (kept by default).
        #expect(try ctl(server, ["snapshot", "list"]).stdout.isEmpty)
        #expect(try ctl(server, ["cbt", "info", "/dev/sda"]).status == 0)
    }

    @Test("the command gets the image variables; its exit status becomes blksnapctl's; --detach detaches what the session attached")
    func environmentAndStatus() throws {
        let server = try Server()
        try prepare(server)
        #expect(try ctl(server, ["tracker", "attach", "/dev/sdb"]).status == 0)  // pre-existing tracker
        let script = """
            test "$BLKSNAP_IMAGES" = "/dev/blksnap-image_240:0 /dev/blksnap-image_240:1" || exit 90
            test "$BLKSNAP_IMAGE_0" = "/dev/blksnap-image_240:0" || exit 91
            test "$BLKSNAP_IMAGE_SDB" = "/dev/blksnap-image_240:1" || exit 92
            test -n "$BLKSNAP_SNAPSHOT_ID" || exit 93
            test -n "$BLKSNAPCTL_SIM" || exit 94
            exit 7
            """
        let outcome = try ctl(server, ["session", "sda", "240:1", "--storage", "/dev/store:0:8192,65536:8192", "--detach",
                                       "--", "sh", "-c", script])
        #expect(outcome.status == 7, "\(outcome.stdout)\n\(outcome.stderr)")
        #expect(outcome.stdout.contains("the command exited with status 7"))
        #expect(try ctl(server, ["snapshot", "list"]).stdout.isEmpty)
        #expect(try ctl(server, ["cbt", "info", "/dev/sda"]).status == 1, "attached by the session, detached by --detach")
        #expect(try ctl(server, ["cbt", "info", "/dev/sdb"]).status == 0, "attached before: untouched")
    }

    @Test("hooks: a failing pre hook exits 1 before anything is created (the command never runs); hooks exiting 0 give the command BLKSNAP_CONSISTENCY=application")
    func hooks() throws {
        let server = try Server()
        try prepare(server)
        let directory = server.root.path
        let ran = directory + "/ran"
        let failed = try ctl(server, ["session", "sda", "--storage", "/dev/store:0:8192", "--pre-snapshot", "exit 4",
                                      "--post-snapshot", "test \"$BLKSNAP_TAKE\" = failed && touch \(directory)/post",
                                      "--", "touch", ran])
        #expect(failed.status == 1 && failed.stderr.contains("exited 4"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ran))
        #expect(FileManager.default.fileExists(atPath: directory + "/post"))
        #expect(try ctl(server, ["snapshot", "list"]).stdout.isEmpty)
        let quiesced = try ctl(server, ["session", "sda", "--storage", "/dev/store:0:8192", "--pre-snapshot", "true",
                                        "--post-snapshot", "test \"$BLKSNAP_TAKE\" = ok", "--",
                                        "sh", "-c", "test \"$BLKSNAP_CONSISTENCY\" = application"])
        #expect(quiesced.status == 0, "\(quiesced.stderr)")
        let plain = try ctl(server, ["session", "sda", "--storage", "/dev/store:0:8192", "--",
                                     "sh", "-c", "test \"$BLKSNAP_CONSISTENCY\" = crash"])
        #expect(plain.status == 0, "\(plain.stderr)")
    }

    @Test("without a command the session runs until SIGTERM, then tears down and exits 0")
    func untilSignal() throws {
        let server = try Server()
        try prepare(server)
        let run = try Streaming(["session", "/dev/sda", "--storage", "/dev/store", "--json", "--sim", server.socket],
                                until: "\"started\"")
        #expect(try ctl(server, ["snapshot", "list"]).stdout.split(separator: "\n").count == 1)
        let output = run.stop(with: SIGTERM)
        #expect(run.process.terminationStatus == 0)
        let events = try jsonLines(output)
        #expect(events.last?["event"] as? String == "ended")
        #expect(events.last?["reason"] as? String == "stopped")
        #expect(try ctl(server, ["snapshot", "list"]).stdout.isEmpty)
    }

    @Test("SIGTERM to blksnapctl reaches the command; its death by signal becomes the exit status (128 + 15)")
    func signalForwarded() throws {
        let server = try Server()
        try prepare(server)
        let run = try Streaming(["session", "/dev/sda", "--storage", "/dev/store", "--json", "--sim", server.socket,
                                 "--", "sleep", "30"], until: "\"started\"")
        usleep(200_000)  // let the command start
        let begin = Date()
        let output = run.stop(with: SIGTERM)
        #expect(Date().timeIntervalSince(begin) < 10, "the command was not left to sleep 30 s")
        #expect(run.process.terminationStatus == 128 + SIGTERM)
        let events = try jsonLines(output)
        #expect(events.last?["reason"] as? String == "command_exited")
        #expect(events.last?["status"] as? Int == Int(128 + SIGTERM))
        #expect(try ctl(server, ["snapshot", "list"]).stdout.isEmpty)
    }

    @Test("SIGTERM while the command streams writes: the writer stops and nothing the session made is left (snapshot, images, the tracker it attached); a tracker attached before keeps its CBT")
    func signalMidWrite() throws {
        let server = try Server()
        try prepare(server)
        #expect(try ctl(server, ["tracker", "attach", "/dev/sdb"]).status == 0)
        let generation = { () throws -> String? in
            let info = try ctl(server, ["cbt", "info", "/dev/sdb", "--json"])
            return (try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])?["generation_id"] as? String
        }
        let generationBefore = try #require(try generation())
        let writer = "i=1; while :; do \"$BLKSNAPCTL\" sim write /dev/sda --offset $(( (i % 8) * 1048576 )) --pattern $i --length 1M >/dev/null || exit 9; i=$((i + 1)); done"
        let run = try Streaming(["session", "/dev/sda", "/dev/sdb", "--storage", "/dev/store", "--detach", "--json",
                                 "--sim", server.socket, "--", "sh", "-c", writer],
                                environment: ["BLKSNAPCTL": CLITestSupport.binary!.path], until: "\"started\"")
        usleep(700_000)  // the writer is streaming through copy-on-write by now
        #expect(try ctl(server, ["snapshot", "list"]).stdout.split(separator: "\n").count == 1)
        let output = run.stop(with: SIGTERM)
        #expect(run.process.terminationStatus == 128 + SIGTERM, "the writer died by the forwarded SIGTERM")
        let events = try jsonLines(output)
        #expect(events.last?["reason"] as? String == "command_exited")
        #expect(try ctl(server, ["snapshot", "list"]).stdout.isEmpty, "no snapshot left")
        let listing = try ctl(server, ["sim", "device", "list", "--json"])
        let devices = try #require((try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [String: Any])?["devices"] as? [[String: Any]])
        #expect(devices.count == 3 && devices.allSatisfy { $0["is_image"] as? Bool == false }, "no image left: \(listing.stdout)")
        #expect(try ctl(server, ["cbt", "info", "/dev/sda"]).status == 1, "the tracker the session attached is detached (--detach)")
        #expect(try generation() == generationBefore, "the tracker attached before the session keeps its CBT generation")
    }

    @Test("limit too low: the overflow is reported once (ENOSPC), limit_reached too; a command that exits 0 on a corrupted image makes the session exit 65")
    func overflowReported() throws {
        let server = try Server()
        try prepare(server)
        let script = "\"$BLKSNAPCTL\" sim write /dev/sda --offset 0 --pattern 5 --length 8M >/dev/null; sleep 0.3"
        let outcome = try ctl(server, ["session", "/dev/sda", "--storage", "/dev/store", "--limit", "4M", "--json",
                                       "--", "sh", "-c", script],
                              environment: ["BLKSNAPCTL": CLITestSupport.binary!.path])
        #expect(outcome.status == 65, "a success on a corrupted image is not a success: \(outcome.stderr)")
        #expect(outcome.stderr.contains("session: COMMAND exited 0, but /dev/sda was corrupted while it ran"), "\(outcome.stderr)")
        let events = try jsonLines(outcome.stdout)
        let corrupted = events.filter { $0["event"] as? String == "corrupted" }
        #expect(corrupted.count == 1)
        #expect(corrupted.first?["errno_name"] as? String == "ENOSPC")
        #expect(corrupted.first?["device_path"] as? String == "/dev/sda")
        #expect(events.contains { $0["event"] as? String == "limit_reached" && $0["limit_sectors"] as? Int == 8192 })
        #expect(try ctl(server, ["snapshot", "list"]).stdout.isEmpty)
    }

    @Test("snapshot watch extends an existing snapshot's storage until SIGTERM (snapshot kept)")
    func watch() throws {
        let server = try Server()
        try prepare(server)
        let created = try ctl(server, ["snapshot", "create", "/dev/sda"])
        let id = try #require(created.stdout.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) })
        let run = try Streaming(["snapshot", "watch", id, "--storage", "/dev/store", "--step", "4M", "--json",
                                 "--sim", server.socket], until: "\"appended\"")
        // The creation event was answered: take now succeeds (capacity > 0).
        #expect(try ctl(server, ["snapshot", "take", id]).status == 0)
        _ = run.stop(with: SIGTERM)
        #expect(run.process.terminationStatus == 0)
        #expect(try ctl(server, ["snapshot", "list"]).stdout.contains(id), "watch leaves the snapshot running")
        #expect(try ctl(server, ["snapshot", "destroy", id]).status == 0)
    }

    @Test("--log-level info writes the session's steps to stderr (stdout unchanged); default notice keeps them off; a bad BLKSNAPCTL_LOG_LEVEL exits 64")
    func logLevel() throws {
        let server = try Server()
        try prepare(server)
        let session = ["session", "/dev/sda", "--storage", "/dev/store", "--", "true"]
        let quiet = try ctl(server, session)
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("blksnapctl.session"), "\(quiet.stderr)")
        let verbose = try ctl(server, ["session", "--log-level", "info"] + session.dropFirst())
        #expect(verbose.status == 0, "\(verbose.stderr)")
        #expect(verbose.stderr.contains("info blksnapctl.session:"), "\(verbose.stderr)")
        #expect(verbose.stderr.contains("snapshot destroyed"), "\(verbose.stderr)")
        #expect(verbose.stderr.contains("info blksnapctl.storage:"), "\(verbose.stderr)")
        // Logging never reaches stdout: the same lines, ids aside.
        let withoutIDs = { (text: String) in
            text.replacingOccurrences(of: #"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"#, with: "ID", options: .regularExpression)
                .replacingOccurrences(of: #"image_[0-9]+:[0-9]+"#, with: "image_N", options: .regularExpression)
        }
        #expect(withoutIDs(verbose.stdout) == withoutIDs(quiet.stdout))
        let fromEnvironment = try ctl(server, session, environment: ["BLKSNAPCTL_LOG_LEVEL": "debug"])
        #expect(fromEnvironment.stderr.contains("blksnapctl.session:"), "\(fromEnvironment.stderr)")
        let bad = try ctl(server, session, environment: ["BLKSNAPCTL_LOG_LEVEL": "loud"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("BLKSNAPCTL_LOG_LEVEL=loud: not a log level"), "\(bad.stderr)")
        let badOption = try ctl(server, ["session", "--log-level", "loud"] + session.dropFirst())
        #expect(badOption.status == 64)
    }

    @Test("usage errors exit 64: bad --storage, dir: storage with the simulator, no device, an unknown device; watch of an unknown snapshot exits 1 (ESRCH)")
    func usageErrors() throws {
        let server = try Server()
        try prepare(server)
        let unknown = try ctl(server, ["session", "/dev/nope", "--storage", "/dev/store", "--", "true"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("device '/dev/nope' does not exist"), "\(unknown.stderr)")
        let absent = "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f"
        let watched = try ctl(server, ["snapshot", "watch", absent, "--storage", "/dev/store"])
        #expect(watched.status == 1)
        #expect(watched.stderr.contains("no snapshot \(absent)") && watched.stderr.contains("ESRCH"), "\(watched.stderr)")
        #expect(watched.stdout.isEmpty, "nothing started: \(watched.stdout)")
        #expect(try ctl(server, ["session", "/dev/sda", "--storage", "dir:"]).status == 64)
        #expect(try ctl(server, ["session", "/dev/sda", "--storage", "/dev/store:1:2,/dev/other:3:4"]).status == 64)
        let onSim = try ctl(server, ["session", "/dev/sda", "--storage", "dir:/tmp"])
        #expect(onSim.status == 64)
        #expect(onSim.stderr.contains("simulator"))
        #expect(try ctl(server, ["session", "--storage", "/dev/store"]).status == 64)
        // Storage on the snapshotted device: refused, rolled back.
        let own = try ctl(server, ["session", "/dev/sda", "--storage", "/dev/sda", "--", "true"])
        #expect(own.status == 1)
        #expect(own.stderr.contains("EBUSY"))
        #expect(try ctl(server, ["snapshot", "list"]).stdout.isEmpty)
        #expect(try ctl(server, ["cbt", "info", "/dev/sda"]).status == 1, "rollback detached the tracker it attached")
    }

    @Test("pure: --storage parsing")
    func storageSpecs() throws {
        #expect(try StorageSpec.parse("dir:/var/tmp") == .directory("/var/tmp"))
        #expect(try StorageSpec.parse("/dev/sdc") == .device(path: "/dev/sdc", ranges: nil))
        #expect(try StorageSpec.parse("sdc") == .device(path: "/dev/sdc", ranges: nil))
        #expect(try StorageSpec.parse("/dev/sdc:0:100,200:50,/dev/sdc:400:8") == .device(path: "/dev/sdc", ranges: [
            .init(offsetSectors: 0, countSectors: 100), .init(offsetSectors: 200, countSectors: 50),
            .init(offsetSectors: 400, countSectors: 8)]))
        for bad in ["", "dir:", "0:100", "/dev/sdc:0:0", "/dev/sdc:x:1", "/dev/a:0:1,/dev/b:0:1", "/dev/sdc,/dev/sdd"] {
            #expect(throws: ArgumentValueError.self, "\(bad)") { try StorageSpec.parse(bad) }
        }
    }

    @Test("pure: devices and command split at --; variable names")
    func splitAndNames() {
        let split = SessionCommand.split(["/dev/sda", "sdb", "sh", "-c", "x"],
                                         arguments: ["blksnapctl", "session", "/dev/sda", "sdb", "--storage", "s", "--", "sh", "-c", "x"])
        #expect(split.devices == ["/dev/sda", "sdb"])
        #expect(split.command == ["sh", "-c", "x"])
        #expect(SessionCommand.split(["/dev/sda"], arguments: ["blksnapctl", "session", "/dev/sda"]).command.isEmpty)
        #expect(SessionCommand.variableSuffix(forDevice: "/dev/sdb1") == "SDB1")
        #expect(SessionCommand.variableSuffix(forDevice: "/dev/mapper/vg-root") == "VG_ROOT")
        #expect(SessionCommand.variableSuffix(forDevice: "/dev/block/8:16") == "8_16")
    }
}
