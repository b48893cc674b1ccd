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
            Every command talks to the loaded blksnap module — the v5 series \
            (/dev/blksnap-control), Veeam's VAL-7.0 (/dev/veeamblksnap with /dev/bdevfilter) or \
            VAL-6.x (/dev/veeamblksnap), found by its nodes and VERSION, or chosen with --abi \
            (BLKSNAPCTL_ABI) — or to a simulator started with 'blksnapctl sim serve' when --sim \
            SOCKET (or BLKSNAPCTL_SIM) is given. Exit status: 0 success, 1 operation refused or failed, \
            64 usage error, 65 snapshot corrupted, 69 module, simulator or S3 service unavailable, \
            75 wait timed out.
            """,
        version: "0.1.0",
        subcommands: [
            VersionCommand.self, DoctorCommand.self, TrackerCommand.self, CBTCommand.self, SnapshotCommand.self, SessionCommand.self, NBDCommand.self, BackupCommand.self, SimCommand.self, Demo.self,
        ])

    /// Parses, runs, and reports errors in one line on stderr with the documented status.
    static func main() {
        let command: ParsableCommand
        do {
            command = try parseAsRoot(movingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
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
            let arguments = movingGlobalOptions(Array(CommandLine.arguments.dropFirst()))
            Diagnostics.error("\(message) (see '\(helpCommand(for: arguments))')")
        } else {
            Diagnostics.error(message.isEmpty ? "failed" : message)
        }
        Glibc.exit(code.rawValue)
    }

    /// `blksnapctl help SUBCOMMAND...` for the deepest subcommand named in `arguments`
    /// (options and their values are skipped), so a usage error points at the right help.
    static func helpCommand(for arguments: [String]) -> String {
        var names: [String] = []
        var command: any ParsableCommand.Type = BlksnapCtl.self
        for argument in arguments where !argument.hasPrefix("-") {
            guard let next = command.configuration.subcommands.first(where: { $0._commandName == argument }) else { break }
            names.append(argument)
            command = next
        }
        return (["blksnapctl", "help"] + names).joined(separator: " ")
    }

    /// Lets the global options come first, as in `blksnapctl --sim S --json snapshot list`:
    /// `--sim SOCKET`, `--sim=SOCKET` and `--json` given before the command name are moved
    /// behind the command's own arguments (before a `--`, if any), where every command
    /// parses them.
    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var globals: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--json" || argument.hasPrefix("--sim=") {
                globals.append(argument)
                index += 1
            } else if argument == "--sim", index + 1 < arguments.count {
                globals += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        guard !globals.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        let end = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: globals, at: end)
        return rest
    }
}
