#if canImport(Glibc)
import Glibc
#endif

/// A new file of the host (created or truncated), as a ``BackupFileOutput``: written with
/// `pwrite`, finished with `fsync`, discarded by `unlink`.
package final class HostFileOutput: BackupFileOutput {
    private let file: HostFile
    package var name: String { file.path }
    package var acceptsWritesAnywhere: Bool { true }

    /// Creates (or truncates) `path`.
    package init(path: String) throws(BackupError) {
        file = try HostFile(path: path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644, operation: "creating")
    }

    package func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BackupError) {
        try file.write(bytes, at: offset)
    }

    package func finish() throws(BackupError) {
        try file.sync()
        file.close()
    }

    package func discard() {
        file.close()
        HostFile.remove(file.path)
    }
}
