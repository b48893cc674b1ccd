import Foundation
import Testing

/// The shipped documentation works: the man page passes a linter, and the bash completion
/// completes subcommand names when sourced. (GoldenDocsTests checks both match the binary.)
@Suite struct E2EDocsTests {
    /// Finds a program on PATH.
    static func program(_ name: String) -> URL? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    static let manPage = CLITestSupport.packageRoot.appendingPathComponent("man/blksnapctl.8").path

    /// `mandoc -T lint` at every level down to style notes (long lines, trailing
    /// delimiters, sentences sharing a line), or `groff -ww -z -mdoc` where mandoc is
    /// missing. CI installs mandoc.
    @Test func manPageLints() throws {
        if let mandoc = Self.program("mandoc") {
            let lint = try CLITestSupport.runProgram(mandoc, ["-T", "lint", "-W", "style", Self.manPage])
            // mandoc also complains about the system's man database (missing makewhatis): not ours.
            let problems = (lint.stdout + lint.stderr).split(separator: "\n").filter { $0.contains(Self.manPage) }
            #expect(problems.isEmpty, "mandoc -T lint:\n\(problems.joined(separator: "\n"))")
            #expect(lint.status == 0 || problems.isEmpty)
            let rendered = try CLITestSupport.runProgram(mandoc, ["-T", "markdown", Self.manPage])
            #expect(rendered.status == 0 && rendered.stdout.contains("# EXIT STATUS") && rendered.stdout.contains("sim serve"))
        } else if let groff = Self.program("groff") {
            let lint = try CLITestSupport.runProgram(groff, ["-ww", "-z", "-mdoc", Self.manPage])
            #expect(lint.status == 0 && lint.stderr.isEmpty, "groff -ww:\n\(lint.stderr)")
        } else if CLITestSupport.isCI {
            Issue.record("neither mandoc nor groff is installed (scripts/install-deps.sh installs mandoc)")
        } else {
            print("skipped: neither mandoc nor groff is installed")
        }
    }

    /// What the bash completion offers for a command line (the cursor at its end).
    static func complete(_ words: [String]) throws -> [String]? {
        guard let bash = program("bash") else { return nil }
        let script = CLITestSupport.packageRoot.appendingPathComponent("completions/blksnapctl.bash").path
        let quoted = words.map { "'\($0)'" }.joined(separator: " ")
        let command = """
            source '\(script)' || exit 3
            COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1)
            COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
            _blksnapctl blksnapctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let outcome = try CLITestSupport.runProgram(bash, ["--norc", "--noprofile", "-c", command])
        #expect(outcome.status == 0, "bash: \(outcome.stderr)")
        return outcome.stdout.split(separator: "\n").map(String.init)
    }

    @Test func bashCompletesSubcommandNames() throws {
        guard let snapshot = try Self.complete(["blksnapctl", "sn"]) else {
            if CLITestSupport.isCI { Issue.record("bash is not installed") } else { print("skipped: no bash") }
            return
        }
        #expect(snapshot == ["snapshot"])
        #expect(try Self.complete(["blksnapctl", "snapshot", "wai"]) == ["wait-event"])
        #expect(try Self.complete(["blksnapctl", "sim", "device", ""])?.contains("add") == true)
        let all = try #require(try Self.complete(["blksnapctl", ""]))
        for name in ["version", "tracker", "cbt", "snapshot", "sim", "demo"] {
            #expect(all.contains(name), "top level offers \(name): \(all)")
        }
    }
}
