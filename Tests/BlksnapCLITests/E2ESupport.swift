import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// End-to-end fixture: the BUILT `blksnapctl sim serve` in a temporary directory, driven by
/// other `blksnapctl --sim SOCKET` processes exactly as a shell user would.
///
/// Each test makes its own simulator, so E2E suites need not be serialized with each other.
final class E2ESimulator {
    let process = Process()
    /// The temporary directory (root of the server's files and of test files).
    let directory: URL
    let socket: String
    private let stdout = Pipe()
    /// The JSON line `sim serve --json` printed once ready.
    private(set) var ready: [String: Any] = [:]

    /// Starts `sim serve` and waits until it accepts connections.
    ///
    /// - Parameter params: module parameters `NAME=VALUE`; by default 64 KiB chunks and a
    ///   4 MiB storage request, so small devices exercise COW and events quickly.
    init(params: [String] = ["chunk_minimum_shift=16", "diff_storage_minimum=8192"],
         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let binary = try #require(CLITestSupport.binary,
                                  "blksnapctl is not built at \(CLITestSupport.binDirectory.path): run swift build",
                                  sourceLocation: sourceLocation)
        directory = try CLITestSupport.temporaryDirectory()
        socket = directory.appendingPathComponent("sim.sock").path
        process.executableURL = binary
        // A root two levels deep: sim serve creates the parents.
        process.arguments = ["sim", "serve", "--root", directory.appendingPathComponent("state/sim").path, "--socket", socket, "--json"]
            + params.flatMap { ["--param", $0] }
        var environment = ProcessInfo.processInfo.environment
        environment["BLKSNAPCTL_SIM"] = nil
        process.environment = environment
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        ready = try #require(try JSONSerialization.jsonObject(with: E2E.firstLine(of: stdout)) as? [String: Any],
                             "sim serve did not print its ready line", sourceLocation: sourceLocation)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// SIGTERM; returns the exit status.
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// `blksnapctl ARGS --sim SOCKET`, with `environment` added to this process's.
    func ctl(_ arguments: [String], environment: [String: String] = [:]) throws -> CLITestSupport.Outcome {
        try CLITestSupport.run(arguments + ["--sim", socket], environment: environment)
    }

    /// `blksnapctl ARGS --json --sim SOCKET`, expected to succeed, parsed as one JSON object.
    func json(_ arguments: [String], environment: [String: String] = [:],
              sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let outcome = try ctl(arguments + ["--json"], environment: environment)
        #expect(outcome.status == 0, "\(arguments.joined(separator: " ")) failed: \(outcome.stderr)", sourceLocation: sourceLocation)
        #expect(outcome.stdout.split(separator: "\n").count == 1, "--json prints one line: \(outcome.stdout)", sourceLocation: sourceLocation)
        return try E2E.object(outcome.stdout, sourceLocation: sourceLocation)
    }

    /// Runs a command that must succeed and returns its stdout trimmed.
    @discardableResult
    func ok(_ arguments: [String], environment: [String: String] = [:],
            sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let outcome = try ctl(arguments, environment: environment)
        #expect(outcome.status == 0, "\(arguments.joined(separator: " ")) failed: \(outcome.stderr)", sourceLocation: sourceLocation)
        return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The observable state: devices (with filters and images), snapshots, and the CBT of
    /// the given tracked devices, as JSON text. Equal before and after a refused command.
    func state(cbtOf devices: [String] = []) throws -> String {
        var parts = [try ctl(["sim", "device", "list", "--json"]).stdout, try ctl(["snapshot", "list", "--json"]).stdout]
        for device in devices { parts.append(try ctl(["cbt", "read", device, "--json"]).stdout) }
        return parts.joined()
    }

    /// The checksum `sim read` reports for a byte range of a device or image.
    func checksum(_ device: String, offset: String = "0", length: String,
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let read = try json(["sim", "read", device, "--offset", offset, "--length", length], sourceLocation: sourceLocation)
        return try #require(read["checksum"] as? String, sourceLocation: sourceLocation)
    }
}

/// Small helpers shared by the E2E suites.
enum E2E {
    /// True when the blksnap module is loaded on this machine (the no-module tests skip).
    static var moduleLoaded: Bool {
        access("/dev/blksnap-control", F_OK) == 0 || access("/sys/module/blksnap", F_OK) == 0
    }

    /// Parses one JSON object.
    static func object(_ text: some StringProtocol, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                     "not a JSON object: \(text)", sourceLocation: sourceLocation)
    }

    /// Parses JSON Lines: one object per line.
    static func lines(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try object($0, sourceLocation: sourceLocation) }
    }

    /// Expects the keys of `document` to be exactly `keys` (the documented, stable field set).
    static func expectKeys(_ document: [String: Any], _ keys: Set<String>, _ command: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Set(document.keys) == keys, "\(command): fields \(document.keys.sorted()) instead of \(keys.sorted())",
                sourceLocation: sourceLocation)
    }

    /// An id no simulator has created.
    static let unknownID = "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f"

    /// What `pipe` receives up to its first line break (a server's ready line): less at end
    /// of file, whatever came within `seconds` otherwise.
    static func firstLine(of pipe: Pipe, seconds: TimeInterval = 30) -> Data {
        var data = Data()
        let deadline = Date().addingTimeInterval(seconds)
        while !data.contains(UInt8(ascii: "\n")) && Date() < deadline {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        return data
    }
}
