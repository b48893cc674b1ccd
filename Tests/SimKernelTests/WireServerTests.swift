#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import Foundation
import Synchronization
import Testing
@testable import SimKernel
@testable import SimWire

/// The server against hostile or vanishing peers, on a scripted kernel.
@Suite struct WireServerTests {
    private func frameHeader(length: UInt32, type: UInt16, reserved: UInt16 = 0) -> [UInt8] {
        var w = WireWriter()
        w.u32(length); w.u16(type); w.u16(reserved)
        return w.bytes
    }

    /// The server still answers a fresh client.
    private func serverAnswers(_ harness: WireHarness) throws -> Bool {
        let (fd, _) = try harness.rawConnection()
        defer { Glibc.close(fd) }
        return try WireHarness.roundTrip(fd, .stat(path: ScriptedKernel.controlPath)).result == 0
    }

    @Test func socketIsMode0600AndRemovedOnStop() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        var status = Glibc.stat()
        #expect(lstat(harness.socketPath, &status) == 0)
        #expect(status.st_mode & S_IFMT == S_IFSOCK)
        #expect(status.st_mode & 0o7777 == 0o600)
        // Nothing else was left in the directory (the private bind directory is gone).
        let entries = try FileManager.default.contentsOfDirectory(atPath: harness.directory).sorted()
        #expect(entries == ["root", "sim.sock"])
        harness.server.stop()
        #expect(access(harness.socketPath, F_OK) != 0)
        #expect(throws: SimErrno.self) { _ = try WireSocket.connect(to: harness.socketPath) }
    }

    @Test func theSocketIs0600EvenUnderAPermissiveUmask() throws {
        var template = Array("/tmp/wire-umask-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { throw SimErrno(errno) }
        let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { rmdir(directory + "/root"); rmdir(directory) }
        let previous = umask(0)
        let server: SimServer
        do {
            defer { umask(previous) }
            server = try SimServer(backend: ScriptedKernel(), socketPath: directory + "/s", rootDirectory: directory + "/root")
        }
        defer { server.stop() }
        var status = Glibc.stat()
        #expect(lstat(directory + "/s", &status) == 0)
        #expect(status.st_mode & 0o7777 == 0o600)
        #expect(lstat(directory + "/root", &status) == 0)
        #expect(status.st_mode & 0o7777 == 0o700)
    }

    @Test func aPathTooLongForSockaddrIsRefused() throws {
        let long = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: SimErrno(ENAMETOOLONG)) {
            _ = try SimServer(backend: ScriptedKernel(), socketPath: long, rootDirectory: "/tmp")
        }
        #expect(throws: SimErrno(ENAMETOOLONG)) { _ = try WireSocket.connect(to: long) }
    }

    @Test func bindRefusesALiveServerAndReplacesAStaleSocket() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        #expect(throws: SimErrno(EADDRINUSE)) {
            _ = try SimServer(backend: ScriptedKernel(), socketPath: harness.socketPath, rootDirectory: harness.directory + "/root")
        }
        // A stale socket node (nobody listening) is replaced.
        let stale = harness.directory + "/stale.sock"
        var address = try WireSocket.address(stale)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        Glibc.close(fd)
        let second = try SimServer(backend: ScriptedKernel(), socketPath: stale, rootDirectory: harness.directory + "/root")
        second.start()
        let client = try WireSocket.connect(to: stale)
        Glibc.close(client)
        second.stop()
        #expect(access(stale, F_OK) != 0)
        // A regular file is never clobbered.
        let regular = harness.directory + "/regular"
        #expect(FileManager.default.createFile(atPath: regular, contents: Data([1])))
        defer { unlink(regular) }
        #expect(throws: SimErrno(EEXIST)) {
            _ = try SimServer(backend: ScriptedKernel(), socketPath: regular, rootDirectory: harness.directory + "/root")
        }
    }

    @Test func aFirstFrameThatIsNotHelloIsRefused() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let fd = try WireSocket.connect(to: harness.socketPath)
        defer { Glibc.close(fd) }
        try WireSocket.send(fd, type: WireMessageType.stat.rawValue, body: WireRequest.stat(path: "/").encodedBody())
        let frame = try WireSocket.receive(fd)
        #expect(try WireReply.decode(type: frame.type, body: frame.body).result == -Int64(EPROTO))
        #expect(throws: WireError.closed) { _ = try WireSocket.receive(fd) }
        // A hello with the wrong version is refused the same way.
        let other = try WireSocket.connect(to: harness.socketPath)
        defer { Glibc.close(other) }
        let hello = WireRequest.hello(magic: WireProtocol.magic, version: 99, session: [UInt8](repeating: 0, count: 16))
        try WireSocket.send(other, type: hello.type.rawValue, body: hello.encodedBody())
        let refused = try WireSocket.receive(other)
        #expect(try WireReply.decode(type: refused.type, body: refused.body).result == -Int64(EPROTO))
        #expect(try serverAnswers(harness))
    }

    @Test func anOversizedLengthGetsAnErrorAndTheConnectionCloses() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let (fd, _) = try harness.rawConnection()
        defer { Glibc.close(fd) }
        try WireSocket.sendAll(fd, frameHeader(length: .max, type: WireMessageType.pwrite.rawValue))
        let frame = try WireSocket.receive(fd)
        #expect(try WireReply.decode(type: frame.type, body: frame.body).result == -Int64(EMSGSIZE))
        #expect(throws: WireError.closed) { _ = try WireSocket.receive(fd) }
        #expect(try serverAnswers(harness))
    }

    @Test func aNonZeroReservedFieldClosesTheConnection() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let (fd, _) = try harness.rawConnection()
        defer { Glibc.close(fd) }
        try WireSocket.sendAll(fd, frameHeader(length: 0, type: WireMessageType.listDevices.rawValue, reserved: 1))
        let frame = try WireSocket.receive(fd)
        #expect(try WireReply.decode(type: frame.type, body: frame.body).result == -Int64(EPROTO))
        #expect(throws: WireError.closed) { _ = try WireSocket.receive(fd) }
    }

    @Test func aTruncatedFrameDoesNotHurtTheServer() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        for cut in [3, 8, 20] {
            let (fd, _) = try harness.rawConnection()
            let request = WireRequest.open(path: "/dev/blksnap-control/and/a/long/tail", flags: 0)
            var frame = frameHeader(length: UInt32(request.encodedBody().count), type: request.type.rawValue)
            frame += request.encodedBody()
            try WireSocket.sendAll(fd, Array(frame[0..<cut]))
            Glibc.close(fd)
        }
        #expect(try serverAnswers(harness))
        #expect(WireHarness.eventually { harness.server.connectionCount == 0 })
    }

    @Test func unknownTypesAndMalformedBodiesGetErrorRepliesAndTheConnectionStays() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let (fd, _) = try harness.rawConnection()
        defer { Glibc.close(fd) }
        try WireSocket.send(fd, type: 0x1234, body: [1, 2, 3])
        var frame = try WireSocket.receive(fd)
        guard case .error(let unknown, _) = try WireReply.decode(type: frame.type, body: frame.body) else {
            Issue.record("no error reply for an unknown type"); return
        }
        #expect(unknown == -Int64(EPROTO))
        try WireSocket.send(fd, type: WireMessageType.open.rawValue, body: [0xFF, 0xFF, 0, 0, 0x2F])
        frame = try WireSocket.receive(fd)
        guard case .error(let malformed, _) = try WireReply.decode(type: frame.type, body: frame.body) else {
            Issue.record("no error reply for a malformed body"); return
        }
        #expect(malformed == -Int64(EBADMSG))
        // A second hello is refused but the connection stays.
        let hello = WireRequest.hello(magic: WireProtocol.magic, version: WireProtocol.version, session: [UInt8](repeating: 0, count: 16))
        #expect(try WireHarness.roundTrip(fd, hello).result == -Int64(EPROTO))
        #expect(try WireHarness.roundTrip(fd, .stat(path: ScriptedKernel.diskPath)).result == 0)
    }

    @Test func randomGarbageNeverStopsTheServer() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        var generator = SplitMix64(seed: 42)
        for round in 0..<40 {
            let fd: Int32
            if round % 2 == 0 { fd = try harness.rawConnection().fd } else { fd = try WireSocket.connect(to: harness.socketPath) }
            var bytes: [UInt8] = []
            for _ in 0..<Int(generator.next() % 6) {
                let length = UInt32(generator.next() % 40)
                bytes += frameHeader(length: length, type: UInt16(generator.next() % 16))
                bytes += (0..<Int(length)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            }
            bytes += (0..<Int(generator.next() % 12)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            try? WireSocket.sendAll(fd, bytes)
            Glibc.close(fd)
        }
        #expect(try serverAnswers(harness))
        #expect(WireHarness.eventually { harness.server.connectionCount == 0 })
    }

    @Test func peerUIDPolicy() {
        #expect(SimServer.isPeerAllowed(uid: 1000, serverUID: 1000))
        #expect(SimServer.isPeerAllowed(uid: 0, serverUID: 1000))
        #expect(!SimServer.isPeerAllowed(uid: 1001, serverUID: 1000))
        #expect(!SimServer.isPeerAllowed(uid: 65534, serverUID: 0))
    }

    /// A real peer of another uid (needs root, setpriv and python3): even with the
    /// socket opened to everyone, SO_PEERCRED refuses it with EACCES.
    @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0 && access("/usr/bin/python3", X_OK) == 0,
                   "needs root, /usr/bin/setpriv and /usr/bin/python3"))
    func anotherUsersPeerIsRefused() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        chmod(harness.directory, 0o755)
        chmod(harness.socketPath, 0o666)
        let script = """
            import socket, struct
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect("\(harness.socketPath)")
            body = struct.pack("<IHH", 0x504E5342, 1, 0) + bytes(16)
            s.sendall(struct.pack("<IHH", len(body), 1, 0) + body)
            head = s.recv(8)
            length, kind, _ = struct.unpack("<IHH", head)
            data = b""
            while len(data) < length:
                data += s.recv(length - len(data))
            print(kind, struct.unpack("<q", data[:8])[0])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == "65535 \(-EACCES)")
    }

    @Test func sessionsShareDescriptorsAndUnknownTokensAreRefused() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let (first, token) = try harness.rawConnection()
        defer { Glibc.close(first) }
        guard case .open(let fd, .v5Control) = try WireHarness.roundTrip(first, .open(path: ScriptedKernel.controlPath, flags: O_RDWR)) else {
            Issue.record("open of the control device failed"); return
        }
        let (second, sameToken) = try harness.rawConnection(session: token)
        defer { Glibc.close(second) }
        #expect(sameToken == token)
        #expect(try WireHarness.roundTrip(second, .close(fd: Int32(fd))).result == 0)
        #expect(try WireHarness.roundTrip(first, .close(fd: Int32(fd))).result == -Int64(EBADF))
        // Another session cannot use this session's descriptors.
        guard case .open(let other, .blockDevice) = try WireHarness.roundTrip(first, .open(path: ScriptedKernel.diskPath, flags: O_RDWR)) else {
            Issue.record("open of the disk failed"); return
        }
        let (stranger, strangerToken) = try harness.rawConnection()
        defer { Glibc.close(stranger) }
        #expect(strangerToken != token)
        #expect(try WireHarness.roundTrip(stranger, .pread(fd: Int32(other), offsetBytes: 0, lengthBytes: 1)).result == -Int64(EBADF))
        // Unknown token.
        let fd2 = try WireSocket.connect(to: harness.socketPath)
        defer { Glibc.close(fd2) }
        let hello = WireRequest.hello(magic: WireProtocol.magic, version: WireProtocol.version, session: [UInt8](repeating: 7, count: 16))
        #expect(try WireHarness.roundTrip(fd2, hello).result == -Int64(ENOENT))
    }

    @Test func descriptorsAreClosedWhenTheLastConnectionOfASessionCloses() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let (first, token) = try harness.rawConnection()
        let (second, _) = try harness.rawConnection(session: token)
        for path in [ScriptedKernel.controlPath, ScriptedKernel.diskPath, ScriptedKernel.diskPath] {
            #expect(try WireHarness.roundTrip(first, .open(path: path, flags: O_RDWR)).result >= 3)
        }
        #expect(harness.kernel.openDescriptorCount == 3)
        Glibc.close(first)
        #expect(WireHarness.eventually { harness.server.connectionCount == 1 })
        #expect(harness.kernel.openDescriptorCount == 3)  // the session lives on
        Glibc.close(second)
        #expect(WireHarness.eventually { harness.kernel.openDescriptorCount == 0 })
    }

    /// The WAIT_EVENT request as a client would send it: the 4096-byte struct.
    private func waitEventRequest(fd: Int32, timeoutMilliseconds: UInt32) -> WireRequest {
        var event = [UInt8](repeating: 0, count: 4096)
        withUnsafeBytes(of: timeoutMilliseconds.littleEndian) { event.replaceSubrange(16..<20, with: $0) }
        return .ioctl(fd: fd, request: UInt64(BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT), argument: 0x10000,
                      regions: [.init(address: 0x10000, bytes: event, writable: true)])
    }

    @Test func aClientVanishingDuringWaitEventInterruptsIt() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let (fd, _) = try harness.rawConnection()
        let control = try WireHarness.roundTrip(fd, .open(path: ScriptedKernel.controlPath, flags: O_RDWR)).result
        let request = waitEventRequest(fd: Int32(control), timeoutMilliseconds: 60_000)
        try WireSocket.send(fd, type: request.type.rawValue, body: request.encodedBody())
        #expect(WireHarness.eventually { harness.kernel.waiting == 1 })
        let start = monotonicNanoseconds()
        Glibc.close(fd)
        #expect(WireHarness.eventually { harness.kernel.waitResults == [-EINTR] })
        #expect(monotonicNanoseconds() - start < 2_000_000_000)
        #expect(WireHarness.eventually { harness.kernel.openDescriptorCount == 0 })
    }

    @Test func stopInterruptsSleepersAndDisconnectsClients() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let (fd, _) = try harness.rawConnection()
        defer { Glibc.close(fd) }
        let control = try WireHarness.roundTrip(fd, .open(path: ScriptedKernel.controlPath, flags: O_RDWR)).result
        let request = waitEventRequest(fd: Int32(control), timeoutMilliseconds: 60_000)
        try WireSocket.send(fd, type: request.type.rawValue, body: request.encodedBody())
        #expect(WireHarness.eventually { harness.kernel.waiting == 1 })
        harness.server.stop()
        #expect(harness.kernel.waitResults == [-EINTR])
        #expect(harness.server.connectionCount == 0)
        #expect(harness.kernel.openDescriptorCount == 0)
    }

    @Test func sixtyFourConcurrentClients() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let connected = PthreadMutex(0)  // not Mutex: TSan false races (PthreadMutex.swift)
        let mostServedAtOnce = PthreadMutex(0)
        // Real threads, all connected at once before any works (the cooperative pool
        // has as many threads as cores and would run them two by two).
        let failures = WireHarness.onThreads(64) { client in
            guard let (fd, _) = try? harness.rawConnection() else { return 1 }
            defer { Glibc.close(fd) }
            connected.withLock { $0 += 1 }
            guard WireHarness.eventually(seconds: 30, { connected.withLock { $0 } == 64 }) else { return 1 }
            mostServedAtOnce.withLock { $0 = max($0, harness.server.connectionCount) }
            var failures = 0
            for round in 0..<20 {
                let path = round % 2 == 0 ? ScriptedKernel.controlPath : ScriptedKernel.diskPath
                guard let opened = try? WireHarness.roundTrip(fd, .open(path: path, flags: O_RDWR)).result, opened >= 3 else {
                    failures += 1; continue
                }
                if path == ScriptedKernel.controlPath {
                    let reply = try? WireHarness.roundTrip(fd, .ioctl(
                        fd: Int32(opened), request: UInt64(BLKSNAP_REQ_VERSION), argument: 0x2000,
                        regions: [.init(address: 0x2000, bytes: [UInt8](repeating: 0xAA, count: 8), writable: true)]))
                    if reply != .ioctl(result: 0, writes: [.init(address: 0x2000, bytes: [2, 0, 0, 0, 0, 0, 0, 0], writable: true)]) {
                        failures += 1
                    }
                } else {
                    let byte = UInt8(truncatingIfNeeded: client)
                    let offset = UInt64(client * 64 + round)
                    _ = try? WireHarness.roundTrip(fd, .pwrite(fd: Int32(opened), offsetBytes: offset, bytes: [byte], nowait: false))
                    if (try? WireHarness.roundTrip(fd, .pread(fd: Int32(opened), offsetBytes: offset, lengthBytes: 1)))
                        != .pread(result: 1, bytes: [byte]) { failures += 1 }
                }
                if (try? WireHarness.roundTrip(fd, .close(fd: Int32(opened))).result) != 0 { failures += 1 }
            }
            return failures
        }
        #expect(failures == [Int](repeating: 0, count: 64))
        #expect(mostServedAtOnce.withLock { $0 } == 64)
        #expect(WireHarness.eventually { harness.server.connectionCount == 0 })
        #expect(harness.kernel.openDescriptorCount == 0)
    }

    /// Socket inodes of this process that belong to the Unix socket bound at `path`
    /// (the listener and the connections it accepted).
    /// (/proc/net/unix shows the path a socket was bound at: the server binds in a
    /// private `.blksnapsim-*` directory beside the final path, then renames.)
    private func openSocketInodes(boundBeside path: String) throws -> Set<String> {
        let directory = String(path[..<path.lastIndex(of: "/")!])
        let table = try procFile("/proc/net/unix")
        var inodes: Set<String> = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 8, fields[7].hasPrefix(directory + "/.blksnapsim-") { inodes.insert(String(fields[6])) }
        }
        var open: Set<String> = []
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry),
                  target.hasPrefix("socket:[") else { continue }
            let inode = String(target.dropFirst(8).dropLast())
            if inodes.contains(inode) { open.insert(inode) }
        }
        return open
    }

    /// The whole of a /proc file (read in a loop: its size is reported as 0).
    private func procFile(_ path: String) throws -> String {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SimErrno(errno) }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw SimErrno(errno) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func noDescriptorLeaks() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        #expect(try openSocketInodes(boundBeside: harness.socketPath).count == 1)  // the listener
        var clients: [Int32] = []
        for _ in 0..<8 {
            let (fd, _) = try harness.rawConnection()
            _ = try WireHarness.roundTrip(fd, .open(path: ScriptedKernel.diskPath, flags: O_RDWR))
            clients.append(fd)
        }
        let during = try openSocketInodes(boundBeside: harness.socketPath).count
        #expect(during == 9)
        for fd in clients { Glibc.close(fd) }
        #expect(WireHarness.eventually { (try? openSocketInodes(boundBeside: harness.socketPath).count) == 1 })
        #expect(WireHarness.eventually { harness.kernel.openDescriptorCount == 0 })
        harness.server.stop()
        #expect(WireHarness.eventually { (try? openSocketInodes(boundBeside: harness.socketPath).count) == 0 })
    }
}
