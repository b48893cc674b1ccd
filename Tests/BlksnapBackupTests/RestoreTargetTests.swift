@testable import BlksnapBackup
import BlksnapSimulator
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Restore onto block devices (loop devices): refused when mounted or smaller, exact
/// otherwise. Needs root and losetup; skipped with the reason otherwise, required under CI=true.
@Suite("restore onto block devices", .serialized, .enabled(if: LoopDevices.shouldRun, "\(LoopDevices.reason)"))
struct RestoreTargetTests {
    /// A backup of an 8 MiB device with random content, in a new repository.
    static func backup(in directory: TemporaryDirectory) throws -> (BackupRepository, Int64, [UInt8]) {
        let fixture = try BackupRunTests.Fixture()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        try fixture.write(DataPattern(seed: 21).bytes(atByte: 0, count: BackupRunTests.deviceBytes), at: 0)
        let record = try #require(try fixture.run(repository).records.first)
        return (repository, try #require(record.id), try fixture.contents())
    }

    @Test("a mounted device is refused and left alone")
    func mounted() throws {
        try LoopDevices.require()
        let directory = try TemporaryDirectory()
        let (repository, id, _) = try Self.backup(in: directory)
        let loop = try LoopDevice(sizeBytes: 16 << 20, directory: directory.path)
        defer { loop.cleanUp() }
        try LoopDevices.run("mkfs.ext4", ["-q", "-F", loop.device])
        let mountPoint = directory.path + "/mnt"
        mkdir(mountPoint, 0o700)
        try LoopDevices.run("mount", [loop.device, mountPoint])
        loop.mountPoint = mountPoint
        let before = try LoopDevices.run("blkid", ["-o", "value", "-s", "UUID", loop.device])
        do {
            _ = try BackupRestorer(repository: repository).restore(id: id, to: loop.device)
            Issue.record("restore onto a mounted device succeeded")
        } catch {
            #expect(error.kind == .refused)
            #expect(error.errno == .resourceBusy)
            #expect(error.message.contains("mounted on \(mountPoint)"), "\(error.message)")
        }
        #expect(try LoopDevices.run("blkid", ["-o", "value", "-s", "UUID", loop.device]) == before, "the filesystem is untouched")
    }

    @Test("a smaller device is refused; one of the right size receives the exact point in time")
    func smallerAndExact() throws {
        try LoopDevices.require()
        let directory = try TemporaryDirectory()
        let (repository, id, expected) = try Self.backup(in: directory)
        let small = try LoopDevice(sizeBytes: 4 << 20, directory: directory.path)
        defer { small.cleanUp() }
        do {
            _ = try BackupRestorer(repository: repository).restore(id: id, to: small.device)
            Issue.record("restore onto a smaller device succeeded")
        } catch {
            #expect(error.errno == .noSpace)
            #expect(error.message.contains("has \(4 << 20) bytes, the backup \(8 << 20)"), "\(error.message)")
        }
        let exact = try LoopDevice(sizeBytes: 8 << 20, directory: directory.path, fill: 0xFF)
        defer { exact.cleanUp() }
        let summary = try BackupRestorer(repository: repository).restore(id: id, to: exact.device)
        #expect(summary.isBlockDevice)
        #expect(summary.bytesWritten == UInt64(8 << 20), "a device gets every byte, zeroes included")
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: exact.device))
        let data = try handle.read(upToCount: 8 << 20) ?? Data()
        try handle.close()
        #expect(data == Data(expected))
    }
}

enum LoopDevices {
    static let tools = ["losetup", "mkfs.ext4", "mount", "umount", "blkid"]
    static let isAvailable: Bool =
        getuid() == 0 && access("/dev/loop-control", R_OK | W_OK) == 0 && tools.allSatisfy { path($0) != nil }
    static let isRequired = ProcessInfo.processInfo.environment["CI"] == "true"
    static let shouldRun = isAvailable || isRequired
    static let reason = "skipped: needs root, /dev/loop-control, losetup, mkfs.ext4 (e2fsprogs), mount, blkid"

    static func require() throws {
        try #require(isAvailable, "CI=true but this machine lacks what the restore-target tests need: \(reason)")
    }

    static func path(_ name: String) -> String? {
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] where access("\(directory)/\(name)", X_OK) == 0 {
            return "\(directory)/\(name)"
        }
        return nil
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path(tool), "\(tool) not found"))
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        try #require(process.terminationStatus == 0, "\(tool) \(arguments.joined(separator: " ")) failed: \(text)")
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A loop device over a file of `sizeBytes`, optionally filled.
final class LoopDevice {
    let backing: String
    let device: String
    var mountPoint: String?

    init(sizeBytes: Int, directory: String, fill: UInt8? = nil) throws {
        backing = "\(directory)/loop-\(UInt32.random(in: 0...UInt32.max)).img"
        if let fill {
            try Data(repeating: fill, count: sizeBytes).write(to: URL(fileURLWithPath: backing))
        } else {
            let fd = open(backing, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(fd >= 0)
            ftruncate(fd, off_t(sizeBytes))
            close(fd)
        }
        device = try LoopDevices.run("losetup", ["-f", "--show", backing])
    }

    func cleanUp() {
        if let mountPoint {
            for _ in 0..<50 {
                if (try? LoopDevices.run("umount", [mountPoint])) != nil { break }
                usleep(200_000)
            }
            self.mountPoint = nil
        }
        _ = try? LoopDevices.run("losetup", ["-d", device])
        unlink(backing)
    }
}
