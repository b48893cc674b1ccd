import ArgumentParser
import BlksnapKit
import Foundation

/// Options that every command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("sim"),
            help: ArgumentHelp("Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).",
                               valueName: "socket"))
    var simSocket: String?

    @Flag(name: .long, help: "Print one JSON document (JSON Lines for streaming commands) with snake_case fields.")
    var json = false

    @Option(name: .customLong("log-level"),
            help: ArgumentHelp("Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).",
                               valueName: "level"))
    var logLevel: LogLevelArgument?

    @Option(name: .customLong("abi"),
            help: ArgumentHelp("The module's ABI instead of the one its nodes suggest: v5, val6 (Veeam VAL-6.x) or val7 (Veeam VAL-7.0); its VERSION answer must agree (default: $BLKSNAPCTL_ABI, else detected).",
                               valueName: "abi"),
            completion: .list(ABIArgument.names))
    var abi: ABIArgument?

    /// How results are printed.
    var output: Output { Output(json: json) }

    /// The simulator socket from `--sim` or `BLKSNAPCTL_SIM`, nil for the real kernel.
    var resolvedSimSocket: String? {
        if let simSocket { return simSocket }
        if let fromEnvironment = ProcessInfo.processInfo.environment["BLKSNAPCTL_SIM"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return nil
    }

    /// The ABI from `--abi` or `BLKSNAPCTL_ABI`, nil to detect it; an unknown value in the
    /// environment is a usage error (64).
    func resolvedABI() throws(CommandFailure) -> BlksnapABI? {
        if let abi { return abi.abi }
        guard let text = ProcessInfo.processInfo.environment["BLKSNAPCTL_ABI"], !text.isEmpty else { return nil }
        guard let parsed = ABIArgument(argument: text) else {
            throw CommandFailure("BLKSNAPCTL_ABI='\(text)' is not an ABI: use v5, val6 or val7", status: .usage)
        }
        return parsed.abi
    }
}

/// An `--abi` value: `v5`, `val6` or `val7` (``BlksnapABI``'s raw values).
struct ABIArgument: ExpressibleByArgument, Sendable {
    /// The ABI named.
    let abi: BlksnapABI

    init?(argument: String) {
        guard let abi = BlksnapABI(rawValue: argument.lowercased()) else { return nil }
        self.abi = abi
    }

    /// The accepted spellings, for completion.
    static let names = BlksnapABI.allCases.map(\.rawValue)
}
