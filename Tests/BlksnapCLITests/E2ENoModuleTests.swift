import Foundation
import Testing

/// With no blksnap module and no --sim, every kernel command fails the same way: exit 69
/// and "module not loaded — use the simulator: …", before it looks at any device or id.
@Suite(.enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"),
       .enabled(if: !E2E.moduleLoaded, "the blksnap module is loaded on this machine"))
struct E2ENoModuleTests {
    /// Every command that talks to the kernel, with well-formed arguments (devices that
    /// exist nowhere, on purpose: the module check comes first).
    static let kernelCommands: [[String]] = [
        ["version"],
        ["tracker", "attach", "/dev/sdz"],
        ["tracker", "detach", "8:0"],
        ["cbt", "info", "/dev/sdz"],
        ["cbt", "read", "/dev/sdz", "--since", "1"],
        ["cbt", "mark-dirty", "/dev/sdz", "--range", "0:8"],
        ["snapshot", "create"],
        ["snapshot", "create", "/dev/sdz"],
        ["snapshot", "add", E2E.unknownID, "/dev/sdz"],
        ["snapshot", "append-storage", E2E.unknownID, "--device", "/dev/sdz", "--range", "0:8"],
        ["snapshot", "take", E2E.unknownID],
        ["snapshot", "list"],
        ["snapshot", "info", "/dev/sdz"],
        ["snapshot", "wait-event", E2E.unknownID, "--timeout-ms", "0"],
        ["snapshot", "destroy", E2E.unknownID],
    ]

    @Test(arguments: kernelCommands)
    func kernelCommandWithoutModuleExits69(arguments: [String]) throws {
        for variant in [arguments, arguments + ["--json"]] {
            let outcome = try CLITestSupport.run(variant)
            #expect(outcome.status == 69, "\(variant): exit \(outcome.status): \(outcome.stderr)")
            #expect(outcome.stdout.isEmpty)
            let lines = outcome.stderr.split(separator: "\n")
            #expect(lines.count == 1, "one line: \(outcome.stderr)")
            for words in ["blksnapctl: open on /dev/blksnap-control", "blksnap module not loaded", "ENOENT",
                          "— use the simulator: ", "blksnapctl sim serve --root DIR", "--sim", "modprobe blksnap"] {
                #expect(outcome.stderr.contains(words), "\(variant): message lacks \"\(words)\": \(outcome.stderr)")
            }
        }
    }

    /// Usage errors are still reported as such (64) without the module: parsing comes first.
    @Test func usageErrorsStillExit64() throws {
        let outcome = try CLITestSupport.run(["snapshot", "take", "not-a-uuid"])
        #expect(outcome.status == 64 && outcome.stderr.contains("'not-a-uuid'"))
    }
}
