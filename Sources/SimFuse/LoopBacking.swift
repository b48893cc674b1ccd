#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A loop device and the file it is bound to (from sysfs).
public struct LoopBacking: Sendable, Equatable {
    /// `/dev/loopN`.
    public var device: String
    /// The backing file's path as the kernel shows it.
    public var backingFile: String

    /// Every bound loop device (`/sys/block/loop*/loop/backing_file`).
    public static func all() -> [LoopBacking] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/sys/block") else { return [] }
        return names.filter { $0.hasPrefix("loop") }.sorted().compactMap { name in
            guard var file = readTextFile("/sys/block/\(name)/loop/backing_file") else { return nil }
            while file.hasSuffix("\n") { file.removeLast() }
            return file.isEmpty ? nil : LoopBacking(device: "/dev/" + name, backingFile: file)
        }
    }

    /// The loop devices bound to files under `directory` (a canonical path).
    public static func bound(under directory: String) -> [LoopBacking] {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return all().filter { $0.backingFile.hasPrefix(prefix) }
    }

    /// The loop device bound to this file, if any.
    public static func device(of backing: String) -> String? {
        all().first { $0.backingFile == backing }?.device
    }
}

/// Runs a program (looked up in PATH) and returns its exit status and standard output;
/// standard error passes through.
public func runProgram(_ arguments: [String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    do { try process.run() } catch { return (127, "") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
