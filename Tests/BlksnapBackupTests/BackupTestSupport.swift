import Foundation
import Testing

/// A temporary directory removed at deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("blksnap-backup-XXXXXX").path
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// qemu-img, the reference the files are checked against.
enum QEMUImg {
    /// Whether qemu-img is installed (scripts/install-deps.sh installs qemu-utils).
    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img") }
    /// Under CI=true the tests that need qemu-img run (and fail without it) instead of skipping.
    static let isRequired = ProcessInfo.processInfo.environment["CI"] == "true"
    /// Whether a suite that needs qemu-img runs.
    static var shouldRun: Bool { available || isRequired }
    /// Why such a suite is skipped.
    static let reason = "skipped: qemu-img (qemu-utils) is not installed"

    /// Runs `tool` (a program of qemu-utils, e.g. qemu-io) and requires exit 0; returns its output.
    @discardableResult
    static func tool(_ tool: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        try #require(process.terminationStatus == 0, "\(tool) \(arguments.joined(separator: " ")): \(output)", sourceLocation: sourceLocation)
        return output
    }

    /// Runs qemu-img; returns (status, stdout + stderr).
    @discardableResult
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-img")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `qemu-img check` must exit 0 and report no error and no leak.
    static func checkClean(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(available, "qemu-img is missing: install qemu-utils (scripts/install-deps.sh)", sourceLocation: sourceLocation)
        let (status, output) = try run(["check", "-f", "qcow2", path])
        #expect(status == 0, "qemu-img check \(path): \(output)", sourceLocation: sourceLocation)
        #expect(output.contains("No errors were found"), "qemu-img check \(path): \(output)", sourceLocation: sourceLocation)
        #expect(!output.contains("leaked"), "qemu-img check \(path): \(output)", sourceLocation: sourceLocation)
    }

    /// `qemu-img compare` of a qcow2 (its whole chain) with a raw image: identical.
    static func expectIdentical(_ qcow2: String, raw: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(available, "qemu-img is missing: install qemu-utils (scripts/install-deps.sh)", sourceLocation: sourceLocation)
        let (status, output) = try run(["compare", "-f", "qcow2", "-F", "raw", qcow2, raw])
        #expect(status == 0, "qemu-img compare \(qcow2) \(raw): \(output)", sourceLocation: sourceLocation)
    }

    /// `qemu-img info --output=json`.
    static func info(_ path: String) throws -> [String: Any] {
        let (status, output) = try run(["info", "--output=json", path])
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: output])
        }
        return object
    }
}

/// Deterministic pseudo-random bytes (xorshift64*).
struct TestRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func next(below bound: UInt64) -> UInt64 { next() % bound }

    mutating func fill(_ buffer: inout [UInt8]) {
        for index in stride(from: 0, to: buffer.count, by: 8) {
            let value = next()
            for byte in 0..<min(8, buffer.count - index) { buffer[index + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
        }
    }
}
