#if canImport(Glibc)
import Glibc
#endif

/// One line of `/proc/self/mountinfo`: where something is mounted and what.
public struct MountEntry: Sendable, Equatable {
    /// The mount point (octal escapes such as `\040` decoded).
    public var mountPoint: String
    /// The filesystem type (`fuse.blksnapsim`, `ext4`, ...).
    public var fileSystemType: String
    /// The mount source (for a FUSE filesystem: its `fsname`).
    public var source: String

    /// Creates an entry.
    public init(mountPoint: String, fileSystemType: String, source: String) {
        self.mountPoint = mountPoint
        self.fileSystemType = fileSystemType
        self.source = source
    }
}

/// Reads the mount table of this process's mount namespace.
public enum MountTable {
    /// Every mount in `/proc/self/mountinfo` (empty if it cannot be read).
    public static func entries(path: String = "/proc/self/mountinfo") -> [MountEntry] {
        guard let text = readTextFile(path) else { return [] }
        return text.split(separator: "\n").compactMap { parse(String($0)) }
    }

    /// Parses one mountinfo line: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER`.
    public static func parse(_ line: String) -> MountEntry? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash >= 6, dash + 2 < fields.count else {
            return nil
        }
        return MountEntry(mountPoint: unescape(fields[4]), fileSystemType: unescape(fields[dash + 1]),
                          source: unescape(fields[dash + 2]))
    }

    /// Decodes the kernel's `\ooo` escapes (space, tab, newline, backslash).
    public static func unescape(_ text: String) -> String {
        var bytes: [UInt8] = []
        let source = Array(text.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 3 < source.count,
               let value = octal(source[(index + 1)...(index + 3)]) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value: UInt32 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + UInt32(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }

    /// Whether `path` (canonical) is a mount point now.
    public static func isMountPoint(_ path: String) -> Bool {
        entries().contains { $0.mountPoint == path }
    }

    /// The mount point of the FUSE filesystem whose source is `source`, if mounted.
    public static func mountPoint(ofSource source: String) -> String? {
        entries().last { $0.source == source && $0.fileSystemType.hasPrefix("fuse") }?.mountPoint
    }
}

/// The whole content of a (small, procfs or sysfs) text file, or nil.
func readTextFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; return nil }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// `realpath(3)` of `path`, or nil when it does not resolve.
public func canonicalPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}
