// libFuzzer target (b): the simulator socket's frame reader and message decoders.
// The input is written into one end of a socket pair; frames are read from the other
// end until the stream ends or a frame is refused, and every frame body is decoded as
// a request and as a reply. Compiled by scripts/fuzz.sh with Sources/SimKernel.
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var fds: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { fatalError("socketpair: \(errno)") }
    defer { close(fds[0]); close(fds[1]) }
    var bufferBytes: Int32 = 1 << 20
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &bufferBytes, socklen_t(MemoryLayout<Int32>.size))
    var sent = 0
    while sent < size {
        let n = send(fds[0], data + sent, size - sent, Int32(MSG_NOSIGNAL))
        if n <= 0 { break }
        sent += n
    }
    shutdown(fds[0], Int32(SHUT_WR))
    var frames = 0
    while frames < 64 {
        frames += 1
        guard let frame = try? WireSocket.receive(fds[1]) else { break }
        if let request = try? WireRequest.decode(type: frame.type, body: frame.body) {
            // A decoded request re-encodes to a body that decodes to the same request.
            let again = try? WireRequest.decode(type: request.type.rawValue, body: request.encodedBody())
            if again != request { fatalError("request \(request.type) does not round-trip") }
        }
        _ = try? WireReply.decode(type: frame.type, body: frame.body)
        _ = try? WireReply.decode(type: frame.type | WireProtocol.replyBit, body: frame.body)
    }
    return 0
}
