#if canImport(Glibc)
import Glibc
#endif
import SimKernel

/// One frame as read from a socket: its type and body.
public struct WireFrame: Sendable, Equatable {
    /// The type field (a request type, or a reply type with bit 15 set).
    public var type: UInt16
    /// The body.
    public var body: [UInt8]

    /// Creates a frame.
    public init(type: UInt16, body: [UInt8]) {
        self.type = type
        self.body = body
    }
}

/// Frame I/O and Unix-socket plumbing shared by ``SimServer`` and the client.
///
/// Sends use `MSG_NOSIGNAL` (a vanished peer is `EPIPE`, never `SIGPIPE`); reads
/// grow the body buffer as bytes arrive, so a header announcing 64 MiB costs
/// memory only for what the peer really sends.
public enum WireSocket {
    /// Writes one frame (header and body) completely.
    public static func send(_ fd: Int32, type: UInt16, body: [UInt8]) throws(WireError) {
        guard body.count <= WireProtocol.maximumBodyBytes else {
            throw .oversized(bodyBytes: UInt32(truncatingIfNeeded: body.count))
        }
        var frame = WireWriter()
        frame.u32(UInt32(body.count)); frame.u16(type); frame.u16(0)
        var bytes = frame.bytes
        bytes.append(contentsOf: body)
        try sendAll(fd, bytes)
    }

    /// Writes raw bytes completely (tests use it to send broken frames).
    public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(WireError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .system(code)
            }
            sent += n
        }
    }

    /// Reads one frame.
    ///
    /// - Throws: `.closed` at a clean end of stream, `.truncated` inside a frame,
    ///   `.oversized` for a header announcing too much (the body is not read),
    ///   `.malformed` for a non-zero reserved field.
    public static func receive(_ fd: Int32) throws(WireError) -> WireFrame {
        var header = [UInt8](repeating: 0, count: WireProtocol.headerBytes)
        let got = try receiveExactly(fd, into: &header, count: header.count)
        if got == 0 { throw .closed }
        if got < header.count { throw .truncated }
        var r = WireReader(header)
        let length = try r.u32(), type = try r.u16(), reserved = try r.u16()
        guard Int(length) <= WireProtocol.maximumBodyBytes else { throw .oversized(bodyBytes: length) }
        guard reserved == 0 else { throw .malformed("reserved header field is \(reserved)") }
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(Int(length), 1 << 20))
        while body.count < Int(length) {
            let want = min(chunk.count, Int(length) - body.count)
            let n = try receiveExactly(fd, into: &chunk, count: want)
            body.append(contentsOf: chunk[0..<n])
            if n < want { throw .truncated }
        }
        return WireFrame(type: type, body: body)
    }

    /// Reads until `count` bytes arrived or the stream ended; returns the bytes read.
    private static func receiveExactly(_ fd: Int32, into buffer: inout [UInt8], count: Int) throws(WireError) -> Int {
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + done, count - done, 0) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == ECONNRESET { return done }
                throw .system(code)
            }
            if n == 0 { return done }
            done += n
        }
        return done
    }

    /// Fills a `sockaddr_un` for `path`.
    ///
    /// - Throws: `ENAMETOOLONG` (as a ``SimErrno``) if the path does not fit in `sun_path`.
    public static func address(_ path: String) throws(SimErrno) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let utf8 = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !utf8.isEmpty, utf8.count < capacity, !utf8.contains(0) else { throw SimErrno(ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: utf8) }
        return address
    }

    /// Connects a new `SOCK_STREAM` socket (close-on-exec) to the Unix socket at `path`.
    ///
    /// - Returns: the connected descriptor.
    /// - Throws: the `socket`/`connect` errno (`ECONNREFUSED`, `ENOENT`, ...).
    public static func connect(to path: String) throws(SimErrno) -> Int32 {
        var address = try address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SimErrno(errno) }
        while true {
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc == 0 { return fd }
            let code = errno
            if code == EINTR { continue }
            Glibc.close(fd)
            throw SimErrno(code)
        }
    }
}
