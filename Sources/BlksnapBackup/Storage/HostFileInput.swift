#if canImport(Glibc)
import Glibc
#endif

/// A file of the host opened read-only, as a ``BackupFileInput``.
package final class HostFileInput: BackupFileInput {
    package let file: HostFile
    package let size: UInt64
    package var name: String { file.path }

    /// Opens `path` read-only and takes its size.
    package convenience init(path: String) throws(BackupError) {
        try self.init(file: try HostFile(path: path, flags: O_RDONLY))
    }

    /// Reads `file`, opened already (it may be open for writing too), of its size now.
    package init(file: HostFile) throws(BackupError) {
        self.file = file
        size = try file.sizeAndKind().size
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BackupError) -> Int {
        try file.read(into: buffer, at: offset)
    }
}
