import Logging
import NIOCore
import NIOSSL

/// The channel handler of one client: moves bytes between the channel and an
/// ``NBDServerMachine``, runs the source calls on the server's thread pool, and writes
/// the replies (out of order, as the protocol allows). It holds back reading requests
/// while a connection has too many reply bytes in flight.
final class NBDConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: NBDServer
    private var machine: NBDServerMachine
    private var input = ByteBuffer()
    private var context: ChannelHandlerContext?
    private var source: (any NBDExportSource)?
    /// Reply bytes being prepared or not yet written to the socket.
    private var inFlightBytes = 0
    /// Requests being served.
    private var inFlightRequests = 0
    /// A `read` from the pipeline held back by the in-flight limit.
    private var heldRead = false
    /// Why the connection closes once the requests in flight are answered.
    private var closeReason: String?
    private var peer = "client"

    init(server: NBDServer) {
        self.server = server
        machine = NBDServerMachine(exports: server.descriptors, tlsPolicy: server.sslContext == nil ? .disabled : .required)
    }

    private var paused: Bool { inFlightBytes >= server.configuration.maximumInFlightBytesPerConnection }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        let number = server.nextConnectionNumber()
        if case .unix = server.configuration.address {
            peer = "client #\(number)"
        } else {
            peer = "client #\(number) (\(context.remoteAddress.map { "\($0)" } ?? "?"))"
        }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: machine.greeting())), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeReason = closeReason ?? "closed"
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if input.readableBytes == 0 {
            input = bytes
        } else {
            input.writeBuffer(&bytes)
        }
        process(context)
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            heldRead = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        server.configuration.logger.warning("\(peer): closing after error: \(error)")
        closeReason = closeReason ?? "error"
        context.close(promise: nil)
    }

    // MARK: - Driving the machine

    private func process(_ context: ChannelHandlerContext) {
        var wrote = false
        loop: while closeReason == nil, !paused {
            let step = input.withUnsafeReadableBytes { machine.consume($0) }
            guard let step else { break }
            input.moveReaderIndex(forwardBy: step.consumed)
            for action in step.actions {
                switch action {
                case .send(let bytes):
                    context.write(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
                    wrote = true
                case .startTLS:
                    context.flush()
                    wrote = false
                    input.clear()
                    guard let sslContext = server.sslContext else { break loop }
                    do {
                        try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext), position: .first)
                    } catch {
                        server.configuration.logger.warning("\(peer): TLS could not start: \(error)")
                        closeReason = "TLS failed"
                        context.close(promise: nil)
                    }
                    break loop
                case .enterTransmission(let index):
                    source = server.sources[index]
                    server.configuration.logger.info("\(peer): serving export '\(server.sources[index].name)'\(machine.structuredReplies ? " (structured replies)" : "")")
                case .read(let request):
                    serveRead(request, context)
                case .blockStatus(let request):
                    serveBlockStatus(request, context)
                case .refused(let message):
                    server.configuration.logger.warning("\(peer): refused: \(message)")
                case .close(let reason):
                    closeReason = reason
                    server.configuration.logger.info("\(peer): \(reason)")
                }
            }
        }
        if wrote { context.flush() }
        if input.readableBytes == 0 {
            input.clear()
        } else if input.readerIndex > 1 << 16 {
            input.discardReadBytes()
        }
        closeIfDone(context)
    }

    private func closeIfDone(_ context: ChannelHandlerContext) {
        if closeReason != nil, inFlightRequests == 0, context.channel.isActive {
            context.flush()
            context.close(promise: nil)
        }
    }

    /// A request's reply is fully written (or failed): release its bytes, resume reading.
    private func finished(bytes: Int) {
        let wasPaused = paused
        inFlightBytes -= bytes
        inFlightRequests -= 1
        guard let context else { return }
        if wasPaused, !paused {
            if heldRead {
                heldRead = false
                context.read()
            }
            process(context)
        } else {
            closeIfDone(context)
        }
    }

    private func begin(bytes: Int) {
        inFlightBytes += bytes
        inFlightRequests += 1
    }

    /// The completion of the last write of a reply.
    private func completion(bytes: Int, _ context: ChannelHandlerContext) -> EventLoopPromise<Void> {
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in finished(bytes: bytes) }
        return promise
    }

    // MARK: - READ

    private func serveRead(_ request: NBDReadRequest, _ context: ChannelHandlerContext) {
        let length = Int(request.lengthBytes)
        guard let source else { return }
        begin(bytes: length)
        let allocator = context.channel.allocator
        let server = self.server
        let future = server.pool.runIfActive(eventLoop: context.eventLoop) { () -> Result<ByteBuffer, NBDSourceError> in
            if let fatal = server.failure { return .failure(Self.failedForGood(fatal)) }
            let result = Self.readBuffer(source, allocator: allocator, offsetBytes: request.offsetBytes, length: length)
            if case .failure(let failure) = result, failure.isFatal { server.fail(failure) }
            return result
        }
        future.assumeIsolated().whenComplete { [self] result in
            guard let context = self.context else {
                finished(bytes: length)
                return
            }
            switch result {
            case .success(.success(let data)):
                writeData(data, for: request, context)
            case .success(.failure(let error)):
                server.configuration.logger.error("\(peer): read of \(length) bytes at \(request.offsetBytes) failed: \(error.message)")
                writeError(error.nbdError, error.message, handle: request.handle, structured: request.structured, bytes: length, context)
            case .failure(let error):
                writeError(.shutdown, "the server is shutting down (\(error))", handle: request.handle, structured: request.structured,
                           bytes: length, context)
            }
        }
    }

    private static func failedForGood(_ fatal: NBDSourceError) -> NBDSourceError {
        NBDSourceError(errno: .ioError, message: fatal.message, isFatal: false)
    }

    private func writeData(_ data: ByteBuffer, for request: NBDReadRequest, _ context: ChannelHandlerContext) {
        let length = data.readableBytes
        guard request.structured else {
            context.write(wrapOutboundOut(ByteBuffer(bytes: NBDReplyEncoder.simpleReply(handle: request.handle, error: nil))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(data), promise: completion(bytes: length, context))
            return
        }
        let chunk = request.dontFragment ? length : max(512, server.configuration.readChunkBytes)
        var offset = 0
        while offset < length {
            let count = min(chunk, length - offset)
            let last = offset + count == length
            let header = NBDReplyEncoder.offsetDataHeader(handle: request.handle, offsetBytes: request.offsetBytes + UInt64(offset),
                                                          dataBytes: UInt32(count), done: last)
            context.write(wrapOutboundOut(ByteBuffer(bytes: header)), promise: nil)
            let slice = data.getSlice(at: data.readerIndex + offset, length: count) ?? ByteBuffer()
            if last {
                context.writeAndFlush(wrapOutboundOut(slice), promise: completion(bytes: length, context))
            } else {
                context.write(wrapOutboundOut(slice), promise: nil)
            }
            offset += count
        }
    }

    private func writeError(_ error: NBDError, _ message: String, handle: UInt64, structured: Bool, bytes: Int,
                            _ context: ChannelHandlerContext) {
        let reply = structured
            ? NBDReplyEncoder.errorChunk(handle: handle, error: error, message: message)
            : NBDReplyEncoder.simpleReply(handle: handle, error: error)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply)), promise: completion(bytes: bytes, context))
    }

    // MARK: - BLOCK_STATUS

    private func serveBlockStatus(_ request: NBDBlockStatusRequest, _ context: ChannelHandlerContext) {
        let estimate = 4096
        guard let source else { return }
        begin(bytes: estimate)
        let server = self.server
        let future = server.pool.runIfActive(eventLoop: context.eventLoop) { () -> Result<[UInt8], NBDSourceError> in
            if let fatal = server.failure { return .failure(Self.failedForGood(fatal)) }
            let result = Self.blockStatusResult(request, source: source)
            if case .failure(let failure) = result, failure.isFatal { server.fail(failure) }
            return result
        }
        future.assumeIsolated().whenComplete { [self] result in
            guard let context = self.context else {
                finished(bytes: estimate)
                return
            }
            switch result {
            case .success(.success(let reply)):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply)), promise: completion(bytes: estimate, context))
            case .success(.failure(let error)):
                server.configuration.logger.error("\(peer): block status at \(request.offsetBytes) failed: \(error.message)")
                writeError(error.nbdError, error.message, handle: request.handle, structured: true, bytes: estimate, context)
            case .failure(let error):
                writeError(.shutdown, "the server is shutting down (\(error))", handle: request.handle, structured: true,
                           bytes: estimate, context)
            }
        }
    }

    /// Reads `length` bytes at `offsetBytes` into a new buffer.
    static func readBuffer(_ source: any NBDExportSource, allocator: ByteBufferAllocator, offsetBytes: UInt64,
                           length: Int) -> Result<ByteBuffer, NBDSourceError> {
        var buffer = allocator.buffer(capacity: length)
        var failure: NBDSourceError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { pointer in
            do throws(NBDSourceError) {
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: pointer[..<length]), at: offsetBytes)
            } catch {
                failure = error
            }
            return length
        }
        if let failure { return .failure(failure) }
        return .success(buffer)
    }

    /// ``blockStatusReply(_:source:)`` as a result.
    static func blockStatusResult(_ request: NBDBlockStatusRequest, source: any NBDExportSource) -> Result<[UInt8], NBDSourceError> {
        do throws(NBDSourceError) {
            return .success(try blockStatusReply(request, source: source))
        } catch {
            return .failure(error)
        }
    }

    /// One `NBD_REPLY_TYPE_BLOCK_STATUS` chunk per context, the last one flagged done: the
    /// source fills an ``NBDExtentBuilder`` per context, the encoder writes what it built.
    static func blockStatusReply(_ request: NBDBlockStatusRequest, source: any NBDExportSource) throws(NBDSourceError) -> [UInt8] {
        let limit = request.requestOne ? 1 : NBDLimits.maximumExtentsPerReply
        var reply: [UInt8] = []
        for (index, selected) in request.contexts.enumerated() {
            var extents = NBDExtentBuilder(offsetBytes: request.offsetBytes, lengthBytes: UInt64(request.lengthBytes), limit: limit)
            try source.blockStatus(selected.context, into: &extents)
            reply += NBDReplyEncoder.blockStatusChunk(handle: request.handle, contextID: selected.id, extents: extents.extents(),
                                                      done: index == request.contexts.count - 1)
        }
        return reply
    }
}
