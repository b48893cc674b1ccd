import BlksnapBackup
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl backup serve` read by libnbd's clients and qemu-img: the served disk is
/// the restored point in time, holes are reported, a corrupt cluster fails its read only.
@Suite("backup serve over NBD", .serialized,
       .enabled(if: CLITestSupport.binaryAvailable && NBDTools.available, "blksnapctl or the NBD clients (libnbd-bin, qemu-utils) missing"))
struct BackupServeTests {
    @Test("nbdcopy of a served incremental = its restore; qemu-img compare = the qcow2 head; holes in base:allocation; a flipped byte fails that read and the server keeps serving; SIGTERM exits 0")
    func serveChain() throws {
        let server = try BackupCLITests.simulator(size: "8M")
        let repo = server.directory.appendingPathComponent("repo").path
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--pattern", "5", "--length", "4M"])
        let full = try BackupCLITests.create(server, repo: repo).backup
        try server.ok(["sim", "write", "/dev/d0", "--offset", "6M", "--pattern", "6", "--length", "64K"])
        let incremental = try BackupCLITests.create(server, repo: repo).backup
        let id = try #require(incremental["id"] as? Int)
        let restored = server.directory.appendingPathComponent("restored.raw").path
        #expect(try server.ctl(["backup", "restore", "\(id)", "--repo", repo, "--to", restored, "--quiet"]).status == 0)

        let socket = server.directory.appendingPathComponent("backup.sock").path
        let serving = try NBDServeProcess(["backup", "serve", "\(id)", "--repo", repo, "--unix", socket, "--json"])
        let exports = try #require(serving.listening["exports"] as? [[String: Any]])
        #expect(exports.first?["name"] as? String == "d0")
        #expect(exports.first?["type"] as? String == "incremental")
        #expect((exports.first?["chain"] as? [String])?.count == 2)
        let uri = "nbd+unix:///d0?socket=\(socket)"

        let copy = server.directory.appendingPathComponent("copy.raw").path
        try NBDTools.run(NBDTools.nbdcopy, [uri, copy])
        #expect(FileManager.default.contentsEqual(atPath: copy, andPath: restored), "nbdcopy of the export = backup restore")
        let head = repo + "/" + (try #require(incremental["file_name"] as? String))
        let compare = try CLITestSupport.runProgram(NBDTools.qemuImg, ["compare", "-f", "raw", uri, "-F", "qcow2", head])
        #expect(compare.status == 0, "qemu-img compare: \(compare.stdout)\(compare.stderr)")

        // 4M..6M and 6M+64K..8M were never written: holes that read as zeroes.
        let map = try #require(try JSONSerialization.jsonObject(with: Data(try NBDTools.run(NBDTools.nbdinfo, ["--json", "--map", uri]).utf8)) as? [[String: Any]])
        let holes = map.filter { ($0["type"] as? Int ?? 0) & 1 == 1 }.map { [$0["offset"] as! Int, $0["length"] as! Int] }
        #expect(holes == [[4 << 20, 2 << 20], [(6 << 20) + 65536, (2 << 20) - 65536]], "holes: \(holes)")
        #expect(map.reduce(0) { $0 + ($1["length"] as? Int ?? 0) } == 8 << 20)

        // A flipped byte in the full backup's first data clusters: the read that covers
        // it fails (EIO), the server goes on serving other regions.
        let fullPath = repo + "/" + (try #require(full["file_name"] as? String))
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: fullPath))
        let offset: UInt64 = 3 * 65536 + 4321
        try handle.seek(toOffset: offset)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0x01]))
        try handle.close()
        let failed = try CLITestSupport.runProgram(NBDTools.nbdcopy, [uri, server.directory.appendingPathComponent("bad.raw").path])
        #expect(failed.status != 0, "nbdcopy over a corrupt cluster must fail")
        #expect(serving.process.isRunning)
        let tail = try CLITestSupport.runProgram(NBDTools.nbdinfo, ["--size", uri])
        #expect(tail.status == 0 && tail.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(8 << 20)")

        let stopped = serving.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("does not match its SHA-256 in the catalog"), "the failed read is logged: \(stopped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: socket))
    }

    @Test("a zstd backup: list shows the repository's default; served = restored; a damaged compressed cluster fails its read with EIO, verify exits 65")
    func compressed() throws {
        let server = try BackupCLITests.simulator(size: "8M")
        let repo = server.directory.appendingPathComponent("repo").path
        // 4 MiB of text-like bytes (16 letters): every cluster shrinks.
        var bytes = [UInt8](repeating: 0, count: 4 << 20)
        var state: UInt64 = 1
        for index in bytes.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes[index] = 0x61 + UInt8(state >> 60)
        }
        let input = server.directory.appendingPathComponent("text.bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        try server.ok(["sim", "write", "/dev/d0", "--offset", "0", "--input", input])
        let backup = try BackupCLITests.create(server, repo: repo, extra: ["--compress", "zstd"]).backup
        #expect(backup["compression"] as? String == "zstd:3")
        #expect(backup["compressed_clusters"] as? Int == 64, "\(backup)")
        let listed = try server.json(["backup", "list", "--repo", repo])
        #expect(listed["default_compression"] as? String == "zstd:3")
        let text = try server.ctl(["backup", "list", "--repo", repo])
        #expect(text.stdout.contains("default compression: zstd:3"), "\(text.stdout)")
        let bad = try server.ctl(["backup", "create", "/dev/d0", "--repo", repo, "--storage", "/dev/st", "--compress", "zstd:99"])
        #expect(bad.status == 64 && bad.stderr.contains("zstd level 99"), "\(bad.stderr)")

        let id = try #require(backup["id"] as? Int)
        let restored = server.directory.appendingPathComponent("restored.raw").path
        #expect(try server.ctl(["backup", "restore", "\(id)", "--repo", repo, "--to", restored, "--quiet"]).status == 0)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: restored)).prefix(4 << 20)) == bytes)
        let socket = server.directory.appendingPathComponent("compressed.sock").path
        let serving = try NBDServeProcess(["backup", "serve", "\(id)", "--repo", repo, "--unix", socket, "--json"])
        let uri = "nbd+unix:///d0?socket=\(socket)"
        let copy = server.directory.appendingPathComponent("copy.raw").path
        try NBDTools.run(NBDTools.nbdcopy, [uri, copy])
        #expect(FileManager.default.contentsEqual(atPath: copy, andPath: restored), "nbdcopy of the export = backup restore")

        // Damage the compressed data of disk cluster 2 in the middle.
        let path = repo + "/" + (try #require(backup["file_name"] as? String))
        guard case .compressed(let descriptor) = try QCOW2Reader(path: path).mapping(ofGuestCluster: 2) else {
            Issue.record("disk cluster 2 is not stored compressed")
            return
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        let offset = descriptor.fileOffset + UInt64(descriptor.spanBytes / 2)
        try handle.seek(toOffset: offset)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
        try handle.close()
        let damaged = try CLITestSupport.runProgram(NBDTools.nbdcopy, [uri, server.directory.appendingPathComponent("bad.raw").path])
        #expect(damaged.status != 0, "nbdcopy over a damaged compressed cluster must fail")
        #expect(damaged.stderr.contains("Input/output error") || damaged.stderr.contains("EIO"), "the read fails with EIO: \(damaged.stderr)")
        #expect(serving.process.isRunning)
        let stopped = serving.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let verify = try server.ctl(["backup", "verify", "--repo", repo])
        #expect(verify.status == 65, "\(verify.stderr)")
        #expect(verify.stderr.contains("backup \(id)"), "\(verify.stderr)")
    }

    @Test("an unknown backup id exits 1 before listening; a bad --tcp is a usage error")
    func refusals() throws {
        let server = try BackupCLITests.simulator(size: "8M")
        let repo = server.directory.appendingPathComponent("repo").path
        _ = try BackupCLITests.create(server, repo: repo)
        let socket = server.directory.appendingPathComponent("none.sock").path
        let unknown = try CLITestSupport.run(["backup", "serve", "99", "--repo", repo, "--unix", socket])
        #expect(unknown.status == 1, "\(unknown.stderr)")
        #expect(!FileManager.default.fileExists(atPath: socket))
        let plain = try CLITestSupport.run(["backup", "serve", "1", "--repo", repo, "--tcp", "0.0.0.0:0"])
        #expect(plain.status == 64 && plain.stderr.contains("--tls-certs"), "\(plain.stderr)")
    }
}
