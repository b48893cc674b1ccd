import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The NBD clients the export tests drive: libnbd's nbdinfo/nbdcopy, qemu-img, openssl.
enum NBDTools {
    static let nbdinfo = URL(fileURLWithPath: "/usr/bin/nbdinfo")
    static let nbdcopy = URL(fileURLWithPath: "/usr/bin/nbdcopy")
    static let qemuImg = URL(fileURLWithPath: "/usr/bin/qemu-img")
    static let openssl = URL(fileURLWithPath: "/usr/bin/openssl")

    /// True when every client is installed (scripts/install-deps.sh); under CI the tests
    /// run regardless and fail on a missing tool.
    static var available: Bool {
        CLITestSupport.isCI || [nbdinfo, nbdcopy, qemuImg, openssl].allSatisfy { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs a tool, expecting success; returns stdout.
    @discardableResult
    static func run(_ tool: URL, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let outcome = try CLITestSupport.runProgram(tool, arguments)
        #expect(outcome.status == 0, "\(tool.lastPathComponent) \(arguments.joined(separator: " ")) failed: \(outcome.stderr)",
                sourceLocation: sourceLocation)
        return outcome.stdout
    }

    /// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, in one
    /// directory (the names qemu-nbd and libnbd look for).
    static func makeCertificates(in directory: URL) throws {
        let dir = directory.path
        func ssl(_ arguments: [String]) throws { try run(openssl, arguments) }
        try ssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/ca-key.pem", "-out", "\(dir)/ca-cert.pem",
                 "-days", "2", "-subj", "/CN=blksnap test CA"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".write(toFile: "\(dir)/server.ext", atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: "\(dir)/client.ext", atomically: true, encoding: .utf8)
        for role in ["server", "client"] {
            try ssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/\(role)-key.pem", "-out", "\(dir)/\(role).csr",
                     "-subj", role == "server" ? "/CN=localhost" : "/CN=backup client"])
            try ssl(["x509", "-req", "-in", "\(dir)/\(role).csr", "-CA", "\(dir)/ca-cert.pem", "-CAkey", "\(dir)/ca-key.pem",
                     "-CAcreateserial", "-out", "\(dir)/\(role)-cert.pem", "-days", "2", "-extfile", "\(dir)/\(role).ext"])
        }
    }
}

/// A simulator with a 64 MiB device `disk` (and a 4 MiB `small`) in a taken snapshot whose CBT,
/// since number 1, has two changed regions; plus a running `blksnapctl nbd serve`.
final class NBDFixture {
    let sim: E2ESimulator
    let socket: String
    /// The image bytes of `disk`, read with `sim read`.
    let image: Data
    let imagePath: String
    let snapshotID: String
    /// `cbt read /dev/disk --since 1 --json`.
    let changed: [String: Any]
    var server: NBDServeProcess?

    init(sourceLocation: SourceLocation = #_sourceLocation) throws {
        sim = try E2ESimulator()
        socket = sim.directory.appendingPathComponent("nbd.sock").path
        try sim.ok(["sim", "device", "add", "disk", "--size", "64M"])
        try sim.ok(["sim", "device", "add", "small", "--size", "4M"])
        try sim.ok(["sim", "device", "add", "store", "--size", "64M"])
        try sim.ok(["sim", "write", "/dev/disk", "--offset", "0", "--pattern", "1", "--length", "64M"])
        try sim.ok(["sim", "write", "/dev/small", "--offset", "0", "--pattern", "9", "--length", "4M"])
        try sim.ok(["tracker", "attach", "/dev/disk"])
        try sim.ok(["tracker", "attach", "/dev/small"])
        let first = try sim.ok(["snapshot", "create", "/dev/disk", "/dev/small"])
        try sim.ok(["snapshot", "append-storage", first, "--device", "/dev/store", "--range", "0:32768"])
        try sim.ok(["snapshot", "take", first])
        try sim.ok(["snapshot", "destroy", first])
        // Changed after take 1: 128 KiB at 1 MiB and 1 MiB + 512 bytes at 40 MiB - 512.
        try sim.ok(["sim", "write", "/dev/disk", "--offset", "1M", "--pattern", "3", "--length", "128K"])
        try sim.ok(["sim", "write", "/dev/disk", "--offset", "41942528", "--pattern", "4", "--length", "1049088"])
        snapshotID = try sim.ok(["snapshot", "create", "/dev/disk", "/dev/small"])
        try sim.ok(["snapshot", "append-storage", snapshotID, "--device", "/dev/store", "--range", "32768:65536"])
        try sim.ok(["snapshot", "take", snapshotID])
        // Written after take 2: the image must not show it.
        try sim.ok(["sim", "write", "/dev/disk", "--offset", "0", "--pattern", "5", "--length", "2M"])
        let info = try sim.json(["snapshot", "info", "/dev/disk"])
        imagePath = try #require(info["image"] as? String, "snapshot info: \(info)", sourceLocation: sourceLocation)
        let file = sim.directory.appendingPathComponent("image.raw").path
        try sim.ok(["sim", "read", imagePath, "--offset", "0", "--length", "64M", "--output", file])
        image = try Data(contentsOf: URL(fileURLWithPath: file))
        changed = try sim.json(["cbt", "read", "/dev/disk", "--since", "1"])
    }

    /// The dirty byte ranges `cbt read --since 1` lists: (offset, length).
    var changedByteRanges: [[Int]] {
        (changed["changed_ranges"] as? [[String: Int]] ?? []).map { [$0["offset_sectors"]! * 512, $0["count_sectors"]! * 512] }
    }

    /// Starts `nbd serve ARGS --json --sim S` and waits for its listening record.
    @discardableResult
    func serve(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> NBDServeProcess {
        let process = try NBDServeProcess(["nbd", "serve", "--json", "--sim", sim.socket] + arguments, sourceLocation: sourceLocation)
        server = process
        return process
    }

    /// `nbd+unix:///NAME?socket=...`.
    func uri(_ name: String) -> String { "nbd+unix:///\(name)?socket=\(socket)" }
}

/// A running `blksnapctl nbd serve`.
final class NBDServeProcess {
    let process = Process()
    private let out = Pipe()
    private let err = Pipe()
    /// The `listening` record.
    private(set) var listening: [String: Any] = [:]
    private let errorText = Locked<Data>(Data())

    /// Starts `blksnapctl ARGS` with `extraEnvironment` added to this process's, and waits
    /// for its `listening` record.
    init(_ arguments: [String], environment extraEnvironment: [String: String] = [:],
         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let binary = try #require(CLITestSupport.binary, "blksnapctl is not built", sourceLocation: sourceLocation)
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.merging(extraEnvironment) { _, new in new }
        environment["BLKSNAPCTL_SIM"] = nil
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errorText = self.errorText
        let handle = err.fileHandleForReading
        Thread { errorText.set(handle.readDataToEndOfFile()) }.start()
        // Lines up to the listening record (a supervising session prints its own first).
        var data = Data()
        let deadline = Date().addingTimeInterval(60)
        var line = ""
        search: while Date() < deadline {
            for candidate in data.split(separator: UInt8(ascii: "\n")) where candidate.last == UInt8(ascii: "}") {
                let text = String(decoding: candidate, as: UTF8.self)
                if text.contains("\"event\":\"listening\"") {
                    line = text
                    break search
                }
            }
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        listening = (try? E2E.object(line)) ?? [:]
        #expect(listening["event"] as? String == "listening",
                "nbd serve did not start: \(String(decoding: data, as: UTF8.self))", sourceLocation: sourceLocation)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The server's open descriptors (/proc/PID/fd).
    var descriptorCount: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd").count) ?? -1
    }

    /// Waits (at most 10 s) until the server holds no more than `count` descriptors;
    /// returns the count then. Not a timing assertion: the closes are asynchronous.
    func descriptors(settlingAt count: Int) -> Int {
        let deadline = Date().addingTimeInterval(10)
        while descriptorCount > count, Date() < deadline { usleep(20_000) }
        return descriptorCount
    }

    /// Sends `signal` (none: just waits), waits for the exit; returns status, stdout rest and stderr.
    func stop(_ signal: Int32? = SIGTERM) -> (status: Int32, stdout: String, stderr: String) {
        if let signal { kill(process.processIdentifier, signal) }
        let rest = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorText.isSet { usleep(1000) }
        return (process.terminationStatus, String(decoding: rest, as: UTF8.self), String(decoding: errorText.value, as: UTF8.self))
    }
}

/// A hand-driven NBD client over a Unix or TCP socket, to send what real clients never do.
final class RawNBDClient {
    let fd: Int32

    /// Connects to a Unix socket.
    init(unix path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        setTimeout()
    }

    /// Connects to 127.0.0.1:`port`.
    init(tcpPort port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        setTimeout()
    }

    private func setTimeout() {
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Exactly `count` bytes, or nil at end of stream / timeout.
    func receive(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            got += n
        }
        return bytes
    }

    /// True when the server closed the connection (EOF before any byte).
    func receivesEOF() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }

    static func be(_ bytes: some Collection<UInt8>) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (24 - 8 * UInt32($0))) & 0xff) } }
    static func u64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (56 - 8 * UInt64($0))) & 0xff) } }

    /// Reads the 18-byte greeting and sends client flags (FIXED_NEWSTYLE | NO_ZEROES).
    func greet() -> Bool {
        guard let greeting = receive(18), Self.be(greeting[0..<8]) == 0x4e42_444d_4147_4943 else { return false }
        send(Self.u32(3))
        return true
    }

    func option(_ code: UInt32, _ data: [UInt8] = []) {
        send(Self.u64(0x4948_4156_454f_5054) + Self.u32(code) + Self.u32(UInt32(data.count)) + data)
    }

    /// One option reply: (type, data), or nil.
    func optionReply() -> (type: UInt32, data: [UInt8])? {
        guard let header = receive(20), Self.be(header[0..<8]) == 0x0003_e889_0455_65a9 else { return nil }
        let length = Int(Self.be(header[16..<20]))
        guard let data = receive(length) else { return nil }
        return (UInt32(Self.be(header[12..<16])), data)
    }

    /// Option replies up to and including the ACK or an error; their types.
    func optionReplies() -> [UInt32] {
        var types: [UInt32] = []
        while let reply = optionReply() {
            types.append(reply.type)
            if reply.type == 1 || reply.type >= 0x8000_0000 { break }
        }
        return types
    }

    /// Structured replies, GO on `name`; true on success.
    func go(_ name: String, structured: Bool = true) -> Bool {
        if structured {
            option(8)
            guard optionReplies() == [1] else { return false }
        }
        option(7, Self.u32(UInt32(name.utf8.count)) + Array(name.utf8) + Self.u16(0))
        return optionReplies().last == 1
    }

    func request(_ type: UInt16, handle: UInt64, offset: UInt64, length: UInt32, flags: UInt16 = 0) {
        send(Self.u32(0x2560_9513) + Self.u16(flags) + Self.u16(type) + Self.u64(handle) + Self.u64(offset) + Self.u32(length))
    }

    /// A structured reply to a read (or an error): (error, data) — data reassembled from
    /// its OFFSET_DATA chunks relative to `offset`; nil if the stream broke.
    func structuredReply(handle: UInt64, offset: UInt64, length: Int) -> (error: UInt32, data: [UInt8])? {
        var data = [UInt8](repeating: 0, count: length)
        var error: UInt32 = 0
        while true {
            guard let header = receive(20), Self.be(header[0..<4]) == 0x668e_33ef, Self.be(header[8..<16]) == handle else { return nil }
            let flags = Self.be(header[4..<6]), type = Self.be(header[6..<8]), chunk = Int(Self.be(header[16..<20]))
            guard let payload = receive(chunk) else { return nil }
            switch type {
            case 1:
                let at = Int(Self.be(payload[0..<8]) - offset)
                data.replaceSubrange(at..<at + chunk - 8, with: payload[8...])
            case 0x8001:
                error = UInt32(Self.be(payload[0..<4]))
            default:
                break
            }
            if flags & 1 != 0 { return (error, data) }
        }
    }
}
