import Foundation
import Testing

/// `snapshot append-storage ID --file PATH`: what can be checked without the module.
@Suite(.enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct AppendFileCLITests {
    /// A small regular file in a fresh temporary directory.
    private func storageFile() throws -> (directory: URL, path: String) {
        let directory = try CLITestSupport.temporaryDirectory()
        let path = directory.appendingPathComponent("storage").path
        try #require(FileManager.default.createFile(atPath: path, contents: Data(count: 8192)))
        return (directory, path)
    }

    @Test("--file with --sim (option or BLKSNAPCTL_SIM) is refused: exit 64, use --device and --range")
    func simulatorRefuses() throws {
        let (directory, path) = try storageFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("no-such.sock").path
        let base = ["snapshot", "append-storage", E2E.unknownID, "--file", path]
        for (arguments, environment) in [(base + ["--sim", socket], [String: String]()),
                                         (base + ["--json"], ["BLKSNAPCTL_SIM": socket])] {
            let outcome = try CLITestSupport.run(arguments, environment: environment)
            #expect(outcome.status == 64, "\(arguments): exit \(outcome.status): \(outcome.stderr)")
            #expect(outcome.stdout.isEmpty)
            for words in ["the simulator cannot use host files as storage", "--device PATH --range", path] {
                #expect(outcome.stderr.contains(words), "message lacks \"\(words)\": \(outcome.stderr)")
            }
        }
    }

    @Test("--file and --device together, or neither, are usage errors")
    func exclusiveWithDevice() throws {
        let both = try CLITestSupport.run(["snapshot", "append-storage", E2E.unknownID, "--file", "/tmp/x",
                                           "--device", "/dev/sdz", "--range", "0:8"])
        #expect(both.status == 64 && both.stderr.contains("not both"), "\(both.status): \(both.stderr)")
        let neither = try CLITestSupport.run(["snapshot", "append-storage", E2E.unknownID])
        #expect(neither.status == 64, "\(neither.status): \(neither.stderr)")
    }

    @Test("without the module: exit 69 'module not loaded', before the file is touched",
          .enabled(if: !E2E.moduleLoaded, "the blksnap module is loaded on this machine"))
    func noModuleExits69() throws {
        let (directory, path) = try storageFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        for variant in [[String](), ["--json"]] {
            let outcome = try CLITestSupport.run(["snapshot", "append-storage", E2E.unknownID, "--file", path] + variant)
            #expect(outcome.status == 69, "exit \(outcome.status): \(outcome.stderr)")
            #expect(outcome.stdout.isEmpty)
            #expect(outcome.stderr.contains("blksnap module not loaded"), "\(outcome.stderr)")
        }
        // Not pinned: removable (the immutable flag would make this fail with EPERM).
        #expect(unlink(path) == 0)
    }
}
