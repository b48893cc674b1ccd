import Foundation

/// Writes to the standard streams: results to stdout, diagnostics (one line each) to stderr.
enum Diagnostics {
    /// `blksnapctl: MESSAGE` on stderr, on one line.
    static func error(_ message: String) {
        let oneLine = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data("blksnapctl: \(oneLine)\n".utf8))
    }

    /// A line on stderr as it is (machine-readable: no `blksnapctl:` prefix), flushed at once.
    static func line(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// A line on stdout, flushed at once (output may be piped to a waiting reader).
    static func print(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
