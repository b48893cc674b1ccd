#if canImport(Glibc)
import Glibc
#endif

/// A file of the host opened read-only, as a ``BackupFileInput``.
package final class HostFileInput: BackupFileInput {
    package let file: HostFile
    package let size: UInt64
    package var name: String { file.path }

    /// Opens `path` read-only and takes its size.
    package init(path: String) throws(BackupError) {
        file = try HostFile(path: path, flags: O_RDONLY)
        size = try file.sizeAndKind().size
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BackupError) -> Int {
        try file.read(into: buffer, at: offset)
    }
}
