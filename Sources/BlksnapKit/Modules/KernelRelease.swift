#if canImport(Glibc)
import Glibc
#endif

/// The running kernel's release (`uname -r`).
public enum KernelRelease {
    /// `ROOT/proc/sys/kernel/osrelease`, else `uname(2)`'s release when `root` is `/`.
    public static func current(root: String = "/") -> String? {
        if let text = HostFiles(root: root).text("/proc/sys/kernel/osrelease"), !text.isEmpty { return text }
        guard root == "/" || root.isEmpty else { return nil }
        var names = utsname()
        guard uname(&names) == 0 else { return nil }
        return withUnsafeBytes(of: &names.release) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
