import ArgumentParser
import BlksnapKit
import SystemPackage
import Testing
@testable import blksnap_cli

/// The CLI's exit status (Swift Testing also has an `ExitStatus`).
private typealias ExitStatus = blksnap_cli.ExitStatus

/// The mapping from errors to exit statuses, and which command lines are usage errors.
@Suite struct ExitStatusTests {
    @Test func statusesAreTheDocumentedOnes() {
        #expect(ExitStatus.allCases.map(\.rawValue) == [0, 1, 64, 65, 69, 75])
    }

    @Test(arguments: BlksnapErrorCategory.allCases)
    func everyCategoryHasAStatus(category: BlksnapErrorCategory) {
        let status = ExitStatus(rawValue: category.exitStatus)
        #expect(status != nil && status != .success)
        let expected: ExitStatus = switch category {
        case .moduleUnavailable: .unavailable
        case .refused: .failure
        case .timedOut: .timedOut
        case .corrupted: .corrupted
        case .usage: .usage
        }
        #expect(status == expected)
    }

    @Test func missingModuleIsUnavailableWithRemedy() {
        let error = BlksnapError(operation: .openControl, errno: .noSuchFileOrDirectory, devicePath: "/dev/blksnap-control")
        let failure = Backend.failure(error, simSocket: nil)
        #expect(failure.status == .unavailable)
        #expect(failure.message.contains("/dev/blksnap-control"))
        #expect(failure.message.contains("ENOENT"))
        #expect(failure.message.contains("modprobe blksnap"))
        #expect(!failure.message.contains("\n"))
        let simulated = Backend.failure(error, simSocket: "/tmp/s.sock")
        #expect(simulated.status == .unavailable && simulated.message.contains("sim serve"))
    }

    @Test func refusalsAreFailures() {
        let id = SnapshotID(rawValue: [UInt8](repeating: 7, count: 16))!
        let cases: [(BlksnapError, ExitStatus)] = [
            (BlksnapError(operation: .destroySnapshot, errno: .operationNotSupportedByDevice, snapshotID: id), .failure),
            (BlksnapError(operation: .addToSnapshot, errno: .resourceBusy, devicePath: "/dev/sdb"), .failure),
            (BlksnapError(operation: .cbtInfo, errno: .noSuchFileOrDirectory, devicePath: "/dev/sdb"), .failure),
            (BlksnapError(operation: .attachFilter, errno: .inappropriateIOCTLForDevice, devicePath: "/dev/sdb"), .unavailable),
            (BlksnapError.invalidRequest(.markDirty, "bad range"), .usage),
        ]
        for (error, status) in cases {
            let failure = Backend.failure(error, simSocket: nil)
            #expect(failure.status == status, "\(error)")
            #expect(failure.message.contains(error.errnoName))
        }
    }

    static let usageErrors: [[String]] = [
        ["frobnicate"],
        ["tracker", "attach"],
        ["tracker", "attach", "8:"],
        ["cbt", "read", "/dev/sdb", "--since", "256"],
        ["cbt", "read", "/dev/sdb", "--since", "-1"],
        ["cbt", "mark-dirty", "/dev/sdb"],
        ["cbt", "mark-dirty", "/dev/sdb", "--range", "5"],
        ["cbt", "mark-dirty", "/dev/sdb", "--range", "1:-1"],
        ["snapshot", "take", "not-a-uuid"],
        ["snapshot", "add", "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f"],
        ["snapshot", "append-storage", "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f"],
        ["snapshot", "append-storage", "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f", "--device", "/dev/sdc"],
        ["snapshot", "append-storage", "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f", "--device", "/dev/sdc", "--file", "/x"],
        ["snapshot", "wait-event", "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f", "--timeout-ms", "soon"],
        ["sim", "serve"],
        ["sim", "serve", "--root", "/tmp/x", "--param", "no_such_param=1"],
        ["sim", "serve", "--root", "/tmp/x", "--param", "hz"],
        ["sim", "device", "add", "sda", "--size", "0"],
        ["sim", "device", "add", "sda", "--size", "1000"],
        ["sim", "device", "add", "sda", "--size", "16X"],
        ["sim", "device", "add", "a/b", "--size", "1M"],
        ["sim", "device", "add", "sda", "--size", "1M", "--logical-block-size", "1000"],
        ["sim", "write", "/dev/sda", "--offset", "0"],
        ["sim", "write", "/dev/sda", "--offset", "0", "--pattern", "1"],
        ["sim", "write", "/dev/sda", "--offset", "-1", "--pattern", "1", "--length", "1"],
        ["sim", "read", "/dev/sda", "--offset", "0"],
        ["demo", "--sim", "/tmp/s.sock"],
    ]

    @Test(arguments: usageErrors)
    func usageErrorsExit64(arguments: [String]) {
        #expect {
            _ = try BlksnapCtl.parseAsRoot(arguments)
        } throws: { error in
            BlksnapCtl.exitCode(for: error) == .validationFailure
        }
    }

    static let goodCommandLines: [([String], String)] = [
        (["version", "--json"], "VersionCommand"),
        (["tracker", "attach", "8:16"], "TrackerAttach"),
        (["tracker", "detach", "/dev/sdb"], "TrackerDetach"),
        (["cbt", "info", "sdb"], "CBTInfoCommand"),
        (["cbt", "read", "/dev/sdb", "--since", "255", "--output", "/tmp/map"], "CBTRead"),
        (["cbt", "mark-dirty", "/dev/sdb", "--range", "0:8", "100:1"], "CBTMarkDirty"),
        (["snapshot", "create"], "SnapshotCreate"),
        (["snapshot", "create", "/dev/sdb", "8:32"], "SnapshotCreate"),
        (["snapshot", "append-storage", "0F5C3A1E-8D2B-4C7F-9A61-3E2D4B5C6A7F", "--device", "/dev/sdc", "--range", "0:2048"], "SnapshotAppendStorage"),
        (["snapshot", "append-storage", "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f", "--file", "/var/tmp/x"], "SnapshotAppendStorage"),
        (["snapshot", "wait-event", "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f", "--timeout-ms", "0", "--drain"], "SnapshotWaitEvent"),
        (["snapshot", "list", "--sim", "/tmp/s.sock"], "SnapshotList"),
        (["sim", "serve", "--root", "/tmp/x", "--param", "chunk_minimum_shift=16"], "SimServe"),
        (["sim", "device", "add", "sda", "--size", "16m", "--logical-block-size", "4K"], "SimDeviceAdd"),
        (["sim", "write", "/dev/sda", "--offset", "1M", "--pattern", "7", "--length", "64k"], "SimWrite"),
        (["sim", "read", "240:0", "--offset", "0", "--length", "4096", "--output", "-"], "SimRead"),
        (["demo", "--json", "--keep-files"], "Demo"),
    ]

    @Test(arguments: goodCommandLines)
    func goodCommandLinesParse(arguments: [String], type: String) throws {
        let command = try BlksnapCtl.parseAsRoot(arguments)
        #expect(String(describing: Swift.type(of: command)) == type)
    }

    @Test func parsedValuesReachTheCommand() throws {
        let command = try #require(try BlksnapCtl.parseAsRoot(
            ["cbt", "mark-dirty", "8:16", "--range", "0:8", "100:1", "--json"]) as? CBTMarkDirty)
        #expect(command.device == .number(DeviceNumber(major: 8, minor: 16)))
        #expect(command.range == [SectorRange(offsetSectors: 0, countSectors: 8), SectorRange(offsetSectors: 100, countSectors: 1)])
        #expect(command.global.json)
        let write = try #require(try BlksnapCtl.parseAsRoot(
            ["sim", "write", "sda", "--offset", "1M", "--pattern", "7", "--length", "64k"]) as? SimWrite)
        #expect(write.offset == 1 << 20 && write.length == 64 << 10 && write.pattern == 7 && write.device == .path("/dev/sda"))
    }
}
