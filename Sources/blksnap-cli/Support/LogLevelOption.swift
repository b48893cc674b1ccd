import ArgumentParser
import Foundation
import Logging

/// The value of `--log-level`: one of swift-log's level names (the help lists them;
/// a plain wrapper, so the generated manual prints no empty value list).
struct LogLevelArgument: ExpressibleByArgument, Sendable {
    let level: Logger.Level

    init?(argument: String) {
        guard let level = Logger.Level(rawValue: argument.lowercased()) else { return nil }
        self.level = level
    }
}

extension GlobalOptions {
    /// The environment variable that sets the log level when `--log-level` is absent.
    static let logLevelVariable = "BLKSNAPCTL_LOG_LEVEL"

    /// The level from `--log-level`, else `BLKSNAPCTL_LOG_LEVEL`, else `notice` (library
    /// `info`/`debug` lines stay hidden unless asked for).
    ///
    /// - Throws: a usage failure (exit 64) for an unknown level name in the variable.
    func resolvedLogLevel() throws(CommandFailure) -> Logger.Level {
        if let logLevel { return logLevel.level }
        guard let text = ProcessInfo.processInfo.environment[Self.logLevelVariable], !text.isEmpty else { return .notice }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw CommandFailure("\(Self.logLevelVariable)=\(text): not a log level; use one of \(names) (EINVAL)", status: .usage)
        }
        return level
    }

    /// A logger writing `LEVEL label : message` lines to standard error at the resolved
    /// level; `label` is `blksnapctl.<part>` (session, storage, nbd).
    func logger(_ part: String) throws(CommandFailure) -> Logger {
        var logger = Logger(label: "blksnapctl.\(part)") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = try resolvedLogLevel()
        return logger
    }
}
