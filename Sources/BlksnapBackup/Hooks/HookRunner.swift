import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How one hook ended.
public enum HookOutcome: Sendable, Hashable, CustomStringConvertible {
    /// Exited 0.
    case succeeded
    /// Exited with this status (or 128 + the signal that killed it).
    case failed(status: Int32)
    /// Still running after the timeout: its process group was killed.
    case timedOut(seconds: Double)
    /// Could not be started (`posix_spawn` failed with this errno).
    case notStarted(errno: Int32)

    /// Whether the hook exited 0.
    public var succeeded: Bool { self == .succeeded }

    /// What happened, for messages.
    public var description: String {
        switch self {
        case .succeeded: return "exited 0"
        case .failed(let status): return status > 128 ? "was killed by signal \(status - 128)" : "exited \(status)"
        case .timedOut(let seconds): return "was still running after \(seconds) s (ETIMEDOUT) and was killed"
        case .notStarted(let code): return "could not be started: \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}

/// Runs one ``SnapshotHooks`` command: `/bin/sh -c COMMAND` in a process group of its
/// own, its standard streams inherited, bounded by a timeout after which the group gets
/// SIGTERM and, a second later, SIGKILL.
public enum HookRunner {
    /// Runs `command` with the caller's environment plus `environment`; returns once it
    /// exited or was killed.
    public static func run(_ command: String, environment: [String: String], timeoutSeconds: Double) -> HookOutcome {
        let process: SpawnedProcess
        do {
            process = try SpawnedProcess(["/bin/sh", "-c", command], environment: environment, ownProcessGroup: true)
        } catch {
            return .notStarted(errno: error.errno)
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
        while true {
            if let status = process.poll() { return status == 0 ? .succeeded : .failed(status: status) }
            if ContinuousClock.now >= deadline { break }
            usleep(5_000)
        }
        kill(-process.pid, SIGTERM)
        let grace = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < grace {
            if process.poll() != nil { return .timedOut(seconds: timeoutSeconds) }
            usleep(5_000)
        }
        kill(-process.pid, SIGKILL)
        _ = process.wait()
        return .timedOut(seconds: timeoutSeconds)
    }
}
