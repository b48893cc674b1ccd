#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A read-only NBD server over SwiftNIO: one export per ``NBDExportSource``, served to
/// any number of clients at once. The protocol is ``NBDServerMachine``; this class owns
/// the sockets, the threads that call the sources, TLS, and the stop conditions.
///
/// ```swift
/// let server = try NBDServer(sources: [source], configuration: .init(address: .unix(path: "/run/sda.sock")))
/// let address = try server.start()
/// let reason = server.waitUntilStopped()      // stop() from a signal handler ends it
/// ```
public final class NBDServer: Sendable {
    /// The sources, in export order (the first is the default export).
    public let sources: [any NBDExportSource]
    /// The configuration.
    public let configuration: NBDServerConfiguration

    let descriptors: [NBDExportDescriptor]
    let group: MultiThreadedEventLoopGroup
    let pool: NIOThreadPool
    let sslContext: NIOSSLContext?

    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var stop: NBDServerStop?
        var fatal: NBDSourceError?
        var healthTask: RepeatedTask?
        var started = false
        var finished = false
        var accepted = 0
    }
    private let state = NIOLockedValueBox(State())
    private let stopped = ConditionLock(value: 0)

    /// Prepares a server (nothing listens until ``start()``).
    ///
    /// - Throws: ``NBDServerError`` when two sources share a name, there is none, or the
    ///   TLS credentials cannot be loaded.
    public init(sources: [any NBDExportSource], configuration: NBDServerConfiguration) throws(NBDServerError) {
        guard !sources.isEmpty else { throw NBDServerError("no export to serve: name at least one device") }
        var names = Set<String>()
        for source in sources where !names.insert(source.name).inserted {
            throw NBDServerError("two exports are named '\(source.name)': export names must be unique (give devices with different base names)")
        }
        self.sources = sources
        self.configuration = configuration
        descriptors = sources.map { $0.exportDescriptor() }
        if let tls = configuration.tls {
            sslContext = try Self.makeSSLContext(tls)
        } else {
            sslContext = nil
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        pool = NIOThreadPool(numberOfThreads: max(1, configuration.ioThreads))
    }

    private static func makeSSLContext(_ tls: NBDTLSCredentials) throws(NBDServerError) -> NIOSSLContext {
        for (path, what) in [(tls.certificatePath, "server certificate"), (tls.privateKeyPath, "server private key"),
                             (tls.authorityPath, "certificate authority of the clients")] where access(path, R_OK) != 0 {
            let errnoName = errno == ENOENT ? "ENOENT" : errno == EACCES ? "EACCES" : "errno \(errno)"
            throw NBDServerError("TLS: cannot read the \(what) \(path): --tls-certs DIR must hold server-cert.pem, server-key.pem and ca-cert.pem", errnoName: errnoName)
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem)
            var configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
                certificateChain: chain, privateKey: .privateKey(key), trustRoots: .file(tls.authorityPath))
            configuration.certificateVerification = .noHostnameVerification
            configuration.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw NBDServerError("TLS: the credentials in \(tls.directory) cannot be loaded: \(error) (PEM x509 certificate and key expected)", errnoName: "EINVAL")
        }
    }

    /// Binds and starts accepting connections; returns the address bound (with the port
    /// chosen when port 0 was asked).
    public func start() throws(NBDServerError) -> NBDServerConfiguration.Address {
        pool.start()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NBDConnectionHandler(server: self))
                    self.register(channel)
                }
            }
        let channel: any Channel
        let bound: NBDServerConfiguration.Address
        switch configuration.address {
        case .unix(let path):
            if access(path, F_OK) == 0 {
                throw NBDServerError("\(path) already exists: remove it if no server uses it, or choose another --unix path", errnoName: "EADDRINUSE")
            }
            let previous = umask(0o177)
            defer { umask(previous) }
            do {
                channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).wait()
            } catch {
                throw NBDServerError("cannot listen on the Unix socket \(path): \(error)", errnoName: Self.errnoName(error))
            }
            chmod(path, 0o600)
            bound = .unix(path: path)
        case .tcp(let host, let port):
            do {
                channel = try bootstrap.bind(host: host, port: port).wait()
            } catch {
                throw NBDServerError("cannot listen on TCP \(host):\(port): \(error)", errnoName: Self.errnoName(error))
            }
            bound = .tcp(host: host, port: channel.localAddress?.port ?? port)
        }
        let loop = group.next()
        let health = loop.scheduleRepeatedAsyncTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
            pool.runIfActive(eventLoop: loop) { [self] in
                for source in sources {
                    if let error = source.healthCheck() { fail(error) }
                }
            }
        }
        state.withLockedValue {
            $0.serverChannel = channel
            $0.healthTask = health
            $0.started = true
        }
        configuration.logger.notice("listening on \(bound) with \(sources.count) export(s): \(sources.map(\.name).joined(separator: ", "))\(sslContext == nil ? "" : " (TLS required)")")
        return bound
    }

    private static func errnoName(_ error: any Error) -> String? {
        if let io = error as? IOError {
            switch io.errnoCode {
            case EADDRINUSE: return "EADDRINUSE"
            case EACCES: return "EACCES"
            case ENOENT: return "ENOENT"
            case EADDRNOTAVAIL: return "EADDRNOTAVAIL"
            default: return "errno \(io.errnoCode)"
            }
        }
        return nil
    }

    /// Blocks until the server stops (``stop()``, or a fatal source error), closes every
    /// connection and the listening socket (a Unix socket file is removed), and says why.
    public func waitUntilStopped() -> NBDServerStop {
        stopped.lock(whenValue: 1)
        stopped.unlock()
        return shutDown()
    }

    /// Asks the server to stop; ``waitUntilStopped()`` returns ``NBDServerStop/requested``.
    public func stop() {
        finish(.requested)
    }

    /// The fatal source error that is stopping the server, if any: requests are answered `EIO`.
    public var failure: NBDSourceError? { state.withLockedValue { $0.fatal } }

    /// A source failed for good: every later request fails `EIO`, the reason is logged,
    /// and the server stops shortly after (so clients in flight get their `EIO` first).
    func fail(_ error: NBDSourceError) {
        let first = state.withLockedValue { state -> Bool in
            guard state.fatal == nil else { return false }
            state.fatal = error
            return true
        }
        guard first else { return }
        configuration.logger.error("stopping: \(error.message)")
        // Clients still connected get EIO for a while; the server stops when the last one
        // leaves, or after the grace period.
        if connectionCount == 0 { finish(.sourceFailed(error)) }
        group.next().scheduleTask(in: .seconds(Int64(Self.fatalGraceSeconds))) { [self] in finish(.sourceFailed(error)) }
    }

    /// Seconds a failed server keeps answering `EIO` to connected clients before it stops.
    public static let fatalGraceSeconds = 2

    private func finish(_ reason: NBDServerStop) {
        let first = state.withLockedValue { state -> Bool in
            guard state.stop == nil else { return false }
            state.stop = reason
            return true
        }
        guard first else { return }
        stopped.lock()
        stopped.unlock(withValue: 1)
    }

    private func shutDown() -> NBDServerStop {
        let (reason, server, connections, health, alreadyFinished) = state.withLockedValue { state in
            defer { state.finished = true }
            return (state.stop ?? .requested, state.serverChannel, Array(state.connections.values), state.healthTask, state.finished)
        }
        guard !alreadyFinished else { return reason }
        health?.cancel()
        try? server?.close().wait()
        for connection in connections { try? connection.close().wait() }
        if case .unix(let path) = configuration.address, server != nil { unlink(path) }
        try? pool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
        configuration.logger.notice("stopped: \(reason)")
        return reason
    }

    // MARK: - Connections

    /// Number of open client connections.
    public var connectionCount: Int { state.withLockedValue { $0.connections.count } }

    /// Numbers connections for the log, from 1.
    func nextConnectionNumber() -> Int {
        state.withLockedValue { state in
            state.accepted += 1
            return state.accepted
        }
    }

    private func register(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLockedValue { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            let (left, fatal) = state.withLockedValue { state in
                state.connections.removeValue(forKey: id)
                return (state.connections.count, state.fatal)
            }
            if left == 0, let fatal { finish(.sourceFailed(fatal)) }
        }
    }
}
