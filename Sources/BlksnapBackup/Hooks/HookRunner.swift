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
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let arguments: [String] = ["/bin/sh", "-c", command]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A group of its own (so a timeout kills what it started too), default signal
        // dispositions (a caller may ignore SIGINT/SIGTERM) and an empty mask.
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var child: pid_t = 0
        let result = posix_spawn(&child, "/bin/sh", nil, &attributes, &argv, &envp)
        guard result == 0 else { return .notStarted(errno: result) }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
        while true {
            if let status = reap(child, block: false) { return status == 0 ? .succeeded : .failed(status: status) }
            if ContinuousClock.now >= deadline { break }
            usleep(5_000)
        }
        kill(-child, SIGTERM)
        let grace = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < grace {
            if reap(child, block: false) != nil { return .timedOut(seconds: timeoutSeconds) }
            usleep(5_000)
        }
        kill(-child, SIGKILL)
        _ = reap(child, block: true)
        return .timedOut(seconds: timeoutSeconds)
    }

    /// The exit status (128 + signal when killed) once `pid` ended; nil while it runs.
    private static func reap(_ pid: pid_t, block: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, block ? 0 : WNOHANG)
            if result == pid { break }
            if result == 0 { return nil }
            if errno == EINTR { continue }
            return 1
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
