#if canImport(Glibc)
import Glibc
#endif
import SimKernel
import Dispatch
import Foundation
import Synchronization

/// Hosts one ``SimKernel`` for many client processes over a Unix socket
/// (`blksnapctl sim serve`), speaking the protocol documented in ``WireProtocol``.
///
/// - The socket is created with mode 0600 without ever existing with wider
///   permissions: it is bound inside a fresh mode-0700 directory, chmod-ed, then
///   renamed into place.
/// - Each peer's uid is checked with `SO_PEERCRED`: only the server's own uid and
///   root are served; others get an `EACCES` error frame and are disconnected.
/// - One thread per connection. A request runs to completion on its connection's
///   thread; a client that disconnects interrupts its sleeping WAIT_EVENT.
/// - Descriptors belong to sessions (see ``WireProtocol``) and are closed when the
///   session's last connection closes.
/// - Device backing files added with ``SimDeviceBacking/rootDirectory`` live in
///   `rootDirectory/NAME.img`.
public final class SimServer: @unchecked Sendable {
    /// The kernel served.
    private let kernel: any SimServerBackend
    /// Path of the listening socket.
    public let socketPath: String
    /// Directory of the server's state files (device images by default).
    public let rootDirectory: String
    /// Most connections served at once; further ones get `EMFILE` and are closed.
    public static let maximumConnections = 1024

    private let listener: Int32
    private let socketInode: ino_t
    private let wakePipe: (read: Int32, write: Int32)
    private let threads = DispatchGroup()

    private struct State {
        var started = false
        var stopped = false
        var connections: [ObjectIdentifier: ServerConnection] = [:]
        var sessions: [[UInt8]: SimServerSession] = [:]
    }
    private let state = PthreadMutex(State())  // not Mutex: TSan false races (PthreadMutex.swift)

    /// Binds the socket (mode 0600) and creates `rootDirectory` (mode 0700) if missing.
    /// Call ``start()`` to begin accepting.
    ///
    /// - Throws: `EADDRINUSE` when a server already answers at `socketPath`, `EEXIST`
    ///   when something other than a socket is there, `ENAMETOOLONG` for a path that
    ///   does not fit a `sockaddr_un`, or the errno of the failing call.
    public convenience init(kernel: SimKernel, socketPath: String, rootDirectory: String) throws(SimErrno) {
        try self.init(backend: kernel, socketPath: socketPath, rootDirectory: rootDirectory)
    }

    /// Serves any backend (tests serve a scripted kernel).
    init(backend: any SimServerBackend, socketPath: String, rootDirectory: String) throws(SimErrno) {
        self.kernel = backend
        self.socketPath = socketPath
        self.rootDirectory = rootDirectory
        if mkdir(rootDirectory, 0o700) != 0, errno != EEXIST { throw SimErrno(errno) }
        var rootStatus = Glibc.stat()
        guard systemStat(rootDirectory, &rootStatus) == 0 else { throw SimErrno(errno) }
        guard rootStatus.st_mode & S_IFMT == S_IFDIR else { throw SimErrno(ENOTDIR) }
        (listener, socketInode) = try Self.bindPrivately(socketPath)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            let code = errno
            Glibc.close(listener)
            unlink(socketPath)
            throw SimErrno(code)
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wakePipe = (fds[0], fds[1])
    }

    deinit {
        stop()
        Glibc.close(wakePipe.read)
        Glibc.close(wakePipe.write)
    }

    /// Starts the accept thread (once).
    public func start() {
        let first = state.withLock { state in
            defer { state.started = true }
            return !state.started && !state.stopped
        }
        guard first else { return }
        threads.enter()
        Thread.detachNewThread { [self] in
            acceptLoop()
            threads.leave()
        }
    }

    /// Stops serving: closes the listener, removes the socket file (if it is still
    /// ours), disconnects every client (interrupting their sleeping calls), waits up
    /// to `timeoutSeconds` for the connection threads to finish and closes every
    /// session's descriptors. Safe to call more than once.
    public func stop(timeoutSeconds: Double = 5) {
        let stopping = state.withLock { state -> (connections: [ServerConnection], wasStarted: Bool)? in
            if state.stopped { return nil }
            state.stopped = true
            return (Array(state.connections.values), state.started)
        }
        guard let (connections, wasStarted) = stopping else { return }
        var status = Glibc.stat()
        if lstat(socketPath, &status) == 0, status.st_ino == socketInode {
            unlink(socketPath)
            Self.removeTree(WireProtocol.sharedStateDirectory(socketPath: socketPath))
        }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        for connection in connections { connection.disconnect() }
        if !wasStarted { Glibc.close(listener) }
        _ = threads.wait(timeout: .now() + timeoutSeconds)
    }

    /// Removes the clients' shared-state directory: its ABI folders and their small files
    /// (no deeper levels exist).
    private static func removeTree(_ path: String, depth: Int = 0) {
        guard depth < 3, let directory = opendir(path) else { return }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            if unlink(child) != 0 { removeTree(child, depth: depth + 1) }
        }
        closedir(directory)
        rmdir(path)
    }

    /// Number of clients connected now.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Whether a peer with this uid may use a server running as `serverUID`: the
    /// same user, or root.
    public static func isPeerAllowed(uid: uid_t, serverUID: uid_t = geteuid()) -> Bool {
        uid == serverUID || uid == 0
    }

    // MARK: - Socket setup

    /// Binds a listening socket at `path` that is never reachable with permissions
    /// wider than 0600: bound in a private directory, chmod-ed, renamed into place.
    private static func bindPrivately(_ path: String) throws(SimErrno) -> (Int32, ino_t) {
        _ = try WireSocket.address(path)
        var existing = Glibc.stat()
        if lstat(path, &existing) == 0 {
            guard existing.st_mode & S_IFMT == S_IFSOCK else { throw SimErrno(EEXIST) }
            if let fd = try? WireSocket.connect(to: path) {
                Glibc.close(fd)
                throw SimErrno(EADDRINUSE)
            }
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        var template = Array((directory + "/.blksnapsim-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw SimErrno(errno)
        }
        let privateDirectory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let temporary = privateDirectory + "/socket"
        defer { rmdir(privateDirectory) }
        var address: sockaddr_un
        do { address = try WireSocket.address(temporary) } catch { throw error }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SimErrno(errno) }
        func fail(_ code: Int32) -> SimErrno {
            Glibc.close(fd)
            unlink(temporary)
            return SimErrno(code)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw fail(errno) }
        guard chmod(temporary, 0o600) == 0 else { throw fail(errno) }
        guard listen(fd, 128) == 0 else { throw fail(errno) }
        var status = Glibc.stat()
        guard lstat(temporary, &status) == 0 else { throw fail(errno) }
        guard rename(temporary, path) == 0 else { throw fail(errno) }
        return (fd, status.st_ino)
    }

    // MARK: - Accepting

    private func acceptLoop() {
        defer { Glibc.close(listener) }
        while true {
            var polled = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                          pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
            let n = poll(&polled, 2, -1)
            if n < 0 { if errno == EINTR { continue }; return }
            if polled[1].revents != 0 || state.withLock({ $0.stopped }) { return }
            guard polled[0].revents & Int16(POLLIN) != 0 else { continue }
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE { usleep(10_000) }
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let connection = ServerConnection(fd: fd)
            let admitted = state.withLock { state -> Bool in
                guard !state.stopped, state.connections.count < Self.maximumConnections else { return false }
                state.connections[ObjectIdentifier(connection)] = connection
                return true
            }
            guard admitted else {
                Self.sendError(fd, errno: EMFILE, "the simulator serves at most \(Self.maximumConnections) connections")
                connection.close()
                continue
            }
            threads.enter()
            Thread.detachNewThread { [self] in
                serve(connection)
                threads.leave()
            }
        }
    }

    // MARK: - One connection

    private func serve(_ connection: ServerConnection) {
        var session: SimServerSession?
        defer {
            state.withLock { _ = $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
            connection.close()
            if let session, let left = session.leave() {
                state.withLock { _ = $0.sessions.removeValue(forKey: session.token) }
                for kernelFD in left { _ = kernel.close(kernelFD) }
            }
        }
        let fd = connection.fd
        guard let uid = Self.peerUID(fd), Self.isPeerAllowed(uid: uid) else {
            Self.refuse(fd, errno: EACCES, geteuid() == 0 ? "the simulator serves only root" : "the simulator serves only uid \(geteuid()) and root")
            return
        }
        // The handshake.
        guard let frame = try? WireSocket.receive(fd),
              case .hello(let magic, let version, let token)? = try? WireRequest.decode(type: frame.type, body: frame.body),
              magic == WireProtocol.magic, version == WireProtocol.version else {
            Self.refuse(fd, errno: EPROTO, "expected a hello frame with magic BSNP version \(WireProtocol.version)")
            return
        }
        session = joinSession(token)
        guard let session else {
            Self.refuse(fd, errno: ENOENT, "no such session (the client's other connections are gone)")
            return
        }
        guard (try? WireSocket.send(fd, type: WireMessageType.hello.replyType,
                                    body: WireReply.hello(result: 0, session: session.token).encodedBody())) != nil
        else { return }
        // Requests, one at a time.
        while true {
            let frame: WireFrame
            do {
                frame = try WireSocket.receive(fd)
            } catch {
                switch error {
                case .oversized:
                    Self.refuse(fd, errno: EMSGSIZE, error.description)
                case .malformed:
                    Self.refuse(fd, errno: EPROTO, error.description)
                default:
                    break
                }
                return
            }
            let reply: WireReply
            do {
                let request = try WireRequest.decode(type: frame.type, body: frame.body)
                reply = handle(request, session: session, connection: connection)
            } catch {
                let known = WireMessageType(rawValue: frame.type) != nil && frame.type != WireMessageType.error.rawValue
                reply = .error(result: -Int64(known ? EBADMSG : EPROTO), message: error.description)
            }
            do {
                try WireSocket.send(fd, type: reply.frameType, body: reply.encodedBody())
            } catch {
                return
            }
        }
    }

    private func joinSession(_ token: [UInt8]) -> SimServerSession? {
        if token.allSatisfy({ $0 == 0 }) {
            var fresh = [UInt8](repeating: 0, count: WireProtocol.sessionTokenBytes)
            var generator = SystemRandomNumberGenerator()
            return state.withLock { state in
                repeat {
                    for half in 0..<2 {
                        withUnsafeBytes(of: generator.next() as UInt64) { fresh.replaceSubrange(half * 8..<half * 8 + 8, with: $0) }
                    }
                } while state.sessions[fresh] != nil || fresh.allSatisfy { $0 == 0 }
                let session = SimServerSession(token: fresh)
                state.sessions[fresh] = session
                return session
            }
        }
        return state.withLock { state in
            guard let session = state.sessions[token], session.join() else { return nil }
            return session
        }
    }

    // MARK: - Requests

    private func handle(_ request: WireRequest, session: SimServerSession, connection: ServerConnection) -> WireReply {
        switch request {
        case .hello:
            return .error(result: -Int64(EPROTO), message: "hello sent twice")
        case .open(let path, let flags):
            let kernelFD = kernel.open(path, flags: flags)
            guard kernelFD >= 0 else { return .open(result: Int64(kernelFD), node: .blockDevice) }
            let node = kernel.nodeKind(path: path) ?? .blockDevice
            return .open(result: Int64(session.register(kernelFD)), node: node)
        case .close(let fd):
            guard let kernelFD = session.remove(fd) else { return .status(.close, result: -Int64(EBADF)) }
            return .status(.close, result: Int64(kernel.close(kernelFD)))
        case .ioctl(let fd, let code, let argument, let regions):
            guard let kernelFD = session.kernelFD(for: fd) else { return .ioctl(result: -Int64(EBADF), writes: []) }
            let memory = RecordingUserMemory(regions: regions)
            let result = kernel.ioctl(kernelFD, UInt(code), argument, memory: memory,
                                      interrupted: { connection.isGone })
            return .ioctl(result: Int64(result), writes: memory.writes)
        case .pread(let fd, let offset, let length):
            guard let kernelFD = session.kernelFD(for: fd) else { return .pread(result: -Int64(EBADF), bytes: []) }
            guard Int(length) <= WireProtocol.maximumTransferBytes else {
                return .pread(result: -Int64(EINVAL), bytes: [])
            }
            var bytes = [UInt8](repeating: 0, count: Int(length))
            let n = bytes.withUnsafeMutableBytes { kernel.pread(kernelFD, into: $0, at: offset) }
            return .pread(result: Int64(n), bytes: n > 0 ? Array(bytes[0..<min(n, bytes.count)]) : [])
        case .pwrite(let fd, let offset, let bytes, let nowait):
            guard let kernelFD = session.kernelFD(for: fd) else { return .status(.pwrite, result: -Int64(EBADF)) }
            let n = bytes.withUnsafeBytes { kernel.pwrite(kernelFD, from: $0, at: offset, nowait: nowait) }
            return .status(.pwrite, result: Int64(n))
        case .stat(let path):
            switch kernel.stat(path) {
            case .success(let status): return .stat(result: 0, status)
            case .failure(let error): return .stat(result: -Int64(error.code), nil)
            }
        case .addDevice(let name, let capacity, let lbs, let pbs, let ioMin, let backing):
            guard Self.isAddressable(capacity) else { return .device(result: -Int64(EINVAL), nil) }
            let simBacking: SimBlockDevice.Backing
            switch backing {
            case .memory:
                simBacking = .memory
            case .file(let path):
                guard path.hasPrefix("/") else {
                    return .device(result: -Int64(EINVAL), nil)
                }
                simBacking = .file(path: path)
            case .rootDirectory:
                guard Self.isPlainName(name) else { return .device(result: -Int64(EINVAL), nil) }
                simBacking = .file(path: rootDirectory + "/" + name + ".img")
            }
            do {
                let info = try kernel.addDevice(name: name, capacitySectors: capacity, logicalBlockSize: lbs,
                                                physicalBlockSize: pbs, ioMin: ioMin, backing: simBacking)
                return .device(result: 0, info)
            } catch {
                return .device(result: -Int64(error.code), nil)
            }
        case .listDevices:
            return .devices(result: 0, kernel.listDevices())
        case .resizeDevice(let name, let capacity):
            guard Self.isAddressable(capacity) else { return .status(.resizeDevice, result: -Int64(EINVAL)) }
            do {
                try kernel.resizeDevice(name: name, capacitySectors: capacity)
                return .status(.resizeDevice, result: 0)
            } catch {
                return .status(.resizeDevice, result: -Int64(error.code))
            }
        case .removeDevice(let name):
            do {
                try kernel.removeDevice(name: name)
                return .status(.removeDevice, result: 0)
            } catch {
                return .status(.removeDevice, result: -Int64(error.code))
            }
        case .setParam(let name, let value):
            return .status(.setParam, result: kernel.setParameter(name, to: value) ? 0 : -Int64(EINVAL))
        case .getParams:
            let current = kernel.params.current
            return .params(result: 0, Params.names.map { WireParam(name: $0, value: current.value(of: $0) ?? 0) })
        }
    }

    /// Whether a capacity's byte size fits a signed 64-bit file offset (larger ones
    /// would overflow the simulator's byte arithmetic: refused with EINVAL).
    static func isAddressable(_ capacitySectors: UInt64) -> Bool {
        capacitySectors <= UInt64(Int64.max) / 512
    }

    /// A device name usable as a file name: not empty, no `/`, not `.` or `..`.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.utf8.contains(0)
    }

    // MARK: - Helpers

    /// The uid of the peer of a connected Unix socket (`SO_PEERCRED`).
    static func peerUID(_ fd: Int32) -> uid_t? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } — glibc declares it only
        // under _GNU_SOURCE, so it is read as three 32-bit words.
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
              Int(length) == MemoryLayout.size(ofValue: credentials) else { return nil }
        return credentials.1
    }

    /// Sends an error frame, ignoring failures (the connection is closing anyway).
    static func sendError(_ fd: Int32, errno code: Int32, _ message: String) {
        let reply = WireReply.error(result: -Int64(code), message: message)
        try? WireSocket.send(fd, type: reply.frameType, body: reply.encodedBody())
    }

    /// Sends a last error frame, then ends the conversation so the peer reads it:
    /// closing a Unix socket with unread input makes the peer's reads fail with
    /// ECONNRESET, so the input is drained first (at most 1 MiB or 200 ms).
    static func refuse(_ fd: Int32, errno code: Int32, _ message: String) {
        sendError(fd, errno: code, message)
        shutdown(fd, Int32(SHUT_WR))
        var drained = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = monotonicNanoseconds() + 200_000_000
        while drained < 1 << 20 {
            let now = monotonicNanoseconds()
            guard now < deadline else { return }
            var polled = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&polled, 1, Int32((deadline - now) / 1_000_000) + 1) > 0 else { return }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { return }
            drained += n
        }
    }
}

/// What the server needs from the kernel it hosts: ``SimKernel``'s facade.
protocol SimServerBackend: AnyObject, Sendable {
    var params: LiveParams { get }
    /// Sets a module parameter at run time; false for a name the module does not have.
    func setParameter(_ name: String, to value: UInt32) -> Bool
    func addDevice(name: String, capacitySectors: UInt64, logicalBlockSize: UInt32, physicalBlockSize: UInt32,
                   ioMin: UInt32, backing: SimBlockDevice.Backing) throws(SimErrno) -> SimDeviceInfo
    func resizeDevice(name: String, capacitySectors: UInt64) throws(SimErrno)
    func removeDevice(name: String) throws(SimErrno)
    func listDevices() -> [SimDeviceInfo]
    func open(_ path: String, flags: Int32) -> Int32
    func close(_ fd: Int32) -> Int32
    func ioctl(_ fd: Int32, _ request: UInt, _ argument: UInt64, memory: some UserMemory,
               interrupted: @escaping () -> Bool) -> Int32
    func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) -> Int
    func pwrite(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64, nowait: Bool) -> Int
    func stat(_ path: String) -> Result<SimStat, SimErrno>
    func nodeKind(path: String) -> SimNodeKind?
}

extension SimKernel: SimServerBackend {}

/// One accepted connection: its descriptor and whether the peer is gone.
final class ServerConnection: Sendable {
    /// The connected socket.
    let fd: Int32
    private let state = PthreadMutex((closed: false, gone: false))

    /// `POLLRDHUP` (glibc declares it only under _GNU_SOURCE).
    private static let pollReadHangUp: Int16 = 0x2000

    init(fd: Int32) { self.fd = fd }

    /// True once the peer disconnected or the server is stopping: a sleeping ioctl
    /// treats it as a signal.
    var isGone: Bool {
        state.withLock { state in
            if state.gone || state.closed { return true }
            var polled = pollfd(fd: fd, events: Int16(POLLIN) | Self.pollReadHangUp, revents: 0)
            guard poll(&polled, 1, 0) > 0 else { return false }
            if polled.revents & (Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLNVAL) | Self.pollReadHangUp) != 0 {
                state.gone = true
            } else if polled.revents & Int16(POLLIN) != 0 {
                var byte: UInt8 = 0
                if recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 0 { state.gone = true }
            }
            return state.gone
        }
    }

    /// Shuts the socket down (the serving thread then sees the end of the stream).
    func disconnect() {
        state.withLock { state in
            state.gone = true
            if !state.closed { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Closes the socket (once).
    func close() {
        state.withLock { state in
            if !state.closed { Glibc.close(fd) }
            state.closed = true
        }
    }
}

/// `stat(2)` under a name that does not collide with `struct stat`.
private func systemStat(_ path: String, _ buffer: UnsafeMutablePointer<stat>) -> Int32 {
    stat(path, buffer)
}
