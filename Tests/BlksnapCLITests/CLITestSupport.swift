import Foundation
import Testing

/// Locating and running the built `blksnapctl` for end-to-end and golden tests.
enum CLITestSupport {
    /// The package root (three levels above this file).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// True under `CI=true`: missing prerequisites fail instead of skipping.
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// The debug build folder of the package.
    static var binDirectory: URL { packageRoot.appendingPathComponent(".build/debug") }

    /// The built `blksnapctl`, or nil.
    static var binary: URL? {
        let url = binDirectory.appendingPathComponent("blksnapctl")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }

    /// True when `blksnapctl` is built; under CI a missing binary is a failure.
    static var binaryAvailable: Bool {
        if binary != nil { return true }
        return isCI  // the test then runs and fails on the missing binary
    }

    /// What a finished process produced.
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `blksnapctl ARGS` to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:],
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let binary = try #require(binary, "blksnapctl is not built at \(binDirectory.path): run swift build", sourceLocation: sourceLocation)
        return try runProgram(binary, arguments, environment: environment)
    }

    /// Runs any program to completion, capturing both streams.
    static func runProgram(_ program: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["BLKSNAPCTL_SIM"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let errData = Locked<Data>(Data())
        let errReader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        errReader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errData.isSet { usleep(1000) }
        return Outcome(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData.value, as: UTF8.self))
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("blksnapctl-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A value set once from another thread.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    private var wasSet = false

    init(_ value: Value) { stored = value }

    func set(_ value: Value) {
        lock.lock()
        stored = value
        wasSet = true
        lock.unlock()
    }

    /// Changes the value in place, under the lock.
    func update(_ body: (inout Value) -> Void) {
        lock.lock()
        body(&stored)
        wasSet = true
        lock.unlock()
    }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return wasSet
    }
}
