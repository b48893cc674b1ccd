#if canImport(Glibc)
import Glibc
#endif

/// The running kernel's tick rate, `CONFIG_HZ`.
///
/// WAIT_EVENT's timeout is counted in jiffies on every blksnap ABI (although the field is
/// named `timeout_ms`): with HZ=250 a "200 ms" wait takes 0.8 s. The kernel does not
/// publish HZ at run time; its build configuration does:
/// `/boot/config-$(uname -r)`, else `/proc/config.gz` (`CONFIG_IKCONFIG_PROC`).
public enum KernelHZ {
    /// `CONFIG_HZ` of the running kernel, or nil when neither configuration file is readable.
    ///
    /// - Parameters:
    ///   - root: the directory the host's files are read under (`/` on a real machine).
    ///   - kernelRelease: the release whose `/boot/config-RELEASE` is read; by default
    ///     `ROOT/proc/sys/kernel/osrelease`, else `uname(2)`.
    public static func current(root: String = "/", kernelRelease: String? = nil) -> Int? {
        lookup(root: root, kernelRelease: kernelRelease)?.hz
    }

    /// `CONFIG_HZ` and the file it came from (host path), or nil.
    public static func lookup(root: String = "/", kernelRelease: String? = nil) -> (hz: Int, source: String)? {
        let files = HostFiles(root: root)
        if let release = kernelRelease ?? KernelRelease.current(root: root) {
            let boot = "/boot/config-\(release)"
            if let text = files.text(boot), let hz = parse(config: text) { return (hz, boot) }
        }
        let proc = "/proc/config.gz"
        if files.exists(proc), let text = gunzip(files.resolve(proc)), let hz = parse(config: text) {
            return (hz, proc)
        }
        return nil
    }

    /// The value of the `CONFIG_HZ=` line of a kernel configuration, or nil.
    public static func parse(config text: String) -> Int? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("CONFIG_HZ=") {
            if let hz = Int(HostFiles.trimmed(String(line.dropFirst("CONFIG_HZ=".count)))), hz > 0 {
                return hz
            }
        }
        return nil
    }

    /// `gzip -dc FILE` (the system tool), or nil.
    static func gunzip(_ path: String) -> String? {
        let tools: [String] = ["/usr/bin/gzip", "/bin/gzip"]
        guard let tool = tools.first(where: { access($0, X_OK) == 0 }) else { return nil }
        var pipeEnds: [CInt] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { return nil }
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid = pid_t()
        let arguments = [tool, "-dc", path]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawn(&pid, tool, &actions, nil, &argv, environ)
        close(pipeEnds[1])
        defer { close(pipeEnds[0]) }
        guard spawned == 0 else { return nil }
        let output = HostFiles.readAll(pipeEnds[0])
        var status: CInt = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else { return nil }
        return String(decoding: output, as: UTF8.self)
    }
}
