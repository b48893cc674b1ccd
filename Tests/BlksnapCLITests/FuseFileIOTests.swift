import BlksnapSimulator
import Foundation
import SimFuse
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The exported files are the simulator's devices and images, byte for byte, with no
/// cache in between: what a write through a file does is what the filter does.
@Suite(.serialized, .enabled(if: FuseTestSupport.enabled, "FUSE file tests need root, /dev/fuse and a built blksnapctl"))
struct FuseFileIOTests {
    static func readFile(_ path: String, at offset: off_t, count: Int = 64 << 10) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0, "open \(path): errno \(errno)")
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
        try #require(n == count, "pread \(path): \(n), errno \(errno)")
        return bytes
    }

    static func writeFile(_ path: String, _ bytes: [UInt8], at offset: off_t) throws {
        let fd = open(path, O_RDWR)
        try #require(fd >= 0, "open \(path): errno \(errno)")
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
        try #require(n == bytes.count, "pwrite \(path): \(n), errno \(errno)")
        #expect(fsync(fd) == 0, "fsync is honoured")
    }

    /// What `blksnapctl sim read` sees (the simulator, not the file).
    static func simulatorRead(_ server: FuseServer, _ device: String, at offset: Int, count: Int = 64 << 10) throws -> [UInt8] {
        let file = server.root.appendingPathComponent("read-\(UUID().uuidString.prefix(6))").path
        defer { unlink(file) }
        try server.ctl(["sim", "read", device, "--offset", String(offset), "--length", String(count), "--output", file])
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    @Test func deviceAndImageFilesAreTheSimulatorsBytes() throws {
        let server = try FuseServer()
        defer { server.cleanUp() }
        try server.ctl(["sim", "device", "add", "sda", "--size", "16M"])
        try server.ctl(["sim", "device", "add", "store", "--size", "16M"])
        let device = server.mountPoint + "/dev/sda"
        var status = stat()
        #expect(stat(device, &status) == 0 && status.st_size == 16 << 20 && status.st_mode & S_IFMT == S_IFREG,
                "a regular file sized to the capacity")
        #expect(server.exportedNames == ["sda", "store"])
        let first = DataPattern(seed: 0xA1).bytes(atByte: 1 << 20, count: 64 << 10)
        let second = DataPattern(seed: 0xB2).bytes(atByte: 1 << 20, count: 64 << 10)
        let imageOnly = DataPattern(seed: 0xC3).bytes(atByte: 4 << 20, count: 64 << 10)
        // A write through the file is in the simulator at once.
        try Self.writeFile(device, first, at: 1 << 20)
        #expect(try Self.simulatorRead(server, "/dev/sda", at: 1 << 20) == first)
        // And a write through the simulator is in the file at once (no page cache).
        try server.ctl(["sim", "write", "/dev/sda", "--offset", "2M", "--pattern", "9", "--length", "64K"])
        #expect(try Self.readFile(device, at: 2 << 20) == Self.simulatorRead(server, "/dev/sda", at: 2 << 20))

        let id = try server.ctl(["snapshot", "create", "/dev/sda"])
        try server.ctl(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:32768"])
        try server.ctl(["snapshot", "take", id])
        let imageName = String(try server.imagePath(of: "/dev/sda").dropFirst(5))
        #expect(server.exportedNames.contains(imageName), "the image appears at take")
        let image = server.mountPoint + "/dev/" + imageName
        // Device writes go through the filter: the chunk is copied, the image keeps the old bytes.
        try Self.writeFile(device, second, at: 1 << 20)
        #expect(try Self.readFile(device, at: 1 << 20) == second)
        #expect(try Self.readFile(image, at: 1 << 20) == first, "copy-on-write kept the take-time bytes")
        // Image writes stay in the snapshot.
        try Self.writeFile(image, imageOnly, at: 4 << 20)
        #expect(try Self.readFile(image, at: 4 << 20) == imageOnly)
        #expect(try Self.readFile(device, at: 4 << 20) == [UInt8](repeating: 0, count: 64 << 10), "image writes never reach the original")
        // A device cannot be resized through its file.
        #expect(truncate(device, 0) == -1 && errno == EPERM)
        try server.ctl(["snapshot", "destroy", id])
        #expect(access(image, F_OK) == -1 && errno == ENOENT, "the image vanishes at destroy")
        #expect(server.terminate() == 0)
    }
}

/// `sim loop` without a FUSE-serving simulator (no root needed).
@Suite(.enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct FuseLoopCommandErrorTests {
    @Test func attachWithoutMountNamesTheRemedy() throws {
        let outcome = try CLITestSupport.run(["sim", "loop", "attach", "/dev/sda", "--sim", "/nonexistent/sim.sock"])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("serves no FUSE filesystem") && outcome.stderr.contains("--mount"), "\(outcome.stderr)")
    }

    @Test func detachNeedsASimulator() throws {
        let outcome = try CLITestSupport.run(["sim", "loop", "detach", "/dev/loop0"])
        #expect(outcome.status == 64, "usage error without --sim: \(outcome.stderr)")
    }
}
