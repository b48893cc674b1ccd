import Foundation
import Testing

/// Every documented error path, run through the built binary against `sim serve`: the
/// exit status, a one-line message with the expected words (the bad value quoted for
/// usage errors; the errno name and meaning for refusals), nothing on stdout, and no
/// change in the simulator's state.
@Suite(.enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct E2EErrorPathTests {
    /// One bad command line and what it must produce.
    struct Case: CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        /// Words the message must contain.
        var says: [String]
        var description: String { "blksnapctl " + arguments.joined(separator: " ") }
    }

    /// The fixture the cases refer to: `taken` (sda in it, storage appended, taken),
    /// `pending` (sdb in it, no storage), `empty` (no devices); `/dev/free` untracked.
    struct Fixture {
        let sim: E2ESimulator
        let taken: String, pending: String, empty: String

        init() throws {
            sim = try E2ESimulator()
            for (name, size) in [("sda", "4M"), ("sdb", "4M"), ("free", "1M"), ("store", "16M")] {
                try sim.ok(["sim", "device", "add", name, "--size", size])
            }
            taken = try sim.ok(["snapshot", "create", "/dev/sda"])
            try sim.ok(["snapshot", "append-storage", taken, "--device", "/dev/store", "--range", "0:8192"])
            try sim.ok(["snapshot", "take", taken])
            pending = try sim.ok(["snapshot", "create", "/dev/sdb"])
            empty = try sim.ok(["snapshot", "create"])
        }
    }

    /// Usage errors: exit 64, the bad value quoted.
    static func usageCases(_ f: Fixture) -> [Case] {
        let id = f.pending
        return [
            // unknown devices
            Case(arguments: ["cbt", "info", "/dev/nope"], status: 64, says: ["'/dev/nope'", "does not exist", "sim device list", "ENOENT"]),
            Case(arguments: ["tracker", "attach", "nope"], status: 64, says: ["'/dev/nope'", "does not exist"]),
            Case(arguments: ["tracker", "attach", "240:99"], status: 64, says: ["'240:99'", "give the device path"]),
            Case(arguments: ["snapshot", "add", id, "/dev/nope"], status: 64, says: ["'/dev/nope'", "does not exist"]),
            Case(arguments: ["snapshot", "create", "/dev/nope"], status: 64, says: ["'/dev/nope'", "destroyed again"]),
            Case(arguments: ["snapshot", "append-storage", id, "--device", "/dev/nope", "--range", "0:8"], status: 64,
                 says: ["'/dev/nope'", "does not exist"]),
            Case(arguments: ["sim", "read", "/dev/nope", "--offset", "0", "--length", "1"], status: 64, says: ["'/dev/nope'"]),
            Case(arguments: ["sim", "write", "/dev/blksnap-image_240:7", "--offset", "0", "--pattern", "1", "--length", "1"],
                 status: 64, says: ["'/dev/blksnap-image_240:7'"]),
            // malformed devices and ids
            Case(arguments: ["snapshot", "info", "1:2:3"], status: 64, says: ["'1:2:3'", "MAJ:MIN"]),
            Case(arguments: ["cbt", "info", "8:x"], status: 64, says: ["'8:x'"]),
            Case(arguments: ["snapshot", "take", "not-a-uuid"], status: 64, says: ["'not-a-uuid'", "UUID"]),
            Case(arguments: ["snapshot", "destroy", String(id.dropLast())], status: 64, says: ["'\(id.dropLast())'", "UUID"]),
            Case(arguments: ["snapshot", "wait-event", "zzzzzzzz-8d2b-4c7f-9a61-3e2d4b5c6a7f"], status: 64, says: ["'zzzzzzzz-"]),
            Case(arguments: ["snapshot", "add", "1234", "/dev/sdb"], status: 64, says: ["'1234'"]),
            // sizes: zero, negative, u64 overflow, bad suffix, not a block multiple
            Case(arguments: ["sim", "device", "add", "x", "--size", "0"], status: 64, says: ["'0'", "zero"]),
            Case(arguments: ["sim", "device", "add", "x", "--size", "-4K"], status: 64, says: ["'-4K'", "negative"]),
            Case(arguments: ["sim", "device", "add", "x", "--size", "18446744073709551616"], status: 64,
                 says: ["'18446744073709551616'", "64 bits"]),
            Case(arguments: ["sim", "device", "add", "x", "--size", "16777216T"], status: 64, says: ["'16777216T'", "64 bits"]),
            Case(arguments: ["sim", "device", "add", "x", "--size", "12Q"], status: 64, says: ["'12Q'", "K, M, G or T"]),
            Case(arguments: ["sim", "device", "add", "x", "--size", "1000"], status: 64, says: ["1000", "multiple"]),
            Case(arguments: ["sim", "read", "/dev/sda", "--offset", "0", "--length", "0"], status: 64, says: ["'0'", "zero"]),
            Case(arguments: ["sim", "write", "/dev/sda", "--offset", "-1", "--pattern", "1", "--length", "1"], status: 64,
                 says: ["'-1'", "negative"]),
            // ranges: missing colon, zero, negative, past 2^64, too large
            Case(arguments: ["cbt", "mark-dirty", "/dev/sda", "--range", "12"], status: 64, says: ["'12'", "SECTOR:COUNT"]),
            Case(arguments: ["cbt", "mark-dirty", "/dev/sda", "--range", "8:0"], status: 64, says: ["'8:0'", "zero sectors"]),
            Case(arguments: ["cbt", "mark-dirty", "/dev/sda", "--range", "0:-8"], status: 64, says: ["'0:-8'", "negative"]),
            Case(arguments: ["cbt", "mark-dirty", "/dev/sda", "--range", "18446744073709551615:2"], status: 64,
                 says: ["'18446744073709551615:2'", "2^64"]),
            Case(arguments: ["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "18446744073709551616:1"],
                 status: 64, says: ["'18446744073709551616:1'", "larger than"]),
            Case(arguments: ["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0"], status: 64,
                 says: ["'0'", "SECTOR:COUNT"]),
            // other numbers and missing pieces
            Case(arguments: ["cbt", "read", "/dev/sda", "--since", "256"], status: 64, says: ["'256'", "255"]),
            Case(arguments: ["snapshot", "wait-event", id, "--timeout-ms", "-5"], status: 64, says: ["'-5'", "negative"]),
            Case(arguments: ["cbt", "mark-dirty", "/dev/sda"], status: 64, says: ["--range"]),
            Case(arguments: ["snapshot", "append-storage", id, "--range", "0:8"], status: 64, says: ["--device"]),
            Case(arguments: ["snapshot", "take"], status: 64, says: ["<id>", "blksnapctl help snapshot take"]),
        ]
    }

    /// Refusals by the (simulated) kernel: exit 1, the operation, the errno name and what
    /// it means here.
    static func refusedCases(_ f: Fixture) -> [Case] {
        let unknown = E2E.unknownID
        let notTracked = ["not tracked: attach it first", "ENOENT"]
        return [
            Case(arguments: ["snapshot", "take", f.taken], status: 1, says: ["IOCTL_BLKSNAP_SNAPSHOT_TAKE", "already taken", "EALREADY"]),
            Case(arguments: ["snapshot", "add", f.pending, "/dev/sda"], status: 1, says: ["snapshotadd", "another snapshot", "EBUSY"]),
            Case(arguments: ["snapshot", "add", f.pending, "/dev/sdb"], status: 1, says: ["already in", "EALREADY"]),
            Case(arguments: ["tracker", "attach", "/dev/sda"], status: 1, says: ["BLKFILTER_ATTACH", "already tracked", "EALREADY"]),
            Case(arguments: ["cbt", "info", "/dev/free"], status: 1, says: ["cbtinfo", "/dev/free"] + notTracked),
            Case(arguments: ["cbt", "read", "/dev/free"], status: 1, says: ["BLKFILTER_CTL"] + notTracked),
            Case(arguments: ["cbt", "mark-dirty", "/dev/free", "--range", "0:8"], status: 1, says: ["cbtdirty"] + notTracked),
            Case(arguments: ["snapshot", "info", "/dev/free"], status: 1, says: ["snapshotinfo"] + notTracked),
            Case(arguments: ["snapshot", "add", f.empty, "/dev/free"], status: 1, says: ["snapshotadd"] + notTracked),
            Case(arguments: ["tracker", "detach", "/dev/free"], status: 1, says: ["BLKFILTER_DETACH", "not tracked", "ENOENT"]),
            Case(arguments: ["snapshot", "take", unknown], status: 1, says: ["no such snapshot", "ESRCH", unknown]),
            Case(arguments: ["snapshot", "add", unknown, "/dev/free"], status: 1, says: ["ENOENT"]),
            Case(arguments: ["snapshot", "add", unknown, "/dev/sdb"], status: 1, says: ["no such snapshot", "ESRCH"]),
            Case(arguments: ["snapshot", "append-storage", unknown, "--device", "/dev/store", "--range", "0:8"], status: 1,
                 says: ["no such snapshot", "ESRCH"]),
            Case(arguments: ["snapshot", "wait-event", unknown, "--timeout-ms", "0"], status: 1, says: ["no such snapshot", "ESRCH"]),
            Case(arguments: ["snapshot", "destroy", unknown], status: 1, says: ["no such snapshot", "ENODEV"]),
            Case(arguments: ["snapshot", "take", f.empty], status: 1, says: ["no devices", "ENODEV"]),
            Case(arguments: ["snapshot", "take", f.pending], status: 1, says: ["no difference storage", "EFAULT"]),
            Case(arguments: ["cbt", "mark-dirty", "/dev/sda", "--range", "99999999:8"], status: 1, says: ["beyond the CBT map", "EINVAL"]),
            Case(arguments: ["sim", "write", "/dev/sda", "--offset", "4M", "--pattern", "1", "--length", "1"], status: 1,
                 says: ["past the end", "ENOSPC"]),
            Case(arguments: ["sim", "device", "add", "sda", "--size", "1M"], status: 1, says: ["'sda' already exists", "EEXIST"]),
            Case(arguments: ["snapshot", "append-storage", f.pending, "--file", "/var/tmp/x"], status: 64, says: ["the simulator cannot use host files as storage", "--device PATH --range", "EINVAL"]),
        ]
    }

    /// Runs each case, checking status, message, empty stdout and unchanged state.
    ///
    /// The full state (devices, snapshots, CBT maps of sda and sdb) is compared around the
    /// whole batch; devices and snapshots also around each case that got past argument
    /// parsing (a parse error never connects to the simulator).
    func check(_ cases: [Case], on fixture: Fixture) throws {
        let batchBefore = try fixture.sim.state(cbtOf: ["/dev/sda", "/dev/sdb"])
        defer {
            #expect((try? fixture.sim.state(cbtOf: ["/dev/sda", "/dev/sdb"])) == batchBefore,
                    "the bad commands changed the simulator's state (devices, snapshots or CBT)")
        }
        var before = try fixture.sim.state()
        for testCase in cases {
            let outcome = try fixture.sim.ctl(testCase.arguments)
            #expect(outcome.status == testCase.status, "\(testCase): exit \(outcome.status), \(outcome.stderr)")
            #expect(outcome.stdout.isEmpty, "\(testCase): nothing on stdout, got \(outcome.stdout)")
            let lines = outcome.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.hasPrefix("blksnapctl: ") == true, "\(testCase): one line: \(outcome.stderr)")
            for words in testCase.says {
                #expect(outcome.stderr.contains(words), "\(testCase): message lacks \"\(words)\": \(outcome.stderr)")
            }
            #expect(!outcome.stderr.contains("snapshot snapshot"), "\(testCase): doubled word: \(outcome.stderr)")
            if !outcome.stderr.contains("(see 'blksnapctl help") {
                let after = try fixture.sim.state()
                #expect(after == before, "\(testCase) changed the simulator's state")
                before = after
            }
        }
    }

    /// One simulator for all the cases (process start-up dominates the run time): usage
    /// errors (64), refusals (1), then destroy twice — the second is ENODEV; the first
    /// really removed the snapshot.
    @Test func everyErrorPathHasItsExitCodeAndMessageAndChangesNothing() throws {
        let fixture = try Fixture()
        try check(Self.usageCases(fixture), on: fixture)
        try check(Self.refusedCases(fixture), on: fixture)
        try fixture.sim.ok(["snapshot", "destroy", fixture.taken])
        try check([Case(arguments: ["snapshot", "destroy", fixture.taken], status: 1,
                        says: ["IOCTL_BLKSNAP_SNAPSHOT_DESTROY", fixture.taken, "no such snapshot (already destroyed?)", "ENODEV"])],
                  on: fixture)
    }

    /// `sim serve` creates a missing root with its parents, and names the component it
    /// cannot create.
    @Test func simServeRootDirectory() throws {
        let directory = try CLITestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("file").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let refused = try CLITestSupport.run(["sim", "serve", "--root", file + "/sub"])
        #expect(refused.status == 1 && refused.stderr.contains("ENOTDIR") && refused.stderr.contains(file + "/sub"))
    }

    /// No simulator: exit 69 naming the socket and how to start one; `sim` commands
    /// without --sim are usage errors.
    @Test func simulatorNotRunningExits69() throws {
        let directory = try CLITestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("none.sock").path
        for arguments in [["version"], ["snapshot", "list"], ["cbt", "info", "/dev/sda"], ["sim", "device", "list"],
                          ["snapshot", "take", E2E.unknownID]] {
            for environment in [["BLKSNAPCTL_SIM": socket], [:]] {
                let outcome = try CLITestSupport.run(environment.isEmpty ? arguments + ["--sim", socket] : arguments,
                                                     environment: environment)
                #expect(outcome.status == 69, "\(arguments): \(outcome.stderr)")
                #expect(outcome.stderr.contains(socket) && outcome.stderr.contains("sim serve --root DIR --socket \(socket)"),
                        "\(arguments): \(outcome.stderr)")
                #expect(outcome.stdout.isEmpty && outcome.stderr.split(separator: "\n").count == 1)
            }
        }
        let noSim = try CLITestSupport.run(["sim", "device", "list"])
        #expect(noSim.status == 64 && noSim.stderr.contains("needs a simulator: give --sim SOCKET"))
    }
}
