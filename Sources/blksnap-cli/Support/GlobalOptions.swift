import ArgumentParser
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
}
