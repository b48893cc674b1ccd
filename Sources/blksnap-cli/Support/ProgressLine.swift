import BlksnapBackup
import Foundation

/// The terminal progress bar on stderr: one `\r`-rewritten line with the device, bytes,
/// percentage, rate and ETA of a ``BackupProgressSample``.
final class ProgressLine {
    private var drawn = false

    /// Rewrites the line with `sample`.
    func draw(_ sample: BackupProgressSample) {
        let counts = sample.counts
        let percent = counts.bytesTotal > 0 ? Double(counts.bytesRead) * 100 / Double(counts.bytesTotal) : 100
        let eta = sample.etaSeconds.map { String(format: "%.0f s", $0) } ?? "?"
        let line = String(format: "\r%@: %@ of %@ (%.0f%%), %@/s, ETA %@\u{1B}[K", counts.devicePath, Self.size(counts.bytesRead),
                          Self.size(counts.bytesTotal), percent, Self.size(sample.bytesPerSecond), eta)
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    /// Erases the line, if one was drawn.
    func clear() {
        guard drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }

    /// `bytes` in B, KiB, MiB, GiB or TiB (one decimal above bytes).
    static func size(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
