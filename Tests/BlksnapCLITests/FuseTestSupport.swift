import Foundation
import SimFuse
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Prerequisites and cleanup for the FUSE + loop end-to-end tests.
enum FuseTestSupport {
    /// Why the FUSE tests cannot run here, or nil.
    static let missingPrerequisite: String? = {
        if CLITestSupport.binary == nil { return "blksnapctl is not built (swift build)" }
        if getuid() != 0 { return "needs root (mount, losetup)" }
        if access("/dev/fuse", R_OK | W_OK) != 0 { return "needs /dev/fuse" }
        if access("/dev/loop-control", R_OK | W_OK) != 0 { return "needs loop devices (/dev/loop-control)" }
        for tool in ["losetup", "mkfs.ext4", "e2fsck", "fsfreeze", "mount", "umount", "fusermount3"]
        where which(tool) == nil {
            return "needs \(tool)"
        }
        return nil
    }()

    /// Run the suite: prerequisites met, or CI (where a missing one fails the tests).
    static var enabled: Bool { missingPrerequisite == nil || CLITestSupport.isCI }

    /// Whether XFS is tested: xfsprogs installed, or CI (which installs it, so a missing
    /// mkfs.xfs there fails the test instead of skipping it).
    static var xfsAvailable: Bool { (which("mkfs.xfs") != nil && which("xfs_repair") != nil) || CLITestSupport.isCI }

    /// The path of a program in PATH (or the sbin directories), or nil.
    static func which(_ tool: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(tool)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs a system tool, capturing its output.
    @discardableResult
    static func tool(_ arguments: [String]) throws -> CLITestSupport.Outcome {
        let program = try #require(which(arguments[0]), "\(arguments[0]) is not installed")
        return try CLITestSupport.runProgram(URL(fileURLWithPath: program), Array(arguments.dropFirst()))
    }

    /// Runs a system tool that must succeed.
    @discardableResult
    static func require(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let outcome = try tool(arguments)
        try #require(outcome.status == 0, "\(arguments.joined(separator: " ")) failed (\(outcome.status)): \(outcome.stderr)\(outcome.stdout)",
                     sourceLocation: sourceLocation)
        return outcome.stdout
    }
}

/// `blksnapctl sim serve --mount` in a subprocess, plus every mount and loop device a
/// test creates, all undone by ``cleanUp()`` (call it in `defer`).
final class FuseServer {
    let process = Process()
    let root: URL
    let socket: String
    let mountPoint: String
    private var mounts: [String] = []
    private var loops: [String] = []

    init(params: [String] = []) throws {
        if let missing = FuseTestSupport.missingPrerequisite {
            Issue.record("FUSE end-to-end test cannot run: \(missing)")
            throw CocoaError(.featureUnsupported)
        }
        root = try CLITestSupport.temporaryDirectory()
        socket = root.appendingPathComponent("sim.sock").path
        mountPoint = (canonicalPath(root.path) ?? root.path) + "/fuse"
        guard let binary = CLITestSupport.binary else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = binary
        process.arguments = ["sim", "serve", "--root", root.appendingPathComponent("state").path, "--socket", socket,
                             "--mount", mountPoint, "--param", "chunk_minimum_shift=16"]
            + params.flatMap { ["--param", $0] }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, process.isRunning {
            if access(socket, F_OK) == 0, MountTable.isMountPoint(mountPoint) { return }
            usleep(20_000)
        }
        cleanUp()
        Issue.record("sim serve --mount did not come up (exit \(process.isRunning ? -1 : process.terminationStatus))")
        throw CocoaError(.fileReadUnknown)
    }

    /// `blksnapctl ARGS --sim SOCKET`, which must succeed; its trimmed stdout.
    @discardableResult
    func ctl(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let outcome = try CLITestSupport.run(arguments + ["--sim", socket])
        try #require(outcome.status == 0, "blksnapctl \(arguments.joined(separator: " ")) failed (\(outcome.status)): \(outcome.stderr)",
                     sourceLocation: sourceLocation)
        return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A loop device over a device or image file (`sim loop attach`).
    func attachLoop(_ device: String, writable: Bool = false) throws -> String {
        let loop = try ctl(["sim", "loop", "attach", device] + (writable ? ["--writable"] : []))
        try #require(loop.hasPrefix("/dev/loop"), "sim loop attach printed '\(loop)'")
        loops.append(loop)
        return loop
    }

    /// Detaches a loop device (`sim loop detach`).
    func detachLoop(_ loop: String) throws {
        try ctl(["sim", "loop", "detach", loop])
        loops.removeAll { $0 == loop }
    }

    /// Mounts `device` on a fresh directory and returns it.
    func mount(_ device: String, options: String? = nil) throws -> String {
        let directory = root.appendingPathComponent("mnt-\(mounts.count)-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FuseTestSupport.require(["mount"] + (options.map { ["-o", $0] } ?? []) + [device, directory])
        mounts.append(directory)
        return directory
    }

    /// Unmounts a directory mounted by ``mount(_:options:)``.
    ///
    /// "target is busy" can be transient while the suite runs in parallel: a process that
    /// another test spawns at that moment may briefly inherit a descriptor of a file in the
    /// mount. Retried for up to 10 s before it counts as a failure.
    func unmount(_ directory: String) throws {
        let deadline = Date().addingTimeInterval(10)
        while try FuseTestSupport.tool(["umount", directory]).status != 0 {
            if Date() >= deadline {
                try FuseTestSupport.require(["umount", directory])  // the failure, with its message
                break
            }
            usleep(200_000)
        }
        mounts.removeAll { $0 == directory }
    }

    /// The image path of a device's snapshot (`snapshot info --json`).
    func imagePath(of device: String) throws -> String {
        let json = try ctl(["snapshot", "info", device, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return try #require(object["image"] as? String)
    }

    /// Names in `MOUNTPOINT/dev`.
    var exportedNames: Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: mountPoint + "/dev")) ?? [])
    }

    /// SIGTERM; the exit status.
    func terminate() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Unmounts, detaches and stops everything this fixture started (lazily, ignoring errors).
    func cleanUp() {
        for directory in mounts.reversed() { _ = try? FuseTestSupport.tool(["umount", "-l", directory]) }
        // Only loop devices still bound to this server's files: a recorded one may have been
        // detached already (by the server on SIGTERM) and reused by another test since.
        let ours = Set(LoopBacking.bound(under: mountPoint).map(\.device))
        for loop in loops.reversed() where ours.contains(loop) { _ = try? FuseTestSupport.tool(["losetup", "-d", loop]) }
        mounts = []
        loops = []
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        if MountTable.isMountPoint(mountPoint) { _ = try? FuseTestSupport.tool(["fusermount3", "-u", "-z", mountPoint]) }
        try? FileManager.default.removeItem(at: root)
    }
}
