import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A command run by `blksnapctl session … -- COMMAND…` (posix_spawnp, searched in PATH,
/// with extra environment variables), waited for on its own thread.
final class ChildProcess: Sendable {
    /// Its process id.
    let pid: pid_t

    /// Starts `arguments` with the current environment plus `environment`.
    init(_ arguments: [String], environment: [String: String]) throws(CommandFailure) {
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let envStrings = merged.map { "\($0.key)=\($0.value)" }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        // blksnapctl ignores SIGINT/SIGTERM (it handles them through dispatch sources);
        // ignored dispositions survive exec, so give the child the defaults back.
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
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var child: pid_t = 0
        let result = posix_spawnp(&child, arguments[0], nil, &attributes, &argv, &envp)
        guard result == 0 else {
            throw CommandFailure("cannot run '\(arguments[0])': \(String(cString: strerror(result))) (errno \(result))")
        }
        pid = child
    }

    /// Blocks until the child exits; its exit status, or 128 + signal when killed.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 1 }
        }
        let signal = status & 0x7f
        if signal == 0 { return (status >> 8) & 0xff }
        return 128 + signal
    }
}
