import Foundation
import SimFuse
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real filesystems on loop devices over the FUSE export of `sim serve --mount`:
/// freeze, take, thaw, change, then the image (through another loop device) holds
/// exactly the files of take time and the original every later change.
/// Needs root, /dev/fuse and loop devices; under `CI=true` a missing one fails.
@Suite(.serialized, .enabled(if: FuseTestSupport.enabled,
                             "FUSE end-to-end tests need root, /dev/fuse, loop devices, e2fsprogs, fuse3 and a built blksnapctl"))
struct FuseEndToEndTests {
    /// How to make, check and mount one kind of filesystem.
    struct FileSystem: Sendable, CustomStringConvertible {
        var name: String
        var make: @Sendable (String) -> [String]
        var check: @Sendable (String) -> [String]
        /// Mount options for the image (a second copy of the same filesystem UUID).
        var imageOptions: String?
        /// Read-only mount options that do not replay the journal.
        var noReplayOptions: String

        var description: String { name }

        static let ext4 = FileSystem(name: "ext4", make: { ["mkfs.ext4", "-q", "-F", $0] },
                                     check: { ["e2fsck", "-fn", $0] }, imageOptions: nil,
                                     noReplayOptions: "ro,noload")
        static let xfs = FileSystem(name: "xfs", make: { ["mkfs.xfs", "-q", "-f", $0] },
                                    check: { ["xfs_repair", "-n", $0] }, imageOptions: "nouuid",
                                    noReplayOptions: "ro,norecovery,nouuid")
    }

    /// Relative path → content of every regular file under `directory` (lost+found excluded).
    static func files(under directory: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = try #require(FileManager.default.enumerator(atPath: directory))
        while let relative = enumerator.nextObject() as? String {
            if relative == "lost+found" { enumerator.skipDescendants(); continue }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + relative))
            }
        }
        return result
    }

    /// `count` pseudo-random bytes (seeded, so a failure reproduces).
    static func bytes(_ count: Int, seed: UInt64) -> Data {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        return Data(bytes)
    }

    static func write(_ data: Data, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Files written before the take.
    static func writeInitialFiles(in directory: String, seed: UInt64) throws -> [String: Data] {
        let files = ["a.bin": bytes(1 << 20, seed: seed), "b.bin": bytes(256 << 10, seed: seed + 1),
                     "c.bin": bytes(3 << 20, seed: seed + 2), "sub/d.txt": Data("kept \(seed)\n".utf8)]
        for (name, data) in files { try write(data, to: directory + "/" + name) }
        return files
    }

    /// Delete, overwrite, append and create after the take; the expected new content.
    static func changeFiles(in directory: String, from before: [String: Data], seed: UInt64) throws -> [String: Data] {
        var after = before
        try FileManager.default.removeItem(atPath: directory + "/a.bin")
        after["a.bin"] = nil
        after["b.bin"] = bytes(256 << 10, seed: seed + 10)
        try write(after["b.bin"]!, to: directory + "/b.bin")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/c.bin"))
        try handle.seekToEnd()
        let tail = bytes(512 << 10, seed: seed + 11)
        try handle.write(contentsOf: tail)
        try handle.close()
        after["c.bin"]!.append(tail)
        after["e.bin"] = bytes(2 << 20, seed: seed + 12)
        try write(after["e.bin"]!, to: directory + "/e.bin")
        _ = try FuseTestSupport.tool(["sync"])
        return after
    }

    /// The whole scenario over `diskCount` disks in one snapshot.
    func snapshotOfMountedFileSystems(_ fileSystem: FileSystem, diskCount: Int, diskSize: String) throws {
        let server = try FuseServer()
        defer { server.cleanUp() }
        try server.ctl(["sim", "device", "add", "store", "--size", "1G"])
        let disks = (0..<diskCount).map { "/dev/disk\($0)" }
        var loops: [String] = [], mounts: [String] = [], before: [[String: Data]] = []
        for (index, disk) in disks.enumerated() {
            try server.ctl(["sim", "device", "add", String(disk.dropFirst(5)), "--size", diskSize])
            let loop = try server.attachLoop(disk)
            try FuseTestSupport.require(fileSystem.make(loop))
            let directory = try server.mount(loop)
            before.append(try Self.writeInitialFiles(in: directory, seed: UInt64(index) * 100))
            loops.append(loop)
            mounts.append(directory)
        }
        // Freeze, take, thaw: the image holds a consistent filesystem.
        let id = try server.ctl(["snapshot", "create"] + disks)
        try server.ctl(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:2000000"])
        for directory in mounts { try FuseTestSupport.require(["fsfreeze", "-f", directory]) }
        let taken = try CLITestSupport.run(["snapshot", "take", id, "--sim", server.socket])
        for directory in mounts { try FuseTestSupport.require(["fsfreeze", "-u", directory]) }
        try #require(taken.status == 0, "take: \(taken.stderr)")
        var after: [[String: Data]] = []
        for (index, directory) in mounts.enumerated() {
            after.append(try Self.changeFiles(in: directory, from: before[index], seed: UInt64(index) * 100))
        }
        // Every image: appears in the export, checks clean after journal replay, holds
        // exactly the files of take time.
        for (index, disk) in disks.enumerated() {
            let image = try server.imagePath(of: disk)
            #expect(server.exportedNames.contains(String(image.dropFirst(5))), "the image appears at take")
            // Read-only (the default for images), without journal replay.
            let readOnlyLoop = try server.attachLoop(image)
            #expect(try FuseTestSupport.require(["blockdev", "--getro", readOnlyLoop]).hasPrefix("1"), "images attach read-only")
            let noReplay = try server.mount(readOnlyLoop, options: fileSystem.noReplayOptions)
            let seen = try Self.files(under: noReplay)
            #expect(Set(seen.keys) == Set(before[index].keys), "\(fileSystem.noReplayOptions): the files of take time")
            for (name, data) in before[index] { #expect(seen[name] == data, "\(disk) image (no replay): \(name)") }
            try server.unmount(noReplay)
            try server.detachLoop(readOnlyLoop)
            let imageLoop = try server.attachLoop(image, writable: true)
            let replay = try server.mount(imageLoop, options: fileSystem.imageOptions)  // replays the journal into the image
            try server.unmount(replay)
            let check = try FuseTestSupport.tool(fileSystem.check(imageLoop))
            #expect(check.status == 0, "\(fileSystem) image of \(disk) checks clean: \(check.stdout)\(check.stderr)")
            let readOnly = try server.mount(imageLoop, options: (["ro"] + (fileSystem.imageOptions.map { [$0] } ?? [])).joined(separator: ","))
            let found = try Self.files(under: readOnly)
            #expect(Set(found.keys) == Set(before[index].keys), "exactly the files of take time")
            for (name, data) in before[index] { #expect(found[name] == data, "\(disk) image: \(name) as at take") }
            try server.unmount(readOnly)
            try server.detachLoop(imageLoop)
        }
        try server.ctl(["snapshot", "destroy", id])
        #expect(server.exportedNames.intersection(disks.map { String($0.dropFirst(5)) }).count == diskCount)
        #expect(!server.exportedNames.contains { $0.hasPrefix("blksnap-image_") }, "images vanish at destroy")
        // The originals: clean, and every later change is there.
        for (index, loop) in loops.enumerated() {
            try server.unmount(mounts[index])
            let check = try FuseTestSupport.tool(fileSystem.check(loop))
            #expect(check.status == 0, "original \(disks[index]) checks clean: \(check.stdout)\(check.stderr)")
            let directory = try server.mount(loop)
            let found = try Self.files(under: directory)
            #expect(Set(found.keys) == Set(after[index].keys), "original \(disks[index]) has every change")
            for (name, data) in after[index] { #expect(found[name] == data, "original \(disks[index]): \(name)") }
            try server.unmount(directory)
            try server.detachLoop(loop)
        }
        #expect(server.terminate() == 0)
        #expect(!MountTable.isMountPoint(server.mountPoint), "unmounted on SIGTERM")
    }

    @Test("ext4: the image of a frozen filesystem holds exactly the files of take time")
    func ext4OneDisk() throws {
        try snapshotOfMountedFileSystems(.ext4, diskCount: 1, diskSize: "128M")
    }

    @Test("ext4 on two disks in one snapshot")
    func ext4TwoDisks() throws {
        try snapshotOfMountedFileSystems(.ext4, diskCount: 2, diskSize: "128M")
    }

    @Test("XFS (image mounted with nouuid)",
          .enabled(if: FuseTestSupport.xfsAvailable, "xfsprogs is not installed: apt-get install -y xfsprogs"))
    func xfsOneDisk() throws {
        try snapshotOfMountedFileSystems(.xfs, diskCount: 1, diskSize: "320M")
    }

    @Test("overflow under a mounted filesystem: the image fails with EIO, the original is untouched")
    func overflowWithMountedFileSystem() throws {
        let server = try FuseServer(params: ["diff_storage_minimum=128"])
        defer { server.cleanUp() }
        try server.ctl(["sim", "device", "add", "disk", "--size", "128M"])
        try server.ctl(["sim", "device", "add", "tiny", "--size", "1M"])
        let loop = try server.attachLoop("/dev/disk")
        try FuseTestSupport.require(FileSystem.ext4.make(loop))
        let directory = try server.mount(loop)
        let before = try Self.writeInitialFiles(in: directory, seed: 7)
        // One 64 KiB chunk of difference storage: the changes below overflow it.
        let id = try server.ctl(["snapshot", "create", "/dev/disk"])
        try server.ctl(["snapshot", "append-storage", id, "--device", "/dev/tiny", "--range", "0:128"])
        try FuseTestSupport.require(["fsfreeze", "-f", directory])
        let taken = try CLITestSupport.run(["snapshot", "take", id, "--sim", server.socket])
        try FuseTestSupport.require(["fsfreeze", "-u", directory])
        try #require(taken.status == 0, "take: \(taken.stderr)")
        let after = try Self.changeFiles(in: directory, from: before, seed: 7)
        var info = try CLITestSupport.run(["snapshot", "info", "/dev/disk", "--json", "--sim", server.socket])
        let deadline = Date().addingTimeInterval(10)
        while info.status == 0 && Date() < deadline {  // the store worker may finish after the writes
            usleep(50_000)
            info = try CLITestSupport.run(["snapshot", "info", "/dev/disk", "--json", "--sim", server.socket])
        }
        #expect(info.stdout.contains(#""corrupted":true"#), "the snapshot overflowed: \(info.stdout)")
        // The image file fails with EIO, directly and through a loop device.
        let report = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let image = try #require(report["image"] as? String)
        let fd = open(server.mountPoint + image, O_RDONLY)
        try #require(fd >= 0, "the image file is exported")
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let readErrno = errno
        close(fd)
        #expect(count == -1 && readErrno == EIO, "image read after overflow: \(count), errno \(readErrno)")
        let imageLoop = try server.attachLoop(image)
        let copy = try FuseTestSupport.tool(["dd", "if=\(imageLoop)", "of=/dev/null", "bs=64K", "count=4", "iflag=direct"])
        #expect(copy.status != 0, "dd through the image loop fails: \(copy.stderr)")
        try server.detachLoop(imageLoop)
        try server.ctl(["snapshot", "destroy", id])
        // The original never saw an error: clean, with every change.
        let stillThere = try Self.files(under: directory)
        #expect(Set(stillThere.keys) == Set(after.keys))
        try server.unmount(directory)
        let check = try FuseTestSupport.tool(FileSystem.ext4.check(loop))
        #expect(check.status == 0, "original checks clean: \(check.stdout)\(check.stderr)")
        let remounted = try server.mount(loop)
        let found = try Self.files(under: remounted)
        #expect(Set(found.keys) == Set(after.keys))
        for (name, data) in after { #expect(found[name] == data, "original after overflow: \(name)") }
        try server.unmount(remounted)
        #expect(!LoopBacking.bound(under: server.mountPoint).isEmpty)
        #expect(server.terminate() == 0)
        #expect(LoopBacking.bound(under: server.mountPoint).isEmpty, "SIGTERM detached the loop devices over its files")
    }

    @Test("sim serve refuses a stale FUSE mount with a clear message")
    func staleMountRefused() throws {
        let server = try FuseServer()
        defer { server.cleanUp() }
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        var status = stat()
        #expect(stat(server.mountPoint, &status) == -1 && errno == ENOTCONN, "the dead server left a stale mount")
        let again = try CLITestSupport.run(["sim", "serve", "--root", server.root.appendingPathComponent("state").path,
                                            "--socket", server.socket, "--mount", server.mountPoint])
        #expect(again.status != 0)
        #expect(again.stderr.contains("stale FUSE mount") && again.stderr.contains("fusermount3 -u"), "\(again.stderr)")
        #expect(access(server.socket, F_OK) != 0, "the refused server removed its socket")
    }
}
