import Foundation

/// What the tests of documented code (README's example, the DocC articles) share: where
/// the package and the built fixtures are, and files read as lines.
enum DocumentedCode {
    /// The package root: three levels above this file (Tests/BlksnapKitTests/…).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The build's product directory: where this test binary is.
    static var binDirectory: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    /// The lines of a text file, trailing whitespace removed from each.
    static func lines(of relativePath: String) throws -> [String] {
        let text = try String(contentsOf: packageRoot.appendingPathComponent(relativePath), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var line = Substring(line)
            while let last = line.last, last.isWhitespace { line.removeLast() }
            return String(line)
        }
    }
}
