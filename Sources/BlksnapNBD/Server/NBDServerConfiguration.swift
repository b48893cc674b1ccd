import Logging

/// How an ``NBDServer`` listens and what it logs.
public struct NBDServerConfiguration: Sendable {
    /// Where the server listens.
    public enum Address: Sendable, Hashable, CustomStringConvertible {
        /// A Unix socket, created mode 0600 and removed when the server stops.
        case unix(path: String)
        /// A TCP address (`port` 0: any free port; ``NBDServer/start()`` returns the one bound).
        case tcp(host: String, port: Int)

        /// `unix:PATH` or `tcp:HOST:PORT`.
        public var description: String {
            switch self {
            case .unix(let path): "unix:\(path)"
            case .tcp(let host, let port): host.contains(":") ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
            }
        }
    }

    /// Where to listen.
    public var address: Address
    /// TLS credentials: when set, clients must negotiate `NBD_OPT_STARTTLS` before any other option.
    public var tls: NBDTLSCredentials?
    /// Bytes of read replies a connection may have in flight (read, queued or being sent)
    /// before the server stops reading its requests: the memory bound per client.
    public var maximumInFlightBytesPerConnection: Int
    /// Largest content chunk of a structured read reply.
    public var readChunkBytes: Int
    /// Threads that run the blocking source calls.
    public var ioThreads: Int
    /// Receives one line per event worth telling an operator: `notice` for listening
    /// and stopped, `info` for each connection's export and end, `warning` for refused
    /// negotiations and failed TLS, `error` for failed reads and the reason a server stops.
    public var logger: Logger

    /// A configuration with the defaults: 64 MiB in flight per connection, 4 MiB chunks,
    /// 4 I/O threads, no log output.
    public init(address: Address, tls: NBDTLSCredentials? = nil,
                maximumInFlightBytesPerConnection: Int = 64 << 20, readChunkBytes: Int = 4 << 20,
                ioThreads: Int = 4,
                logger: Logger = Logger(label: "blksnap.nbd", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.address = address
        self.tls = tls
        self.maximumInFlightBytesPerConnection = maximumInFlightBytesPerConnection
        self.readChunkBytes = readChunkBytes
        self.ioThreads = ioThreads
        self.logger = logger
    }
}

/// x509 credentials in one directory, named as qemu-nbd and nbdkit name them:
/// `server-cert.pem`, `server-key.pem`, and `ca-cert.pem`, the authority whose certificates
/// clients must present (libnbd's `tls-certificates=DIR` reads `ca-cert.pem`,
/// `client-cert.pem` and `client-key.pem` from its own directory).
public struct NBDTLSCredentials: Sendable, Hashable {
    /// The directory.
    public var directory: String

    /// Credentials in `directory`.
    public init(directory: String) {
        self.directory = directory
    }

    /// The server's certificate chain (PEM).
    public var certificatePath: String { directory + "/server-cert.pem" }
    /// The server's private key (PEM).
    public var privateKeyPath: String { directory + "/server-key.pem" }
    /// The certificate authority of the clients (PEM).
    public var authorityPath: String { directory + "/ca-cert.pem" }
}

/// Why an ``NBDServer`` stopped.
public enum NBDServerStop: Sendable, Hashable, CustomStringConvertible {
    /// ``NBDServer/stop()`` was called (a signal, a supervising session).
    case requested
    /// A source failed fatally: its snapshot was destroyed or corrupted.
    case sourceFailed(NBDSourceError)

    /// One line.
    public var description: String {
        switch self {
        case .requested: "stop requested"
        case .sourceFailed(let error): error.message
        }
    }
}

/// The server could not start: what, the errno, and what to do.
public struct NBDServerError: Error, Sendable, CustomStringConvertible {
    /// The errno name, when a system call failed (`EADDRINUSE`, `ENOENT`...).
    public var errnoName: String?
    /// What failed and the remedy.
    public var message: String

    /// Creates an error.
    public init(_ message: String, errnoName: String? = nil) {
        self.message = message
        self.errnoName = errnoName
    }

    /// The message, with the errno name.
    public var description: String { errnoName.map { "\(message) (\($0))" } ?? message }
}
