import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP server on 127.0.0.1 that answers the first `failures` requests with
/// `503 SlowDown` (S3's error body, request ids `r1`, `r2`, …) and every later one with an empty
/// `200 OK`: the retry path of ``S3Client`` without a real service. With `tls`, it speaks
/// HTTPS with that context.
final class FlakyS3Server: Sendable {
    private let channel: any Channel
    private let requests: NIOLockedValueBox<Int>
    /// The port it listens on.
    let port: Int

    /// How many requests arrived.
    var requestCount: Int { requests.withLockedValue { $0 } }

    init(failures: Int, tls: NIOSSLContext? = nil) async throws {
        let requests = NIOLockedValueBox(0)
        self.requests = requests
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(requests: requests, failures: failures))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    func close() async throws {
        try await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let requests: NIOLockedValueBox<Int>
        let failures: Int

        init(requests: NIOLockedValueBox<Int>, failures: Int) {
            self.requests = requests
            self.failures = failures
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            let number = requests.withLockedValue { count in
                count += 1
                return count
            }
            let failing = number <= failures
            let body = failing
                ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
                    + "<Message>Please reduce your request rate.</Message><RequestId>r\(number)</RequestId></Error>"
                : ""
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            headers.add(name: "ETag", value: "\"etag\(number)\"")
            headers.add(name: "x-amz-request-id", value: "r\(number)")
            let head = HTTPResponseHead(version: .http1_1, status: failing ? .serviceUnavailable : .ok, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
