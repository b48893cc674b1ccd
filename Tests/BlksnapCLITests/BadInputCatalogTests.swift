import BlksnapKit
import BlksnapSimulator
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The bad-input catalog: every command × invalid devices, unknown and malformed ids,
/// bad sizes and ranges, missing storage, odd bytes in paths (raw argv, including
/// non-UTF-8). Each case: the documented exit status, a one-line message that quotes
/// the bad value, and the simulator's state unchanged (`sim device list --json` and
/// `snapshot list --json` compared before and after).
@Suite("Bad input catalog", .serialized, .enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct BadInputCatalogTests {
    /// One row: arguments as raw bytes (`ID` is replaced by the live snapshot id), the
    /// exit status, and the bytes the message must quote.
    struct Case: CustomStringConvertible {
        var arguments: [[UInt8]]
        var status: Int32
        /// Any one of these must appear in the message.
        var quoted: [[UInt8]]
        init(_ arguments: [String], _ status: Int32, quoting quoted: String) {
            self.arguments = arguments.map { Array($0.utf8) }
            self.status = status
            self.quoted = [Array(quoted.utf8)]
        }
        init(raw arguments: [[UInt8]], _ status: Int32, quoting quoted: [UInt8]) {
            self.arguments = arguments
            self.status = status
            // A value that looks like an option is quoted by ArgumentParser as an unknown
            // option, or (last on the line) reported as the missing argument (session
            // names it DEVICE).
            self.quoted = quoted == Array("<device>".utf8) ? [quoted, Array("'-1:0'".utf8), Array("DEVICE".utf8)] : [quoted]
        }
        var description: String { arguments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ") }
    }

    static let unknownID = "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f"

    /// Commands that take a device, with the rest of their arguments around `DEV`.
    static let deviceCommands: [[String]] = [
        ["tracker", "attach", "DEV"], ["tracker", "detach", "DEV"], ["snapshot", "info", "DEV"],
        ["snapshot", "add", "ID", "DEV"], ["snapshot", "create", "DEV"], ["cbt", "info", "DEV"],
        ["cbt", "read", "DEV"], ["cbt", "mark-dirty", "DEV", "--range", "0:8"],
        ["sim", "read", "DEV", "--offset", "0", "--length", "512"],
        ["sim", "write", "DEV", "--offset", "0", "--pattern", "1", "--length", "512"],
        ["session", "DEV", "--storage", "/dev/sdb", "--", "true"],
    ]

    /// Devices that do not exist (ENOENT) or do not parse: both usage errors (64) since the
    /// CLI checks a named device against the simulator's list before any request.
    static let badDevices: [(text: [UInt8], status: Int32, quoted: [UInt8])] = [
        (Array("/dev/nope".utf8), 64, Array("/dev/nope".utf8)),
        (Array("nope".utf8), 64, Array("/dev/nope".utf8)),
        (Array("/dev/a b".utf8), 64, Array("/dev/a b".utf8)),
        (Array("/dev/a\nb".utf8), 64, Array("/dev/a".utf8)),  // the newline is not echoed raw
        ([0x2F, 0x64, 0x65, 0x76, 0x2F, 0xFF, 0xFE], 64, Array("/dev/".utf8)),  // non-UTF-8
        (Array("8:x".utf8), 64, Array("8:x".utf8)),
        (Array("1:2:3".utf8), 64, Array("1:2:3".utf8)),
        (Array("99999999999:1".utf8), 64, Array("99999999999:1".utf8)),
        // Looks like an option to ArgumentParser, which names the missing argument instead.
        (Array("-1:0".utf8), 64, Array("<device>".utf8)),
        (Array("".utf8), 64, Array("''".utf8)),
    ]

    static let idCommands: [[String]] = [
        ["snapshot", "add", "IDX", "sda"], ["snapshot", "take", "IDX"], ["snapshot", "destroy", "IDX"],
        ["snapshot", "wait-event", "IDX", "--timeout-ms", "0"],
        ["snapshot", "append-storage", "IDX", "--device", "/dev/sdb", "--range", "0:8"],
        ["snapshot", "watch", "IDX", "--storage", "/dev/sdb"],
    ]

    static let badIDs: [(text: String, status: Int32)] = [
        (unknownID, 1), ("zz", 64), ("0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7", 64),
        ("0f5c3a1e8d2b4c7f9a613e2d4b5c6a7f", 64), ("0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7g", 64),
        ("{0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f}", 64), ("", 64),
    ]

    /// Bad sizes and ranges per option; all usage errors (64).
    static let badValues: [(command: [String], values: [String])] = [
        (["sim", "device", "add", "sdx", "--size=VAL"],
         ["0", "-5", "18446744073709551616", "16777216T", "1.5M", "12Q", "", "0x10", " 5"]),
        (["sim", "read", "sda", "--offset", "0", "--length=VAL"], ["0", "-1", "18446744073709551616", "abc"]),
        (["sim", "read", "sda", "--offset=VAL", "--length", "512"], ["-1", "18446744073709551616", "1e3"]),
        (["sim", "device", "add", "sdx", "--size", "8M", "--logical-block-size=VAL"], ["1000", "256", "131072", "0"]),
        (["cbt", "mark-dirty", "sda", "--range=VAL"],
         ["100", "1:-1", "-1:1", "18446744073709551615:1", "1:18446744073709551616", "", ":", "1:2:3", "a:b"]),
        (["snapshot", "append-storage", "ID", "--device", "/dev/sdb", "--range=VAL"],
         ["100", "0:-8", "18446744073709551615:1", "x:8", ":"]),
        (["snapshot", "wait-event", "ID", "--timeout-ms=VAL"], ["-1", "abc", "18446744073709551616"]),
        (["cbt", "read", "sda", "--since=VAL"], ["256", "-1", "x"]),
        (["session", "sda", "--storage", "/dev/sdb", "--step=VAL", "--", "true"], ["-5", "12Q", "18446744073709551616", "1.5M"]),
        (["session", "sda", "--storage", "/dev/sdb", "--limit=VAL", "--", "true"], ["0", "-5", "12Q", "18446744073709551616"]),
        (["session", "sda", "--storage=VAL", "--", "true"], ["", "dir:", "/dev/sdb:x:8", "/dev/sdb:0:8,/dev/sdc:1:2", "/dev/sdb:0"]),
        (["snapshot", "watch", "ID", "--storage=VAL"], ["", "dir:", "/dev/sdb:x:8"]),
        (["snapshot", "watch", "ID", "--storage", "/dev/sdb", "--step=VAL"], ["-5", "12Q"]),
    ]

    /// Every row of the catalog.
    static var catalog: [Case] {
        var rows: [Case] = []
        for command in deviceCommands {
            for device in badDevices {
                rows.append(Case(raw: command.map { $0 == "DEV" ? device.text : Array($0.utf8) }, device.status, quoting: device.quoted))
            }
        }
        // append-storage --device parses its value like every device argument (path,
        // NAME for /dev/NAME, or MAJ:MIN); "-1:0" would be read as an option there.
        for device in badDevices where device.text != Array("-1:0".utf8) {
            let command = ["snapshot", "append-storage", "ID", "--device", "DEV", "--range", "0:8"]
            rows.append(Case(raw: command.map { $0 == "DEV" ? device.text : Array($0.utf8) }, device.status, quoting: device.quoted))
        }
        for command in idCommands {
            for id in badIDs {
                rows.append(Case(command.map { $0 == "IDX" ? id.text : $0 }, id.status, quoting: id.text.isEmpty ? "''" : id.text))
            }
        }
        for (command, values) in badValues {
            for value in values {
                // An empty `--opt=` is "Missing value for '--opt'" (ArgumentParser).
                let option = String(command.last { $0.contains("VAL") }!.prefix { $0 != "=" })
                rows.append(Case(command.map { $0.replacingOccurrences(of: "VAL", with: value) }, 64,
                                 quoting: value.isEmpty ? option : "'\(value)'"))
            }
        }
        // Missing required storage.
        rows.append(Case(["snapshot", "append-storage", "ID"], 64, quoting: "--device"))
        rows.append(Case(["snapshot", "append-storage", "ID", "--range", "0:8"], 64, quoting: "--device"))
        rows.append(Case(["snapshot", "append-storage", "ID", "--device", "/dev/sdb"], 64, quoting: "--range"))
        rows.append(Case(["sim", "device", "add", "sdx"], 64, quoting: "--size"))
        // Create-time storage the loaded ABI (v5 here) does not take.
        rows.append(Case(["snapshot", "create", "sdb", "--storage", "kernel:/tmp/grow", "--limit", "64M"], 64,
                         quoting: "kernel:/tmp/grow"))
        rows.append(Case(["snapshot", "create", "sdb", "--limit", "64M"], 64, quoting: "--limit"))
        rows.append(Case(["snapshot", "create", "sdb", "--storage", "/dev/sdb"], 64, quoting: "/dev/sdb"))
        rows.append(Case(["snapshot", "create", "sdb", "--limit", "0"], 64, quoting: "--limit"))
        return rows
    }

    @Test("every bad input: documented status, one line quoting the value, state unchanged (devices, snapshots, bytes, CBT)")
    func catalogRuns() throws {
        let server = try SimServeTests.Server()
        _ = try server.readyLine()
        func ctl(_ arguments: [String]) throws -> CLITestSupport.Outcome {
            try CLITestSupport.run(arguments + ["--sim", server.socket])
        }
        #expect(try ctl(["sim", "device", "add", "sda", "--size", "8M"]).status == 0)
        #expect(try ctl(["sim", "device", "add", "sdb", "--size", "8M"]).status == 0)
        let created = try ctl(["snapshot", "create", "sda"])
        #expect(created.status == 0, "\(created.stderr)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 36)
        // What `sim device list --json` and `snapshot list --json` print, plus every
        // device's bytes and the CBT of every tracked one, read in-process.
        let client = try SimClient(socketPath: server.socket)
        let control = try Control(kernel: client)
        /// The description (compared and printed) and every device's bytes (compared).
        struct State: Equatable, CustomStringConvertible {
            var description: String
            var contents: [Data]
        }
        func state() throws -> State {
            var parts = ["\(try client.listDevices())", "\(try control.collectSnapshots())"]
            var contents: [Data] = []
            for device in try client.listDevices() {
                // The host file behind the device (sim device add's default backing), read
                // directly: the same bytes without 8 MiB through the socket per row.
                let backing = server.root.appendingPathComponent("state/" + device.name + ".img")
                contents.append(try #require(FileManager.default.contents(atPath: backing.path), "no backing file \(backing.path)"))
                if device.filter != nil {
                    let blockDevice = try BlockDevice(path: device.path, kernel: client)
                    parts.append("\(try blockDevice.cbtInfo())")
                    try blockDevice.close()
                }
            }
            return State(description: parts.joined(separator: "\n"), contents: contents)
        }
        let listed = try ctl(["snapshot", "list", "--json"]).stdout
        #expect(listed.contains(id), "snapshot list --json agrees: \(listed)")
        let before = try state()
        var tried = 0
        for row in Self.catalog {
            // --sim goes before a `--` (what follows it is session's command).
            var arguments = row.arguments.map { $0 == Array("ID".utf8) ? Array(id.utf8) : $0 }
            arguments.insert(contentsOf: [Array("--sim".utf8), Array(server.socket.utf8)],
                             at: arguments.firstIndex(of: Array("--".utf8)) ?? arguments.endIndex)
            let outcome = try Self.spawn(arguments)
            tried += 1
            #expect(outcome.status == row.status, "status of `\(row)`: \(String(decoding: outcome.stderr, as: UTF8.self))")
            let lines = outcome.stderr.split(separator: 0x0A, omittingEmptySubsequences: true)
            #expect(lines.count == 1, "one line for `\(row)`: \(String(decoding: outcome.stderr, as: UTF8.self))")
            #expect(row.quoted.contains { outcome.stderr.firstRange(of: $0) != nil },
                    "`\(row)` quotes \(row.quoted.map { String(decoding: $0, as: UTF8.self) }): \(String(decoding: outcome.stderr, as: UTF8.self))")
            #expect(outcome.stdout.isEmpty, "nothing on stdout for `\(row)`")
            let after = try state()
            if after != before {
                Issue.record("`\(row)` changed the simulator's state:\n\(before)\n→\n\(after)")
                return
            }
        }
        #expect(tried == Self.catalog.count)
        #expect(tried >= 150, "the catalog has \(tried) rows")
        _ = server.terminate()
    }

    /// Runs blksnapctl with raw argv bytes (so non-UTF-8 reaches it unchanged).
    static func spawn(_ arguments: [[UInt8]]) throws -> (status: Int32, stdout: [UInt8], stderr: [UInt8]) {
        let binary = try #require(CLITestSupport.binary)
        let directory = try CLITestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let outPath = directory.appendingPathComponent("out").path, errPath = directory.appendingPathComponent("err").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([Array(binary.path.utf8)] + arguments).map { bytes in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (index, byte) in bytes.enumerated() { pointer[index] = CChar(bitPattern: byte) }
            pointer[bytes.count] = 0
            return pointer
        } + [nil]
        defer { for pointer in argv { pointer?.deallocate() } }
        // No BLKSNAPCTL_SIM from the environment: --sim is explicit.
        let environment = ProcessInfo.processInfo.environment.filter { $0.key != "BLKSNAPCTL_SIM" }.map { "\($0.key)=\($0.value)" }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, binary.path, &actions, nil, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7F == 0
        let code = exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let out = FileManager.default.contents(atPath: outPath).map { [UInt8]($0) } ?? []
        let err = FileManager.default.contents(atPath: errPath).map { [UInt8]($0) } ?? []
        return (code, out, err)
    }
}
