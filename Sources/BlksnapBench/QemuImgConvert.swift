#if canImport(Glibc)
import Glibc
#endif
import BlksnapBackup
import Foundation

/// `qemu-img convert`, the baseline of the backup figures: one process, timed by its
/// wall time.
enum QemuImgConvert {
    /// Where Debian's qemu-utils installs it.
    static let path = "/usr/bin/qemu-img"

    /// Runs `qemu-img convert OPTIONS RAW OUTPUT` and returns its wall time and the size
    /// of `output`, which it then removes; nil without qemu-img.
    static func run(_ options: [String], raw: String, output: String) throws(BackupError) -> (seconds: Double, bytes: UInt64)? {
        guard access(path, X_OK) == 0 else { return nil }
        let label = (["qemu-img", "convert"] + options.prefix { $0 == "-c" }).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["convert"] + options + [raw, output]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = BenchClock.nanoseconds()
        do {
            try process.run()
        } catch {
            throw BackupError(.io, "cannot run qemu-img: \(error)")
        }
        process.waitUntilExit()
        let seconds = Double(BenchClock.nanoseconds() - start) / 1e9
        guard process.terminationStatus == 0 else { throw BackupError(.io, "\(label) failed (\(process.terminationStatus))") }
        var status = stat()
        guard stat(output, &status) == 0 else { throw BackupError(.io, "\(label) wrote no \(output)") }
        _ = Glibc.unlink(output)
        return (seconds, UInt64(status.st_size))
    }
}
