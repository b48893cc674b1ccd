#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import SimKernel
import SimWire
import Synchronization
import SystemPackage

/// A `SimKernel` in another process (`blksnapctl sim serve`), reached over its Unix
/// socket with the protocol of ``SimKernel/WireProtocol``.
///
/// Descriptors returned by ``open(_:flags:)`` are the simulator's, valid only
/// through this client. An ``ioctl(_:_:_:)`` ships the user memory its argument
/// references — found in one table derived from the v5 UAPI (`SimIoctlArguments`) —
/// read safely from this process (a bad pointer is not shipped, so the server faults
/// with the kernel's errno), and copies back exactly what the kernel wrote.
///
/// Thread-safe: concurrent calls use separate connections of the same server
/// session (a WAIT_EVENT blocking on one does not hold up the others). Every
/// descriptor is closed by the server when the client's last connection closes
/// (deinit, or process exit).
public final class SimClient: KernelInterface, Sendable {
    /// Path of the server's socket.
    public let socketPath: String
    /// The server session all connections of this client join.
    private let session: [UInt8]

    private struct Pool {
        /// Connected sockets not in use.
        var idle: [Int32] = []
        /// What each descriptor that is not a block device names (control devices
        /// read user memory differently).
        var nodes: [Int32: SimNodeKind] = [:]
    }
    private let pool: Mutex<Pool>
    /// Idle connections kept for reuse; more are closed when returned.
    private static let maximumIdleConnections = 8

    /// Connects to the simulator at `socketPath`.
    ///
    /// - Throws: ``SimClientError``, e.g. "simulator at PATH is not running
    ///   (ECONNREFUSED)" when nothing listens there.
    public init(socketPath: String) throws(SimClientError) {
        self.socketPath = socketPath
        let (fd, token) = try Self.handshake(socketPath, session: [UInt8](repeating: 0, count: WireProtocol.sessionTokenBytes))
        session = token
        pool = Mutex(Pool(idle: [fd]))
    }

    deinit {
        for fd in pool.withLock({ $0.idle }) { Glibc.close(fd) }
    }

    // MARK: - KernelInterface

    /// Beside the socket (``WireProtocol/sharedStateDirectory(socketPath:)``): every
    /// client of this simulator shares the drivers' snapshot records.
    public var sharedStateDirectory: String? { WireProtocol.sharedStateDirectory(socketPath: socketPath) }

    /// `open(2)` in the simulator's namespace; the descriptor is the simulator's.
    public func open(_ path: String, flags: Int32) throws(Errno) -> CInt {
        guard case .open(let result, let node) = try kernelCall(.open(path: path, flags: flags)) else {
            throw .protocolError
        }
        guard let fd = CInt(exactly: try Self.value(result)) else { throw .protocolError }
        pool.withLock { $0.nodes[fd] = node == .blockDevice ? nil : node }
        return fd
    }

    /// `close(2)` of a simulator descriptor.
    public func close(_ fd: CInt) throws(Errno) {
        _ = pool.withLock { $0.nodes.removeValue(forKey: fd) }
        _ = try Self.value(try kernelCall(.close(fd: fd)).result)
    }

    /// `ioctl(2)`: ships the memory `argument` references and copies back the kernel's writes.
    public func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt {
        try ioctl(fd, request, address: UInt64(UInt(bitPattern: argument)))
    }

    /// `ioctl(2)` with the argument given as a raw user address (0 or garbage allowed:
    /// the call then fails with the kernel's fault errno).
    public func ioctl(_ fd: CInt, _ request: UInt, address: UInt64) throws(Errno) -> CInt {
        let node = pool.withLock { $0.nodes[fd] } ?? .blockDevice
        let regions = SimUserMemoryCapture.regions(for: request, argument: address, node: node)
        let reply = try kernelCall(.ioctl(fd: fd, request: UInt64(request), argument: address, regions: regions))
        guard case .ioctl(let result, let writes) = reply else { throw .protocolError }
        guard SimUserMemoryCapture.apply(writes, within: regions) else { throw .protocolError }
        guard let value = CInt(exactly: try Self.value(result)) else { throw .protocolError }
        return value
    }

    /// `pread(2)`: reads until `buffer` is full or the device ends (in pieces of at
    /// most ``SimKernel/WireProtocol/maximumTransferBytes``).
    public func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        guard off_t(exactly: offsetBytes) != nil else { throw .invalidArgument }  // LinuxKernel does the same
        var done = 0
        while done < buffer.count {
            let want = min(buffer.count - done, WireProtocol.maximumTransferBytes)
            let reply = try kernelCall(.pread(fd: fd, offsetBytes: offsetBytes + UInt64(done), lengthBytes: UInt32(want)))
            guard case .pread(let result, let bytes) = reply else { throw .protocolError }
            if result < 0 {
                if done > 0 { return done }
                throw Errno(rawValue: CInt(truncatingIfNeeded: -result))
            }
            guard Int(result) == bytes.count, bytes.count <= want else { throw .protocolError }
            UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + bytes.count]).copyBytes(from: bytes)
            done += bytes.count
            if bytes.count < want { break }
        }
        return done
    }

    /// `pwrite(2)` through the device's filter.
    public func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        try pwrite(fd, from: buffer, at: offsetBytes, nowait: false)
    }

    /// `pwritev2(2)` with `RWF_NOWAIT` when `nowait` (a write needing a COW load
    /// fails with `EAGAIN`). Large buffers go in pieces.
    public func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64, nowait: Bool) throws(Errno) -> Int {
        guard off_t(exactly: offsetBytes) != nil else { throw .invalidArgument }  // LinuxKernel does the same
        var done = 0
        repeat {
            let piece = Array(buffer[done..<min(buffer.count, done + WireProtocol.maximumTransferBytes)])
            let reply = try kernelCall(.pwrite(fd: fd, offsetBytes: offsetBytes + UInt64(done), bytes: piece, nowait: nowait))
            if reply.result < 0 {
                if done > 0 { return done }
                throw Errno(rawValue: CInt(truncatingIfNeeded: -reply.result))
            }
            guard reply.result <= Int64(piece.count) else { throw .protocolError }
            done += Int(reply.result)
            if Int(reply.result) < piece.count { break }
        } while done < buffer.count
        return done
    }

    /// `stat(2)` in the simulator's namespace.
    public func stat(_ path: String) throws(Errno) -> KernelFileStatus {
        guard case .stat(let result, let status) = try kernelCall(.stat(path: path)) else { throw .protocolError }
        _ = try Self.value(result)
        guard let status else { throw .protocolError }
        return KernelFileStatus(mode: status.mode, deviceNumber: DeviceNumber(major: status.major, minor: status.minor),
                                sizeBytes: status.sizeBytes)
    }

    // MARK: - Simulator management

    /// Adds a simulated device `/dev/NAME`.
    ///
    /// - Parameter backing: where its bytes live; by default `ROOT/NAME.img` in the
    ///   server's root directory. A relative file path is taken from this process's
    ///   working directory.
    public func addDevice(name: String, capacitySectors: UInt64, logicalBlockSize: UInt32 = 512,
                          physicalBlockSize: UInt32 = 4096, ioMin: UInt32 = 512,
                          backing: SimDeviceBacking = .rootDirectory) throws(SimClientError) -> SimDeviceInfo {
        var resolved = backing
        if case .file(let path) = backing, !path.hasPrefix("/") {
            var cwd = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&cwd, cwd.count) != nil {
                let directory = String(decoding: cwd.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                resolved = .file(path: directory + "/" + path)
            }
        }
        let reply = try call(.addDevice(name: name, capacitySectors: capacitySectors, logicalBlockSize: logicalBlockSize,
                                        physicalBlockSize: physicalBlockSize, ioMin: ioMin, backing: resolved))
        try check(reply, "cannot add device \(name)")
        guard case .device(_, let info?) = reply else { throw protocolFailure("addDevice") }
        return info
    }

    /// Every device and live image of the simulator, ordered by name.
    public func listDevices() throws(SimClientError) -> [SimDeviceInfo] {
        let reply = try call(.listDevices)
        try check(reply, "cannot list devices")
        guard case .devices(_, let list) = reply else { throw protocolFailure("listDevices") }
        return list
    }

    /// Changes a device's capacity.
    public func resizeDevice(name: String, capacitySectors: UInt64) throws(SimClientError) {
        try check(try call(.resizeDevice(name: name, capacitySectors: capacitySectors)),
                  "cannot resize device \(name) to \(capacitySectors) sectors")
    }

    /// Removes a device (its filter is detached, as by `del_gendisk`).
    public func removeDevice(name: String) throws(SimClientError) {
        try check(try call(.removeDevice(name: name)), "cannot remove device \(name)")
    }

    /// Sets a module parameter by its module name (`diff_storage_minimum`, ...).
    ///
    /// - Throws: `EINVAL` for a name not in `Params.names`.
    public func setParameter(_ name: String, to value: UInt32) throws(SimClientError) {
        try check(try call(.setParam(name: name, value: value)), "cannot set parameter \(name)")
    }

    /// The module parameters in force, in `Params.names` order.
    public func parameters() throws(SimClientError) -> [WireParam] {
        let reply = try call(.getParams)
        try check(reply, "cannot read parameters")
        guard case .params(_, let list) = reply else { throw protocolFailure("getParams") }
        return list
    }

    // MARK: - Transport

    /// Sends a request on a free connection of the session and reads its reply.
    ///
    /// - Throws: a ``SimClientError`` for a connection failure or an error frame.
    private func call(_ request: WireRequest) throws(SimClientError) -> WireReply {
        let fd = try checkout()
        let reply: WireReply
        do {
            try WireSocket.send(fd, type: request.type.rawValue, body: request.encodedBody())
            let frame = try WireSocket.receive(fd)
            reply = try WireReply.decode(type: frame.type, body: frame.body)
        } catch {
            Glibc.close(fd)
            throw SimClientError(errno: .connectionReset,
                                 message: "lost the connection to the simulator at \(socketPath): \(error) (ECONNRESET)")
        }
        if case .error(let result, let message) = reply {
            checkin(fd)
            let code = CInt(truncatingIfNeeded: -result)
            throw SimClientError(errno: Errno(rawValue: code),
                                 message: "the simulator at \(socketPath) rejected the request: \(message) (\(SimClientError.name(of: code)))")
        }
        guard reply.frameType == request.type.replyType else {
            Glibc.close(fd)
            throw protocolFailure("\(request.type)")
        }
        checkin(fd)
        return reply
    }

    /// ``call(_:)`` for the KernelInterface methods, which throw a bare errno.
    private func kernelCall(_ request: WireRequest) throws(Errno) -> WireReply {
        do { return try call(request) } catch { throw error.errno }
    }

    private func checkout() throws(SimClientError) -> Int32 {
        if let fd = pool.withLock({ $0.idle.popLast() }) { return fd }
        return try Self.handshake(socketPath, session: session).fd
    }

    private func checkin(_ fd: Int32) {
        let keep = pool.withLock { pool -> Bool in
            guard pool.idle.count < Self.maximumIdleConnections else { return false }
            pool.idle.append(fd)
            return true
        }
        if !keep { Glibc.close(fd) }
    }

    /// Connects and says hello; returns the socket and the session token.
    private static func handshake(_ path: String, session: [UInt8]) throws(SimClientError) -> (fd: Int32, token: [UInt8]) {
        let fd: Int32
        do {
            fd = try WireSocket.connect(to: path)
        } catch {
            let name = SimClientError.name(of: error.code)
            let message = switch error.code {
            case ECONNREFUSED, ENOENT: "simulator at \(path) is not running (\(name))"
            case EACCES: "no permission to reach the simulator at \(path) (\(name))"
            default: "cannot connect to the simulator at \(path) (\(name))"
            }
            throw SimClientError(errno: Errno(rawValue: error.code), message: message)
        }
        do {
            let hello = WireRequest.hello(magic: WireProtocol.magic, version: WireProtocol.version, session: session)
            try WireSocket.send(fd, type: hello.type.rawValue, body: hello.encodedBody())
            let frame = try WireSocket.receive(fd)
            let reply = try WireReply.decode(type: frame.type, body: frame.body)
            switch reply {
            case .hello(0, let token):
                return (fd, token)
            case .hello(let result, _), .error(let result, _):
                Glibc.close(fd)
                let code = CInt(truncatingIfNeeded: -result)
                var detail = ""
                if case .error(_, let message) = reply { detail = ": " + message }
                throw SimClientError(errno: Errno(rawValue: code),
                                     message: "the simulator at \(path) refused the connection\(detail) (\(SimClientError.name(of: code)))")
            default:
                Glibc.close(fd)
                throw SimClientError(errno: .protocolError, message: "the simulator at \(path) answered hello with something else (EPROTO)")
            }
        } catch let error as SimClientError {
            throw error
        } catch {
            Glibc.close(fd)
            throw SimClientError(errno: .protocolError,
                                 message: "\(path) does not speak the simulator protocol: \(error) (EPROTO)")
        }
    }

    private func check(_ reply: WireReply, _ what: String) throws(SimClientError) {
        guard reply.result < 0 else { return }
        let code = CInt(truncatingIfNeeded: -reply.result)
        throw SimClientError(errno: Errno(rawValue: code), message: "\(what): \(Errno(rawValue: code)) (\(SimClientError.name(of: code)))")
    }

    private func protocolFailure(_ what: String) -> SimClientError {
        SimClientError(errno: .protocolError, message: "the simulator at \(socketPath) sent a malformed reply to \(what) (EPROTO)")
    }

    /// A reply's result as a value, or its errno thrown.
    private static func value(_ result: Int64) throws(Errno) -> Int64 {
        if result < 0 { throw Errno(rawValue: CInt(truncatingIfNeeded: -result)) }
        return result
    }
}
