import ArgumentParser
import BlksnapKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// blksnapctl: the shell tool over BlksnapKit.
@main
struct BlksnapCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blksnapctl",
        abstract: "Control the blksnap block-device snapshot module (or its simulator).",
        discussion: """
            Every command talks to the real blksnap v5 module through /dev/blksnap-control, \
            or to a simulator started with 'blksnapctl sim serve' when --sim SOCKET (or \
            BLKSNAPCTL_SIM) is given. Exit status: 0 success, 1 operation refused or failed, \
            64 usage error, 65 snapshot corrupted, 69 module or simulator unavailable, \
            75 wait timed out.
            """,
        version: "0.1.0",
        subcommands: [
            VersionCommand.self, TrackerCommand.self, CBTCommand.self, SnapshotCommand.self, SessionCommand.self, SimCommand.self, Demo.self,
        ])

    /// Parses, runs, and reports errors in one line on stderr with the documented status.
    static func main() {
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exitReporting(error)
        }
        do {
            var running = command
            try running.run()
        } catch {
            exitReporting(error)
        }
        Glibc.exit(0)
    }

    /// Prints help/version/completions as ArgumentParser does; prints every error as ONE
    /// line `blksnapctl: MESSAGE` on stderr and exits with its status.
    static func exitReporting(_ error: any Error) -> Never {
        if let error = error as? BlksnapError {
            exitReporting(Backend.failure(error, simSocket: nil))
        }
        if let failure = error as? CommandFailure {
            Diagnostics.error(failure.message)
            Glibc.exit(failure.status.rawValue)
        }
        let code = exitCode(for: error)
        if code == .success || error is ExitCode || error is CleanExit {
            exit(withError: error)
        }
        let message = self.message(for: error)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        if code == .validationFailure {
            Diagnostics.error("\(message) (see 'blksnapctl help')")
        } else {
            Diagnostics.error(message.isEmpty ? "failed" : message)
        }
        Glibc.exit(code.rawValue)
    }
}
