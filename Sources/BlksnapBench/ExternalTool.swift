import Foundation

/// The programs a figure compares with (nbdcopy, s3cmd), run to their exit and timed.
enum ExternalTool {
    /// Runs a tool to its exit; its wall-clock seconds (process start to exit).
    static func run(_ tool: String, _ arguments: [String]) throws(BenchError) -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        let start = BenchClock.nanoseconds()
        do {
            try process.run()
        } catch {
            throw BenchError("cannot run \(tool): \(error)")
        }
        let errorText = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let seconds = Double(BenchClock.nanoseconds() - start) / 1e9
        guard process.terminationStatus == 0 else {
            throw BenchError("\(tool) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): "
                             + String(decoding: errorText, as: UTF8.self))
        }
        return seconds
    }
}
