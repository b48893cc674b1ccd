import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `posix_spawnp` could not start a program; `errno` says why.
public struct SpawnFailure: Error, Sendable {
    /// The errno `posix_spawnp` returned.
    public var errno: Int32
    /// The program that was not started.
    public var program: String

    /// `cannot run 'PROGRAM': REASON (errno N)`.
    public var message: String { "cannot run '\(program)': \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// A program started by the tool for the user (hooks, `session -- COMMAND`): searched in
/// `PATH`, the caller's environment plus some variables, standard streams inherited, and
/// SIGINT/SIGTERM back at their defaults with nothing blocked (blksnapctl ignores them and
/// handles them through dispatch sources; ignored dispositions would survive `exec`).
public final class SpawnedProcess: Sendable {
    /// Its process id (and, with `ownProcessGroup`, its process group's).
    public let pid: pid_t

    /// Starts `arguments`, in a process group of its own when `ownProcessGroup` (so that
    /// `kill(-pid, …)` reaches whatever it started too).
    public init(_ arguments: [String], environment: [String: String], ownProcessGroup: Bool = false) throws(SpawnFailure) {
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var child: pid_t = 0
        let result = posix_spawnp(&child, arguments[0], nil, &attributes, &argv, &envp)
        guard result == 0 else { throw SpawnFailure(errno: result, program: arguments[0]) }
        pid = child
    }

    /// Blocks until the program exits: its exit status, or 128 + the signal that killed it.
    public func wait() -> Int32 {
        reap(block: true) ?? 1
    }

    /// Its exit status (as ``wait()``) if it has exited, nil while it runs.
    public func poll() -> Int32? {
        reap(block: false)
    }

    private func reap(block: Bool) -> Int32? {
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
