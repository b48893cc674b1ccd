import BlksnapBackup
#if canImport(Glibc)
import Glibc
#endif

/// BlksnapBackup's ``HostFile`` as the baselines use it (the ideal COW loop, raw reads
/// and writes): opened read-write, created if missing, and an I/O failure is fatal —
/// a baseline that cannot do its I/O measures nothing.
extension HostFile {
    /// Opens (creating) `path` read-write; with `sizeBytes` it is sized sparse to that length.
    static func baseline(_ path: String, sizeBytes: UInt64? = nil) throws(BenchError) -> HostFile {
        let file: HostFile
        do throws(BackupError) {
            file = try HostFile(path: path, flags: O_RDWR | O_CREAT, mode: 0o600)
            if let sizeBytes { try file.truncate(to: sizeBytes) }
        } catch {
            throw BenchError("cannot open \(path) for a baseline: \(error.message)")
        }
        return file
    }

    /// Fills the whole buffer from `offset` (fatal on a failed or short read).
    func read(into buffer: UnsafeMutableRawBufferPointer, atByte offset: UInt64) {
        let count: Int
        do { count = try read(into: buffer, at: offset) } catch { preconditionFailure("baseline read failed: \(error.message)") }
        precondition(count == buffer.count, "baseline read of \(path) ended after \(count) of \(buffer.count) bytes")
    }

    /// Writes the whole buffer at `offset` (fatal on failure).
    func write(_ buffer: UnsafeRawBufferPointer, atByte offset: UInt64) {
        do { try write(buffer, at: offset) } catch { preconditionFailure("baseline write failed: \(error.message)") }
    }
}
