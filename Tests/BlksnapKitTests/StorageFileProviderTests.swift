#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemPackage
import Testing
@testable import BlksnapKit

/// `O_DIRECT` on Linux x86_64 and arm64 (not exported by Glibc's module).
let oDirect: Int32 = 0o40000

/// Whether the real filesystem tests can run here, and whether they must (CI=true);
/// the tools they run. Shared by every loop-device test of this target.
enum RealFilesystem {
    static let tools = ["losetup", "mkfs.ext4", "mount", "umount"]
    static let isAvailable: Bool =
        getuid() == 0 && access("/dev/loop-control", R_OK | W_OK) == 0 && tools.allSatisfy { path($0) != nil }
    static let isRequired = ProcessInfo.processInfo.environment["CI"] == "true"
    static let shouldRun = isAvailable || isRequired
    static let reason = "needs root, /dev/loop-control, losetup, mkfs.ext4 (e2fsprogs), mount"

    static func require() throws {
        try #require(isAvailable, "CI=true but this machine lacks what the file-provider tests need: \(reason)")
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

    /// Cleanup unmount that records no test issue: "target is busy" can be transient while
    /// the whole suite runs in parallel (a process another test spawns at that moment may
    /// briefly hold a descriptor inherited from this process), so retry for up to 10 s,
    /// then detach the mount lazily.
    static func unmountQuietly(_ mountPoint: String) {
        guard let umount = path("umount") else { return }
        func attempt(_ arguments: [String]) -> Bool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: umount)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return false }
            process.waitUntilExit()
            return process.terminationStatus == 0
        }
        let deadline = Date().addingTimeInterval(10)
        while !attempt([mountPoint]) {
            if Date() >= deadline { _ = attempt(["-l", mountPoint]); return }
            usleep(200_000)
        }
    }
}

/// A loop device over a sparse file, optionally with ext4 mounted on it.
private final class LoopFilesystem {
    let backing: String
    let device: String
    var mountPoint: String?

    init(sizeBytes: Int, ext4: Bool, backingDirectory: String = "/tmp") throws {
        backing = "\(backingDirectory)/blksnap-storage-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img"
        let fd = open(backing, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        ftruncate(fd, off_t(sizeBytes))
        close(fd)
        do {
            device = try RealFilesystem.run("losetup", ["-f", "--show", backing])
        } catch {
            unlink(backing)
            throw error
        }
        if ext4 {
            do {
                try RealFilesystem.run("mkfs.ext4", ["-q", "-F", "-b", "4096", device])
                let directory = "/tmp/blksnap-mnt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                mkdir(directory, 0o700)
                try RealFilesystem.run("mount", [device, directory])
                mountPoint = directory
            } catch {
                cleanUp()
                throw error
            }
        }
    }

    func cleanUp() {
        if let mountPoint {
            RealFilesystem.unmountQuietly(mountPoint)
            rmdir(mountPoint)
            self.mountPoint = nil
        }
        _ = try? RealFilesystem.run("losetup", ["-d", device])
        unlink(backing)
    }
}

@Suite("File storage provider on a real ext4 (loop device)", .serialized,
       .enabled(if: RealFilesystem.shouldRun, "\(RealFilesystem.reason)"))
struct StorageFileProviderTests {
    @Test("fallocated, pinned, FIEMAP-mapped: a pattern written to the raw device reads back through the file")
    func mappingIsRight() throws {
        try RealFilesystem.require()
        let filesystem = try LoopFilesystem(sizeBytes: 64 << 20, ext4: true)
        defer { filesystem.cleanUp() }
        let other = try LoopFilesystem(sizeBytes: 8 << 20, ext4: false)  // the "snapshotted" device
        defer { other.cleanUp() }
        let directory = try #require(filesystem.mountPoint)
        let provider = try FileStorageProvider(directory: directory, snapshottedDevices: [other.device],
                                               preparation: .zeroFill)
        #expect(provider.devicePath == filesystem.device)
        // Ask for 3 MiB plus a bit: rounded up to the 4 KiB filesystem block.
        let portion = try #require(try provider.nextPortion(minimumSectors: 6145))
        #expect(portion.devicePath == filesystem.device)
        #expect(portion.countSectors == 6152)
        let file = try #require(provider.files.first)
        #expect(file.sizeBytes == 6152 * 512)
        #expect(access(file.path, F_OK) == 0)
        // Pinned: the immutable flag refuses unlink even to root.
        #expect(file.isImmutable)
        #expect(unlink(file.path) == -1 && errno == EPERM)
        #expect(file.extents.allSatisfy { $0.unusableReason == nil })

        // Write a pattern to the raw device at the mapped sectors (oDirect, no cache).
        let blockBytes = 4096
        var pattern = [UInt8](repeating: 0, count: Int(file.sizeBytes))
        for index in pattern.indices { pattern[index] = UInt8(truncatingIfNeeded: (index / 512) &* 31 &+ index &* 7) }
        let raw = open(filesystem.device, O_RDWR | oDirect)
        try #require(raw >= 0, "open \(filesystem.device): errno \(errno)")
        defer { close(raw) }
        var aligned: UnsafeMutableRawPointer?
        try #require(posix_memalign(&aligned, blockBytes, pattern.count + blockBytes) == 0)
        defer { free(aligned) }
        let buffer = UnsafeMutableRawBufferPointer(start: aligned, count: pattern.count + blockBytes)
        var fileOffset = 0
        for range in portion.ranges {
            let count = Int(range.countBytes)
            pattern[fileOffset..<fileOffset + count].withUnsafeBytes { buffer.copyMemory(from: $0) }
            #expect(count % blockBytes == 0)
            #expect(pwrite(raw, aligned, count, off_t(range.offsetBytes)) == count)
            fileOffset += count
        }
        #expect(fileOffset == pattern.count)
        fsync(raw)

        // Read back through the file, bypassing its page cache.
        let reader = open(file.path, O_RDONLY | oDirect)
        try #require(reader >= 0, "open \(file.path): errno \(errno)")
        defer { close(reader) }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let padded = (pattern.count + blockBytes - 1) / blockBytes * blockBytes
        let read = pread(reader, aligned, padded, 0)
        #expect(read == pattern.count)
        #expect(Array(buffer[0..<pattern.count]) == pattern)

        try provider.release()
        #expect(access(file.path, F_OK) != 0)
        #expect(provider.files.isEmpty)
        try provider.release()  // idempotent
    }

    @Test("fallocate only: extents are unwritten (accepted) and the mapping covers the file")
    func unwrittenExtentsAccepted() throws {
        try RealFilesystem.require()
        let filesystem = try LoopFilesystem(sizeBytes: 64 << 20, ext4: true)
        defer { filesystem.cleanUp() }
        let provider = try FileStorageProvider(directory: try #require(filesystem.mountPoint), snapshottedDevices: [])
        let first = try #require(try provider.nextPortion(minimumSectors: 8192))
        let second = try #require(try provider.nextPortion(minimumSectors: 8192))
        #expect(first.countSectors == 8192 && second.countSectors == 8192)
        #expect(provider.files.count == 2)
        for file in provider.files {
            #expect(file.extents.contains { $0.flags & FileExtent.unwrittenFlag != 0 })
            #expect(file.ranges.reduce(0) { $0 + $1.countBytes } == file.sizeBytes)
        }
        // Two files never share sectors.
        let a = Set(first.ranges.flatMap { Array($0.offsetSectors..<$0.endSectors) })
        #expect(second.ranges.allSatisfy { range in !(range.offsetSectors..<range.endSectors).contains { a.contains($0) } })
        let paths = provider.files.map(\.path)
        try provider.release()
        #expect(paths.allSatisfy { access($0, F_OK) != 0 })
    }

    @Test("a directory on a snapshotted device (or its whole disk) is refused")
    func refusedOnSnapshottedDevice() throws {
        try RealFilesystem.require()
        let filesystem = try LoopFilesystem(sizeBytes: 64 << 20, ext4: true)
        defer { filesystem.cleanUp() }
        let directory = try #require(filesystem.mountPoint)
        #expect {
            _ = try FileStorageProvider(directory: directory, snapshottedDevices: [filesystem.device])
        } throws: { error in
            guard let error = error as? StorageError else { return false }
            return error.kind == .onSnapshottedDevice && error.errno == .resourceBusy
                && error.description.contains(filesystem.device)
        }
        // By device number too.
        var status = stat()
        #expect(stat(filesystem.device, &status) == 0)
        let number = DeviceNumber(rawValue: UInt64(status.st_rdev))
        #expect(throws: StorageError.self) {
            _ = try FileStorageProvider(directory: directory, snapshottedDevices: [number.description])
        }
        // Nothing was created.
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!entries.contains { $0.hasPrefix(".blksnap-diff") })
    }

    @Test("a filesystem on a loop device whose backing file lives on the snapshotted device is refused")
    func refusedThroughLoopBackingFile() throws {
        try RealFilesystem.require()
        let outer = try LoopFilesystem(sizeBytes: 64 << 20, ext4: true)
        defer { outer.cleanUp() }
        let inner = try LoopFilesystem(sizeBytes: 16 << 20, ext4: true, backingDirectory: try #require(outer.mountPoint))
        defer { inner.cleanUp() }
        let directory = try #require(inner.mountPoint)
        #expect {
            _ = try FileStorageProvider(directory: directory, snapshottedDevices: [outer.device])
        } throws: { error in
            guard let error = error as? StorageError else { return false }
            return error.kind == .onSnapshottedDevice && error.message.contains("is backed by")
                && error.message.contains(outer.device)
        }
        // The inner device alone is fine to store on when only an unrelated device is snapshotted.
        let unrelated = try LoopFilesystem(sizeBytes: 8 << 20, ext4: false)
        defer { unrelated.cleanUp() }
        let provider = try FileStorageProvider(directory: directory, snapshottedDevices: [unrelated.device])
        #expect(provider.devicePath == inner.device)
    }

    @Test("a directory on a filesystem without a block device (tmpfs) is refused")
    func refusedWithoutBlockDevice() throws {
        try RealFilesystem.require()
        guard access("/dev/shm", W_OK) == 0 else { return }
        #expect {
            _ = try FileStorageProvider(directory: "/dev/shm", snapshottedDevices: [])
        } throws: { error in
            (error as? StorageError)?.kind == .noBlockDevice
        }
    }

    @Test("pure: conflicts between a filesystem's device and snapshotted devices")
    func conflictRules() {
        func record(_ major: UInt32, _ minor: UInt32, disk: DeviceNumber? = nil) -> BlockDeviceRecord {
            BlockDeviceRecord(devnodePath: "/dev/x\(minor)", sysname: "x\(minor)", syspath: "/sys/x",
                              deviceNumber: DeviceNumber(major: major, minor: minor), capacitySectors: 1,
                              logicalBlockSizeBytes: 512, isPartition: disk != nil, wholeDisk: disk,
                              wholeDiskSysname: nil, filterName: nil)
        }
        let disk = record(8, 0)
        let part1 = record(8, 1, disk: disk.deviceNumber)
        let part2 = record(8, 2, disk: disk.deviceNumber)
        #expect(FileStorageProvider.conflict(filesystem: part1, member: part1) != nil)
        #expect(FileStorageProvider.conflict(filesystem: part1, member: disk) != nil)
        #expect(FileStorageProvider.conflict(filesystem: disk, member: part1) != nil)
        #expect(FileStorageProvider.conflict(filesystem: part1, member: part2) == nil)
        #expect(FileStorageProvider.conflict(filesystem: record(9, 0), member: disk) == nil)
    }

    @Test("pure: extent checks reject holes, unaligned and unusable extents, merge adjacent ones")
    func extentRules() throws {
        let plain = [FileExtent(logicalBytes: 0, physicalBytes: 4096, lengthBytes: 4096, flags: FileExtent.unwrittenFlag),
                     FileExtent(logicalBytes: 4096, physicalBytes: 8192, lengthBytes: 4096, flags: FileExtent.lastFlag)]
        #expect(try FileStorageProvider.ranges(of: plain, sizeBytes: 8192, blockBytes: 4096, path: "f")
                == [SectorRange(offsetSectors: 8, countSectors: 16)])
        for flag: UInt32 in [0x2, 0x4, 0x8, 0x80, 0x100, 0x200, 0x400, 0x2000] {
            let bad = [FileExtent(logicalBytes: 0, physicalBytes: 4096, lengthBytes: 8192, flags: flag)]
            #expect(throws: StorageError.self) {
                try FileStorageProvider.ranges(of: bad, sizeBytes: 8192, blockBytes: 4096, path: "f")
            }
        }
        let hole = [FileExtent(logicalBytes: 4096, physicalBytes: 4096, lengthBytes: 4096, flags: 0)]
        #expect(throws: StorageError.self) { try FileStorageProvider.ranges(of: hole, sizeBytes: 8192, blockBytes: 4096, path: "f") }
        let unaligned = [FileExtent(logicalBytes: 0, physicalBytes: 4096 + 512, lengthBytes: 8192, flags: 0)]
        #expect(throws: StorageError.self) { try FileStorageProvider.ranges(of: unaligned, sizeBytes: 8192, blockBytes: 4096, path: "f") }
        let short = [FileExtent(logicalBytes: 0, physicalBytes: 4096, lengthBytes: 4096, flags: 0)]
        #expect(throws: StorageError.self) { try FileStorageProvider.ranges(of: short, sizeBytes: 8192, blockBytes: 4096, path: "f") }
    }
}
