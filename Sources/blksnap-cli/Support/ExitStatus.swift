import ArgumentParser

/// The exit statuses of blksnapctl, identical on the real kernel and on the simulator.
///
/// Numbers follow `sysexits.h` where one fits.
enum ExitStatus: Int32, CaseIterable, Sendable {
    /// The operation succeeded.
    case success = 0
    /// The kernel (or simulator) refused the operation or it failed.
    case failure = 1
    /// Bad command line: unknown option, malformed value (EX_USAGE).
    case usage = 64
    /// A snapshot is corrupted (EX_DATAERR).
    case corrupted = 65
    /// The blksnap module, the simulator or the S3 service is not available (EX_UNAVAILABLE).
    case unavailable = 69
    /// A wait ended without an event (EX_TEMPFAIL).
    case timedOut = 75

    /// The ArgumentParser exit code.
    var exitCode: ExitCode { ExitCode(rawValue) }

    /// What the status means, for the man page and `--help`.
    var meaning: String {
        switch self {
        case .success: "success"
        case .failure: "the operation was refused or failed"
        case .usage: "usage error: unknown option or malformed value"
        case .corrupted: "a snapshot is corrupted"
        case .unavailable: "the blksnap module, the simulator or the S3 service is unavailable"
        case .timedOut: "the wait timed out with no event"
        }
    }
}

/// A failure that ends the command: one line for stderr and an exit status.
struct CommandFailure: Error, CustomStringConvertible, Sendable {
    /// The one-line message (operation, object, errno name, remedy).
    let message: String
    /// How the process exits.
    let status: ExitStatus

    init(_ message: String, status: ExitStatus = .failure) {
        self.message = message
        self.status = status
    }

    var description: String { message }
}
