import Foundation
import Testing

/// man/ and completions/ must be exactly what the built binary generates
/// (scripts/gen-docs.sh); regenerate them with that script after changing a command.
@Suite(.serialized, .enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct GoldenDocsTests {
    static let completions: [(shell: String, file: String)] = [
        ("bash", "completions/blksnapctl.bash"), ("zsh", "completions/_blksnapctl"), ("fish", "completions/blksnapctl.fish"),
    ]

    @Test(arguments: completions)
    func completionScriptMatchesBinary(shell: String, file: String) throws {
        let generated = try CLITestSupport.run(["--generate-completion-script", shell])
        #expect(generated.status == 0)
        let committed = try String(contentsOf: CLITestSupport.packageRoot.appendingPathComponent(file), encoding: .utf8)
        #expect(generated.stdout == committed, "\(file) is stale: run scripts/gen-docs.sh")
    }

    @Test func manualMatchesBinary() throws {
        // `swift build --product generate-manual` names the binary `generate-manual`; the
        // `swift package generate-manual` plugin builds it as `generate-manual-tool`.
        let candidates = ["generate-manual", "generate-manual-tool"].map {
            CLITestSupport.binDirectory.appendingPathComponent($0)
        }
        guard candidates.contains(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            if CLITestSupport.isCI {
                Issue.record("generate-manual is not built: run swift build --product generate-manual")
            } else {
                print("skipped: \(candidates[0].path) is not built (swift build --product generate-manual)")
            }
            return
        }
        let output = try CLITestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let script = CLITestSupport.packageRoot.appendingPathComponent("scripts/gen-docs.sh")
        let run = try CLITestSupport.runProgram(script, ["--no-build", "--bin-dir", CLITestSupport.binDirectory.path,
                                                                 "--output-dir", output.path])
        #expect(run.status == 0, "gen-docs.sh failed: \(run.stderr)")
        let generated = try String(contentsOf: output.appendingPathComponent("man/blksnapctl.8"), encoding: .utf8)
        let committed = try String(contentsOf: CLITestSupport.packageRoot.appendingPathComponent("man/blksnapctl.8"), encoding: .utf8)
        #expect(generated == committed, "man/blksnapctl.8 is stale: run scripts/gen-docs.sh")
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "JSON OUTPUT", "ENVIRONMENT", "FILES",
                        "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
            #expect(generated.contains(".Sh \(section)\n") || generated.contains(".Sh \"\(section)\"\n"),
                    "section \(section) missing")
        }
        for status in [0, 1, 64, 65, 69, 75] {
            #expect(generated.contains(".It \(status)\n"), "exit status \(status) not documented")
        }
    }
}
