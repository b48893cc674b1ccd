#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import Foundation
import Synchronization
import SystemPackage
import Testing
@testable import SimKernel
@testable import SimWire

/// `blksnapctl sim serve` as a child process under hostile clients and a SIGKILL:
/// the server survives and does not leak descriptors (counted in /proc/PID/fd); a
/// killed server leaves a clear client error and a backing file with only whole writes.
@Suite("Hardening: simulator process", .serialized,
       .enabled(if: HardeningServer.binary != nil || HardeningServer.isCI, "blksnapctl is not built (swift build)"))
struct HardeningProcessTests {
    @Test("hostile traffic: garbage, truncated and oversized frames, unknown types, vanishing clients, 64 clients; no crash, no fd leak")
    func hostileTraffic() throws {
        let server = try HardeningServer()
        defer { server.cleanUp() }
        // Warm up once (lazy allocations), then take the baseline.
        let warm = try SimClient(socketPath: server.socket)
        _ = try warm.listDevices()
        _ = try warm.addDevice(name: "hx", capacitySectors: 4096, backing: .memory)
        // The baseline once the readiness probe's connection is gone (two equal counts).
        var baseline = try #require(server.descriptorCount())
        for _ in 0..<50 {
            usleep(100_000)
            let now = try #require(server.descriptorCount())
            if now == baseline { break }
            baseline = now
        }

        var tried = 0
        let frames: [[UInt8]] = [
            [0xFF, 0xFF, 0xFF, 0xFF, 0x04, 0x00, 0x00, 0x00],                  // oversized length
            [0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x00],                  // reserved field set
            [0x10, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 1, 2, 3],         // truncated body
            [0x03, 0x00, 0x00, 0x00, 0x34, 0x12, 0x00, 0x00, 1, 2, 3],         // unknown type first
            [0x01, 0x02],                                                      // truncated header
            Array("GET / HTTP/1.1\r\n\r\n".utf8),                              // not the protocol at all
        ]
        for frame in frames {
            let fd = try WireSocket.connect(to: server.socket)
            try? WireSocket.sendAll(fd, frame)
            shutdown(fd, Int32(SHUT_WR))
            _ = try? WireSocket.receive(fd)  // an error frame or the close
            close(fd)
            tried += 1
        }
        // After a valid hello: unknown types and malformed bodies, then a call abandoned mid-frame.
        for round in 0..<8 {
            let fd = try WireSocket.connect(to: server.socket)
            let hello = WireRequest.hello(magic: WireProtocol.magic, version: WireProtocol.version,
                                          session: [UInt8](repeating: 0, count: 16))
            try WireSocket.send(fd, type: hello.type.rawValue, body: hello.encodedBody())
            _ = try WireSocket.receive(fd)
            try WireSocket.send(fd, type: 0x0777, body: [1, 2, 3])
            let unknown = try WireSocket.receive(fd)
            #expect(unknown.type == 0xFFFF, "unknown type gets an error frame")
            try WireSocket.send(fd, type: WireMessageType.open.rawValue, body: [0xFF, 0xFF, 0xFF, 0x7F])
            let malformed = try WireSocket.receive(fd)
            #expect(malformed.type == 0xFFFF, "malformed body gets an error frame")
            // Open the control device so the session holds a descriptor, then vanish mid-call.
            let open = WireRequest.open(path: "/dev/blksnap-control", flags: O_RDWR)
            try WireSocket.send(fd, type: open.type.rawValue, body: open.encodedBody())
            _ = try WireSocket.receive(fd)
            let pwriteHeader: [UInt8] = [0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00] + [UInt8](repeating: UInt8(round), count: 100)
            try WireSocket.sendAll(fd, pwriteHeader)
            close(fd)
            tried += 3
        }
        // 64 concurrent clients doing real work.
        let failures = Atomic<Int>(0)
        let socketPath = server.socket
        onThreads(64) { index in
            do {
                let client = try SimClient(socketPath: socketPath)
                let fd = try client.open("/dev/hx", flags: O_RDWR)
                var bytes = [UInt8](repeating: UInt8(index), count: 512)
                _ = try bytes.withUnsafeBytes { try client.pwrite(fd, from: $0, at: UInt64(index) * 512) }
                _ = try bytes.withUnsafeMutableBytes { try client.pread(fd, into: $0, at: UInt64(index) * 512) }
                if bytes != [UInt8](repeating: UInt8(index), count: 512) { throw SimErrno(EIO) }
                try client.close(fd)
            } catch {
                failures.add(1, ordering: .relaxed)
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(server.isAlive, "the server survived")
        // Every connection thread and session closes its descriptors.
        let settled = WireHarness.eventually(seconds: 10) { (server.descriptorCount() ?? .max) <= baseline }
        #expect(settled, "descriptors: \(server.descriptorCount() ?? -1) now, \(baseline) before (\(tried) hostile exchanges)")
        _ = try warm.listDevices()
    }

    @Test("SIGKILL of the server during writes: a clear client error; the backing file holds whole prior writes only")
    func killedMidWrite() throws {
        let server = try HardeningServer()
        defer { server.cleanUp() }
        let backing = server.root + "/orig.img"
        let blockBytes = 65_536
        let blocks = 256
        let client = try SimClient(socketPath: server.socket)
        _ = try client.addDevice(name: "kw", capacitySectors: UInt64(blocks * blockBytes / 512), backing: .file(path: backing))
        let fd = try client.open("/dev/kw", flags: O_RDWR)
        let completed = Box<Int>()
        completed.set(0)
        let failure = Box<String>()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            for block in 0..<blocks {
                let data = [UInt8](repeating: UInt8(block % 251 + 1), count: blockBytes)
                do {
                    let n = try data.withUnsafeBytes { try client.pwrite(fd, from: $0, at: UInt64(block * blockBytes)) }
                    if n != blockBytes { failure.set("short write \(n)"); return }
                    completed.set(block + 1)
                } catch {
                    failure.set("\(error)")
                    return
                }
            }
        }
        // Kill once a few writes went through.
        #expect(WireHarness.eventually(seconds: 20) { (completed.current ?? 0) >= 8 })
        server.kill()
        #expect(group.wait(timeout: .now() + 20) == .success, "the writer is not stuck on a dead server")
        let message = try #require(failure.current, "the writer saw an error")
        #expect(!message.isEmpty && !message.contains("\n"), "one-line error: \(message)")
        // The next call on a dead connection is also a clear error, not a hang.
        #expect(throws: (any Error).self) { _ = try client.listDevices() }

        let done = completed.current ?? 0
        let file = try #require(FileManager.default.contents(atPath: backing))
        #expect(file.count == blocks * blockBytes)
        for block in 0..<blocks {
            let slice = file[block * blockBytes..<(block + 1) * blockBytes]
            let byte = UInt8(block % 251 + 1)
            if block < done {
                #expect(slice.allSatisfy { $0 == byte }, "completed write \(block) is whole")
            } else if block == done {
                #expect(slice.allSatisfy { $0 == byte || $0 == 0 }, "in-flight write \(block) holds only old or new bytes")
            } else {
                #expect(slice.allSatisfy { $0 == 0 }, "block \(block) was never written")
            }
        }
    }
}

/// A `blksnapctl sim serve` child process with its own directory.
final class HardeningServer {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    /// The built `blksnapctl` (debug build of this package), or nil.
    static var binary: String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent(".build/debug/blksnapctl").path
        return access(path, X_OK) == 0 ? path : nil
    }

    let process = Process()
    let root: String
    let socket: String

    init() throws {
        let binary = try #require(Self.binary, "blksnapctl is not built: run swift build")
        var template = Array("/tmp/hardening-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { throw SimErrno(errno) }
        root = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        socket = root + "/sim.sock"
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["sim", "serve", "--root", root + "/state", "--socket", socket]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let ready = WireHarness.eventually(seconds: 30) { (try? SimClient(socketPath: self.socket)) != nil }
        try #require(ready, "sim serve did not start listening")
    }

    var isAlive: Bool { process.isRunning && Glibc.kill(process.processIdentifier, 0) == 0 }

    /// Open descriptors of the server process.
    func descriptorCount() -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd"))?.count
    }

    /// SIGKILL (idempotent); the directory stays for inspection.
    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Kills the server and removes its directory.
    func cleanUp() {
        kill()
        try? FileManager.default.removeItem(atPath: root)
    }
}
