#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import Foundation
import SystemPackage
import Testing
@testable import BlksnapKit

/// ext4 on a loop device over a sparse file in /tmp.
private final class AppendFileExt4 {
    let backing: String
    let device: String
    let mountPoint: String

    init() throws {
        backing = "/tmp/blksnap-appendfile-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img"
        let fd = open(backing, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        ftruncate(fd, 64 << 20)
        close(fd)
        do {
            device = try RealFilesystem.run("losetup", ["-f", "--show", backing])
        } catch {
            unlink(backing)
            throw error
        }
        mountPoint = "/tmp/blksnap-appendfile-mnt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try RealFilesystem.run("mkfs.ext4", ["-q", "-F", "-b", "4096", device])
            mkdir(mountPoint, 0o700)
            try RealFilesystem.run("mount", [device, mountPoint])
        } catch {
            rmdir(mountPoint)
            _ = try? RealFilesystem.run("losetup", ["-d", device])
            unlink(backing)
            throw error
        }
    }

    /// Clears the immutable flag of every file left, unmounts, detaches, removes.
    func cleanUp(files: [String]) {
        for file in files {
            let fd = open(file, O_RDONLY)
            if fd >= 0 { FileStorageProvider.unpin(fd: fd); close(fd) }
        }
        RealFilesystem.unmountQuietly(mountPoint)
        rmdir(mountPoint)
        _ = try? RealFilesystem.run("losetup", ["-d", device])
        unlink(backing)
    }
}

/// The immutable flag of `path` (FS_IOC_GETFLAGS), or nil.
private func isImmutable(_ path: String) -> Bool? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var flags: Int64 = 0
    let ok = withUnsafeMutableBytes(of: &flags) { bytes in
        (try? LinuxKernel().ioctl(fd, BLKSNAP_REQ_FS_IOC_GETFLAGS, bytes.baseAddress!)) != nil
    }
    guard ok else { return nil }
    return Int32(truncatingIfNeeded: flags) & 0x10 != 0  // FS_IMMUTABLE_FL
}

@Suite("append-storage --file: pin + FIEMAP + APPEND_STORAGE on a real ext4 (loop device)", .serialized,
       .enabled(if: RealFilesystem.shouldRun, "\(RealFilesystem.reason)"))
struct AppendFileKitTests {
    @Test("the ranges sent to APPEND_STORAGE are the file's FIEMAP extents on the loop device, and hold the file's data")
    func rangesAreTheFilesSectors() throws {
        try #require(RealFilesystem.isAvailable, "CI=true but this machine lacks: \(RealFilesystem.reason)")
        let filesystem = try AppendFileExt4()
        let path = filesystem.mountPoint + "/storage"
        defer { filesystem.cleanUp(files: [path]) }
        // A written file (so its data can be found again on the raw device): 1 MiB + 12 KiB.
        let sizeBytes = (1 << 20) + 3 * 4096
        var pattern = [UInt8](repeating: 0, count: sizeBytes)
        for index in pattern.indices { pattern[index] = UInt8(truncatingIfNeeded: (index / 512) &* 13 &+ index &* 5) }
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        #expect(pattern.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == sizeBytes)
        #expect(fsync(fd) == 0)
        close(fd)

        let pinned = try PinnedStorageFile.pin(path: path)
        #expect(pinned.devicePath == filesystem.device)
        #expect(pinned.sizeBytes == UInt64(sizeBytes))
        #expect(pinned.isImmutable)
        #expect(isImmutable(path) == true)
        #expect(unlink(path) == -1 && errno == EPERM, "pinned: even root cannot remove it")
        #expect(pinned.countSectors == UInt64(sizeBytes / 512))

        // FIEMAP again, independently: merged extents must equal the pinned ranges.
        let check = open(path, O_RDONLY)
        try #require(check >= 0)
        let extents = try FileExtentMapper.extents(of: check, path: path)
        close(check)
        var expected: [SectorRange] = []
        for extent in extents.sorted(by: { $0.logicalBytes < $1.logicalBytes }) where extent.logicalBytes < UInt64(sizeBytes) {
            let count = min(extent.lengthBytes, UInt64(sizeBytes) - extent.logicalBytes) / 512
            if let last = expected.last, last.offsetSectors + last.countSectors == extent.physicalBytes / 512 {
                expected[expected.count - 1].countSectors += count
            } else {
                expected.append(SectorRange(offsetSectors: extent.physicalBytes / 512, countSectors: count))
            }
        }
        #expect(pinned.ranges == expected)

        // The guard's own checks against the real loop device: inside it, aligned, disjoint, untracked.
        let warnings = try StorageGuard.check(kernel: LinuxKernel(), devicePath: pinned.devicePath, ranges: pinned.ranges)
        #expect(warnings.isEmpty)

        // The file's data is at those sectors of the raw device.
        let raw = open(filesystem.device, O_RDONLY | oDirect)
        try #require(raw >= 0, "open \(filesystem.device): errno \(errno)")
        defer { close(raw) }
        var aligned: UnsafeMutableRawPointer?
        try #require(posix_memalign(&aligned, 4096, sizeBytes) == 0)
        defer { free(aligned) }
        var fileOffset = 0
        for range in pinned.ranges {
            let bytes = Int(range.countSectors * 512)
            #expect(pread(raw, aligned, bytes, off_t(range.offsetSectors * 512)) == bytes)
            let read = Array(UnsafeRawBufferPointer(start: aligned, count: bytes))
            #expect(read == Array(pattern[fileOffset..<fileOffset + bytes]), "range \(range) holds file bytes \(fileOffset)…")
            fileOffset += bytes
        }
        #expect(fileOffset == sizeBytes)

        // The append itself, through a recording kernel: exactly the device path and the ranges.
        let kernel = RecordingKernel()
        kernel.failOpen(pinned.devicePath, with: .noSuchFileOrDirectory)  // guard already checked above
        kernel.script(.ok())
        let control = try Control(kernel: kernel)
        let id = try #require(SnapshotID(rawValue: Array(1...16)))
        try pinned.append(to: id, control: control)
        let call = try #require(kernel.calls.last)
        #expect(call.pointees["bdev_path"] == Array((filesystem.device + "\0").utf8))
        var rangeBytes: [UInt8] = []
        for range in expected {
            withUnsafeBytes(of: range.offsetSectors.littleEndian) { rangeBytes += $0 }
            withUnsafeBytes(of: range.countSectors.littleEndian) { rangeBytes += $0 }
        }
        #expect(call.pointees["ranges"] == rangeBytes)
        #expect(isImmutable(path) == true, "still pinned after a successful append")
    }

    @Test("a failed append unpins the file again")
    func failedAppendUnpins() throws {
        try #require(RealFilesystem.isAvailable, "CI=true but this machine lacks: \(RealFilesystem.reason)")
        let filesystem = try AppendFileExt4()
        let path = filesystem.mountPoint + "/storage"
        defer { filesystem.cleanUp(files: [path]) }
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        #expect(posix_fallocate(fd, 0, 1 << 20) == 0)
        close(fd)
        let pinned = try PinnedStorageFile.pin(path: path)
        #expect(isImmutable(path) == true)
        let kernel = RecordingKernel()
        kernel.failOpen(pinned.devicePath, with: .noSuchFileOrDirectory)
        kernel.script(.fail(.noSuchFileOrDirectory))
        let control = try Control(kernel: kernel)
        let id = try #require(SnapshotID(rawValue: Array(1...16)))
        #expect(throws: BlksnapError.self) { try pinned.append(to: id, control: control) }
        #expect(isImmutable(path) == false)
        #expect(unlink(path) == 0)
    }

    @Test("a sparse file (a hole) is refused and left unpinned; a directory and an odd size are refused")
    func refusals() throws {
        try #require(RealFilesystem.isAvailable, "CI=true but this machine lacks: \(RealFilesystem.reason)")
        let filesystem = try AppendFileExt4()
        let sparse = filesystem.mountPoint + "/sparse"
        let odd = filesystem.mountPoint + "/odd"
        defer { filesystem.cleanUp(files: [sparse, odd]) }
        var fd = open(sparse, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        ftruncate(fd, 1 << 20)
        close(fd)
        #expect {
            try PinnedStorageFile.pin(path: sparse)
        } throws: { ($0 as? StorageError)?.kind == .unusableExtent }
        #expect(isImmutable(sparse) == false)
        #expect {
            try PinnedStorageFile.pin(path: filesystem.mountPoint)
        } throws: { ($0 as? StorageError)?.errno == .invalidArgument }
        fd = open(odd, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        #expect(posix_fallocate(fd, 0, 1000) == 0)
        close(fd)
        #expect {
            try PinnedStorageFile.pin(path: odd)
        } throws: { ($0 as? StorageError)?.errno == .invalidArgument }
        #expect(isImmutable(odd) == false)
    }
}
