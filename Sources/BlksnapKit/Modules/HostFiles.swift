#if canImport(Glibc)
import Glibc
#endif

/// Reads the host's files below a root directory (`/` on a real machine, a tree built
/// under a temporary directory in tests): `/sys`, `/proc`, `/lib/modules`, `/var/lib/dkms`,
/// `/boot`, `/dev` as plain files, never through ioctls. Plain libc calls, so BlksnapKit
/// links no Foundation.
struct HostFiles: Sendable {
    /// The root every absolute path is resolved under.
    let root: String

    /// `root` + `path` (`path` absolute as on the host).
    func resolve(_ path: String) -> String {
        if root == "/" || root.isEmpty { return path }
        return (root.hasSuffix("/") ? String(root.dropLast()) : root) + path
    }

    /// True when `path` exists (following symbolic links).
    func exists(_ path: String) -> Bool {
        access(resolve(path), F_OK) == 0
    }

    /// `stat(2)` of `path` (following symbolic links), or nil.
    func status(_ path: String) -> stat? {
        var status = stat()
        return stat(resolve(path), &status) == 0 ? status : nil
    }

    /// True for a directory.
    func isDirectory(_ path: String) -> Bool {
        guard let status = status(path) else { return false }
        return status.st_mode & S_IFMT == S_IFDIR
    }

    /// The whole file (sysfs files report size 4096 and are read until EOF), or nil.
    func bytes(_ path: String) -> [UInt8]? {
        let fd = open(resolve(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return Self.readAll(fd)
    }

    /// The file as UTF-8 text without surrounding whitespace, or nil.
    func text(_ path: String) -> String? {
        bytes(path).map { Self.trimmed(String(decoding: $0, as: UTF8.self)) }
    }

    /// The last `count` bytes of a file (fewer when it is shorter), or nil.
    func tail(_ path: String, count: Int) -> [UInt8]? {
        let fd = open(resolve(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else { return nil }
        let start = max(0, end - off_t(count))
        var buffer = [UInt8](repeating: 0, count: Int(end - start))
        var filled = 0
        while filled < buffer.count {
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, $0.count - filled, start + off_t(filled)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            filled += got
        }
        return Array(buffer.prefix(filled))
    }

    /// The names in a directory (without `.` and `..`), sorted; empty when it does not exist.
    func list(_ path: String) -> [String] {
        guard let directory = opendir(resolve(path)) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Paths (host form) of the files below `path` whose name is in `names`, sorted;
    /// symbolic links to directories are not followed.
    func find(named names: Set<String>, under path: String) -> [String] {
        var found: [String] = []
        var pending = [path]
        while let directory = pending.popLast() {
            for name in list(directory) {
                let child = directory + "/" + name
                var status = stat()
                guard lstat(resolve(child), &status) == 0 else { continue }
                if status.st_mode & S_IFMT == S_IFDIR {
                    pending.append(child)
                } else if names.contains(name) {
                    found.append(child)
                }
            }
        }
        return found.sorted()
    }

    /// Everything `fd` yields until end of file.
    static func readAll(_ fd: CInt) -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            data += chunk.prefix(got)
        }
        return data
    }

    /// `text` without leading and trailing whitespace and newlines.
    static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0.isWhitespace }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(text[first...last])
    }
}
