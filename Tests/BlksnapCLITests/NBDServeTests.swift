import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl nbd serve` against the clients everyone uses (libnbd's nbdinfo and nbdcopy,
/// qemu-img), on a simulator, and against a hand-driven client sending what they never do.
@Suite(.serialized, .enabled(if: CLITestSupport.binaryAvailable && NBDTools.available, "blksnapctl or the NBD clients (libnbd-bin, qemu-utils) missing"))
struct NBDServeTests {
    /// nbdinfo --list, --map (base:allocation) and --map=qemu:dirty-bitmap:cbt agree with
    /// the image and with `cbt read --since 1` block for block.
    @Test func nbdinfoListAndMaps() throws {
        let fixture = try NBDFixture()
        try fixture.serve(["--unix", fixture.socket, "--cbt-since", "1", "/dev/disk", "/dev/small"])
        var attributes = try FileManager.default.attributesOfItem(atPath: fixture.socket)
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "socket mode 0600")

        let list = try E2E.object(try NBDTools.run(NBDTools.nbdinfo, ["--json", "--list", fixture.uri("")]))
        let exports = try #require(list["exports"] as? [[String: Any]])
        #expect(exports.compactMap { $0["export-name"] as? String } == ["disk", "small"])
        let disk = try #require(exports.first)
        #expect(disk["export-size"] as? Int == 64 << 20)
        #expect(disk["is_read_only"] as? Bool == true && disk["can_multi_conn"] as? Bool == true && disk["can_cache"] as? Bool == true)
        #expect(disk["block_size_minimum"] as? Int == 512 && disk["block_size_preferred"] as? Int == 65536
                && disk["block_size_maximum"] as? Int == 32 << 20)
        let description = try #require(disk["description"] as? String)
        let info = try #require(fixture.changed["info"] as? [String: Any])
        let generation = try #require(info["generation_id"] as? String)
        #expect(description.contains("/dev/disk") && description.contains(generation)
                && description.contains("changes number 2") && description.contains("67108864 bytes"), "\(description)")
        #expect(Set(disk["contexts"] as? [String] ?? []) == ["base:allocation", "qemu:dirty-bitmap:cbt"])

        let allocation = try JSONSerialization.jsonObject(with: Data(try NBDTools.run(NBDTools.nbdinfo, ["--json", "--map", fixture.uri("disk")]).utf8)) as? [[String: Any]]
        #expect(allocation?.map { [$0["offset"] as? Int, $0["length"] as? Int, $0["type"] as? Int] } == [[0, 64 << 20, 0]], "all data")

        let bitmap = try #require(try JSONSerialization.jsonObject(with: Data(try NBDTools.run(
            NBDTools.nbdinfo, ["--json", "--map=qemu:dirty-bitmap:cbt", fixture.uri("disk")]).utf8)) as? [[String: Any]])
        let dirty = bitmap.filter { $0["type"] as? Int == 1 }.map { [$0["offset"] as! Int, $0["length"] as! Int] }
        #expect(dirty == fixture.changedByteRanges, "dirty extents = cbt read --since 1")
        #expect(dirty.count == 2 && fixture.changed["changed_block_count"] as? Int == 2 + 17)
        #expect(bitmap.reduce(0) { $0 + ($1["length"] as? Int ?? 0) } == 64 << 20, "the map covers the export")

        let result = try #require(fixture.server).stop()
        #expect(result.status == 0, "SIGTERM: exit 0 (\(result.stderr))")
        #expect(!FileManager.default.fileExists(atPath: fixture.socket), "socket removed on exit")
        attributes = [:]
    }

    /// nbdcopy of each export equals the image; qemu-img convert to qcow2 compares equal;
    /// qemu-img map with x-dirty-bitmap shows the CBT extents (as "data": false).
    @Test func nbdcopyAndQemuImg() throws {
        let fixture = try NBDFixture()
        try fixture.serve(["--unix", fixture.socket, "--cbt-since", "1", "/dev/disk", "240:1"])
        let copy = fixture.sim.directory.appendingPathComponent("copy.raw")
        try NBDTools.run(NBDTools.nbdcopy, [fixture.uri("disk"), copy.path])
        #expect(try Data(contentsOf: copy) == fixture.image, "nbdcopy = the image")
        let smallImage = fixture.sim.directory.appendingPathComponent("small.raw").path
        let smallInfo = try fixture.sim.json(["snapshot", "info", "/dev/small"])
        try fixture.sim.ok(["sim", "read", try #require(smallInfo["image"] as? String), "--offset", "0", "--length", "4M", "--output", smallImage])
        let smallCopy = fixture.sim.directory.appendingPathComponent("small-copy.raw")
        try NBDTools.run(NBDTools.nbdcopy, [fixture.uri("small"), smallCopy.path])
        #expect(try Data(contentsOf: smallCopy) == Data(contentsOf: URL(fileURLWithPath: smallImage)))

        let qcow2 = fixture.sim.directory.appendingPathComponent("copy.qcow2").path
        try NBDTools.run(NBDTools.qemuImg, ["convert", "-f", "raw", "-O", "qcow2", fixture.uri("disk"), qcow2])
        let imageFile = fixture.sim.directory.appendingPathComponent("image.raw").path
        let compare = try NBDTools.run(NBDTools.qemuImg, ["compare", "-f", "raw", "-F", "qcow2", imageFile, qcow2])
        #expect(compare.contains("identical"))

        let map = try NBDTools.run(NBDTools.qemuImg, [
            "map", "--output=json", "--image-opts",
            "driver=nbd,export=disk,server.type=unix,server.path=\(fixture.socket),x-dirty-bitmap=qemu:dirty-bitmap:cbt",
        ])
        let extents = try #require(try JSONSerialization.jsonObject(with: Data(map.utf8)) as? [[String: Any]])
        let dirty = extents.filter { $0["data"] as? Bool == false }.map { [$0["start"] as! Int, $0["length"] as! Int] }
        #expect(dirty == fixture.changedByteRanges, "qemu-img map reports the dirty extents as holes")
        #expect(try #require(fixture.server).stop().status == 0)
    }

    /// TCP needs TLS: nbdcopy over nbds:// with certificates made here equals the image; a
    /// client that skips STARTTLS gets NBD_REP_ERR_TLS_REQD and the server keeps serving.
    @Test func tlsOverTCP() throws {
        let fixture = try NBDFixture()
        let pki = fixture.sim.directory.appendingPathComponent("pki")
        try FileManager.default.createDirectory(at: pki, withIntermediateDirectories: true)
        try NBDTools.makeCertificates(in: pki)
        let server = try fixture.serve(["--tcp", "127.0.0.1:0", "--tls-certs", pki.path, "--cbt-since", "1", "/dev/disk"])
        let port = try #require(server.listening["port"] as? Int)
        #expect(server.listening["tls"] as? Bool == true)

        let raw = try RawNBDClient(tcpPort: port)
        #expect(raw.greet())
        raw.option(7, RawNBDClient.u32(4) + Array("disk".utf8) + RawNBDClient.u16(0))
        #expect(raw.optionReplies() == [0x8000_0005], "GO before STARTTLS: NBD_REP_ERR_TLS_REQD")
        raw.option(3)
        #expect(raw.optionReplies() == [0x8000_0005], "LIST before STARTTLS too")
        raw.option(1, Array("disk".utf8))
        #expect(raw.receivesEOF(), "EXPORT_NAME before STARTTLS: closed (it has no error reply)")

        let plain = try CLITestSupport.runProgram(NBDTools.nbdinfo, ["nbd://127.0.0.1:\(port)/disk"])
        #expect(plain.status != 0, "a plain-text client is refused")

        let copy = fixture.sim.directory.appendingPathComponent("tls-copy.raw")
        try NBDTools.run(NBDTools.nbdcopy, ["nbds://localhost:\(port)/disk?tls-certificates=\(pki.path)", copy.path])
        #expect(try Data(contentsOf: copy) == fixture.image, "nbdcopy over TLS = the image")
        let map = try NBDTools.run(NBDTools.nbdinfo, ["--json", "--map=qemu:dirty-bitmap:cbt", "nbds://localhost:\(port)/disk?tls-certificates=\(pki.path)"])
        let bitmap = try #require(try JSONSerialization.jsonObject(with: Data(map.utf8)) as? [[String: Any]])
        #expect(bitmap.filter { $0["type"] as? Int == 1 }.map { [$0["offset"] as! Int, $0["length"] as! Int] } == fixture.changedByteRanges)

        // Without a client certificate signed by ca-cert.pem: refused.
        let untrusted = fixture.sim.directory.appendingPathComponent("untrusted")
        try FileManager.default.createDirectory(at: untrusted, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: pki.appendingPathComponent("ca-cert.pem"), to: untrusted.appendingPathComponent("ca-cert.pem"))
        let anonymous = try CLITestSupport.runProgram(NBDTools.nbdinfo, ["nbds://localhost:\(port)/disk?tls-certificates=\(untrusted.path)"])
        #expect(anonymous.status != 0, "a client without a certificate is refused")
        #expect(server.stop().status == 0)
    }

    /// Command-line refusals before listening: TCP without TLS off loopback, a device
    /// without an image (exit 1), no transport.
    @Test func refusals() throws {
        let fixture = try NBDFixture()
        let sim = ["--sim", fixture.sim.socket]
        var outcome = try CLITestSupport.run(["nbd", "serve", "--tcp", "0.0.0.0:10809", "/dev/disk"] + sim)
        #expect(outcome.status == 64 && outcome.stderr.contains("--tls-certs"), "\(outcome.stderr)")
        outcome = try CLITestSupport.run(["nbd", "serve", "--tcp", "0.0.0.0:10809", "--insecure", "/dev/disk"] + sim)
        #expect(outcome.status == 64 && outcome.stderr.contains("loopback"), "\(outcome.stderr)")
        outcome = try CLITestSupport.run(["nbd", "serve", "/dev/disk"] + sim)
        #expect(outcome.status == 64)
        outcome = try CLITestSupport.run(["nbd", "serve", "--unix", fixture.socket, "/dev/store"] + sim)
        #expect(outcome.status == 1 && outcome.stderr.contains("/dev/store") && outcome.stderr.contains("taken snapshot"), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.socket), "nothing listens after a refusal")
        outcome = try CLITestSupport.run(["nbd", "serve", "--unix", fixture.socket, "--tls-certs", "/nonexistent", "/dev/disk"] + sim)
        #expect(outcome.status == 1 && outcome.stderr.contains("server-cert.pem") && outcome.stderr.contains("ENOENT"), "\(outcome.stderr)")
        // Insecure TCP on loopback works.
        let server = try fixture.serve(["--tcp", "127.0.0.1:0", "--insecure", "/dev/disk"])
        let port = try #require(server.listening["port"] as? Int)
        let copy = fixture.sim.directory.appendingPathComponent("tcp.raw")
        try NBDTools.run(NBDTools.nbdcopy, ["nbd://127.0.0.1:\(port)/disk", copy.path])
        #expect(try Data(contentsOf: copy) == fixture.image)
        #expect(server.stop().status == 0)
    }

    /// Bad input: each case is answered (or the connection closed) and the server keeps
    /// serving, with no descriptor left behind.
    @Test func badInputKeepsServing() throws {
        let fixture = try NBDFixture()
        let server = try fixture.serve(["--unix", fixture.socket, "--cbt-since", "1", "/dev/disk"])
        func connect() throws -> RawNBDClient { try RawNBDClient(unix: fixture.socket) }
        // Warm up with a parallel copy, so the simulator client's connection pool (one per
        // I/O thread at most) is in the baseline; then one raw read.
        try NBDTools.run(NBDTools.nbdcopy, [fixture.uri("disk"), fixture.sim.directory.appendingPathComponent("warm.raw").path])
        do {
            let client = try connect()
            #expect(client.greet() && client.go("disk"))
            client.request(0, handle: 1, offset: 0, length: 4096)
            #expect(client.structuredReply(handle: 1, offset: 0, length: 4096)?.error == 0)
        }
        let baseline = server.descriptors(settlingAt: 0)
        #expect(baseline > 0)

        // Truncated handshake: half the client flags, then gone.
        do { let c = try connect(); _ = c.receive(18); c.send([0, 0]) }
        // Garbage instead of client flags / option magic.
        do { let c = try connect(); _ = c.receive(18); c.send([0xff, 0xff, 0xff, 0xff]); #expect(c.receivesEOF()) }
        do {
            let c = try connect()
            #expect(c.greet())
            c.send([UInt8](repeating: 0x41, count: 16))
            #expect(c.receivesEOF(), "bad option magic: closed")
        }
        // Unknown option, malformed GO, oversized option data: replies, then a normal GO.
        do {
            let c = try connect()
            #expect(c.greet())
            c.option(0x4242, [1, 2, 3])
            #expect(c.optionReplies() == [0x8000_0001])
            c.option(7, [0, 0, 0, 200, 1, 2])
            #expect(c.optionReplies() == [0x8000_0003])
            c.option(6, [UInt8](repeating: 7, count: 200_000))
            #expect(c.optionReplies() == [0x8000_0009], "oversized: NBD_REP_ERR_TOO_BIG")
            c.option(7, RawNBDClient.u32(5) + Array("nope!".utf8) + RawNBDClient.u16(0))
            #expect(c.optionReplies() == [0x8000_0006])
            #expect(c.go("disk"))
            // Past the end, length 0, over 32 MiB, unknown command, a write, a trim: errors.
            let cases: [(UInt16, UInt64, UInt32, UInt32)] = [
                (0, 64 << 20, 512, 22), (0, (64 << 20) - 512, 1024, 22), (0, 0, 0, 22), (0, 0, (32 << 20) + 512, 22),
                (42, 0, 512, 22), (4, 0, 512, 1), (6, 0, 512, 1), (7, 0, 512, 0),
            ]
            for (index, (type, offset, length, error)) in cases.enumerated() {
                c.request(type, handle: UInt64(100 + index), offset: offset, length: length)
                let reply = c.structuredReply(handle: UInt64(100 + index), offset: offset, length: 0)
                if type == 7 {
                    #expect(reply != nil, "block status answered")
                } else {
                    #expect(reply?.error == error, "command \(type) at \(offset)+\(length): error \(String(describing: reply?.error))")
                }
            }
            c.request(1, handle: 200, offset: 0, length: 4096)
            c.send([UInt8](repeating: 0, count: 4096))
            #expect(c.structuredReply(handle: 200, offset: 0, length: 0)?.error == 1, "write: EPERM")
            c.request(0, handle: 201, offset: 4096, length: 8192)
            let read = c.structuredReply(handle: 201, offset: 4096, length: 8192)
            #expect(read?.error == 0 && read.map { Data($0.data) } == fixture.image.subdata(in: 4096..<12288), "framing intact after the write payload")
        }
        // A client that vanishes mid-reply: asks for 32 MiB and closes.
        for _ in 0..<4 {
            let c = try connect()
            #expect(c.greet() && c.go("disk"))
            c.request(0, handle: 9, offset: 0, length: 32 << 20)
            _ = c.receive(100)
        }
        // Old-style (simple replies) client: an error reply is a simple reply.
        do {
            let c = try connect()
            #expect(c.greet() && c.go("disk", structured: false))
            c.request(0, handle: 5, offset: 1 << 40, length: 512)
            let reply = c.receive(16)
            #expect(reply.map { RawNBDClient.be($0[4..<8]) } == 22)
        }
        #expect(server.descriptors(settlingAt: baseline) == baseline, "no descriptor leaked")
        // Still serving real clients.
        let copy = fixture.sim.directory.appendingPathComponent("after.raw")
        try NBDTools.run(NBDTools.nbdcopy, [fixture.uri("disk"), copy.path])
        #expect(try Data(contentsOf: copy) == fixture.image)
        #expect(server.descriptors(settlingAt: baseline) == baseline)
        #expect(server.stop().status == 0)
    }

    /// 64 clients at once, each reading its own 1 MiB region.
    @Test func sixtyFourConcurrentClients() throws {
        let fixture = try NBDFixture()
        let server = try fixture.serve(["--unix", fixture.socket, "/dev/disk"])
        try NBDTools.run(NBDTools.nbdcopy, [fixture.uri("disk"), fixture.sim.directory.appendingPathComponent("warm.raw").path])
        let baseline = server.descriptors(settlingAt: 0)
        let results = Locked<[Int: Bool]>([:])
        let image = fixture.image
        let socket = fixture.socket
        let group = DispatchGroup()
        for index in 0..<64 {
            let thread = Thread {
                defer { group.leave() }
                guard let client = try? RawNBDClient(unix: socket), client.greet(), client.go("disk") else { return }
                let offset = UInt64(index) << 20
                client.request(0, handle: UInt64(index), offset: offset, length: 1 << 20)
                let reply = client.structuredReply(handle: UInt64(index), offset: offset, length: 1 << 20)
                let good = reply?.error == 0 && reply.map { Data($0.data) } == image.subdata(in: Int(offset)..<Int(offset) + (1 << 20))
                results.update { $0[index] = good }
            }
            group.enter()
            thread.start()
        }
        group.wait()
        #expect(results.value.count == 64 && results.value.values.allSatisfy { $0 }, "every client read its region")
        #expect(server.descriptors(settlingAt: baseline) == baseline, "no descriptor leaked")
        #expect(server.stop().status == 0)
    }

    /// The snapshot destroyed under a connected client: its next read fails EIO, and the
    /// server exits 65 naming the cause.
    @Test func snapshotDestroyedEndsWithEIOAnd65() throws {
        let fixture = try NBDFixture()
        let server = try fixture.serve(["--unix", fixture.socket, "/dev/disk"])
        let client = try RawNBDClient(unix: fixture.socket)
        #expect(client.greet() && client.go("disk"))
        client.request(0, handle: 1, offset: 0, length: 4096)
        #expect(client.structuredReply(handle: 1, offset: 0, length: 4096)?.error == 0)
        try fixture.sim.ok(["snapshot", "destroy", fixture.snapshotID])
        client.request(0, handle: 2, offset: 0, length: 4096)
        let reply = client.structuredReply(handle: 2, offset: 0, length: 4096)
        #expect(reply?.error == 5, "EIO after destroy, got \(String(describing: reply?.error))")
        close(client.fd)
        let result = server.stop(nil)
        #expect(result.status == 65, "exit 65: \(result.stderr)")
        #expect(result.stderr.contains("/dev/disk") && (result.stderr.contains("destroyed") || result.stderr.contains("gone")), "\(result.stderr)")
        #expect(result.stdout.contains("\"event\":\"stopped\""))
        #expect(!FileManager.default.fileExists(atPath: fixture.socket))
    }

    /// As a session COMMAND: the session takes the snapshot, nbd serve exports it, a client
    /// copies it, SIGTERM to the session ends both.
    @Test func underSession() throws {
        let sim = try E2ESimulator()
        try sim.ok(["sim", "device", "add", "disk", "--size", "16M"])
        try sim.ok(["sim", "device", "add", "store", "--size", "64M"])
        try sim.ok(["sim", "write", "/dev/disk", "--offset", "0", "--pattern", "7", "--length", "16M"])
        let before = sim.directory.appendingPathComponent("before.raw").path
        try sim.ok(["sim", "read", "/dev/disk", "--offset", "0", "--length", "16M", "--output", before])
        let socket = sim.directory.appendingPathComponent("s.sock").path
        let binary = try #require(CLITestSupport.binary).path
        let session = try NBDServeProcess(["session", "/dev/disk", "--storage", "/dev/store", "--json", "--sim", sim.socket, "--",
                                           binary, "nbd", "serve", "--json", "--unix", socket, "/dev/disk"])
        // The session's own records come first; wait for the socket.
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: socket), Date() < deadline { usleep(20_000) }
        try sim.ok(["sim", "write", "/dev/disk", "--offset", "0", "--pattern", "8", "--length", "4M"])
        let copy = sim.directory.appendingPathComponent("copy.raw")
        try NBDTools.run(NBDTools.nbdcopy, ["nbd+unix:///disk?socket=\(socket)", copy.path])
        #expect(try Data(contentsOf: copy) == Data(contentsOf: URL(fileURLWithPath: before)), "the image is the data at take")
        let result = session.stop(SIGTERM)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: socket))
    }
}
