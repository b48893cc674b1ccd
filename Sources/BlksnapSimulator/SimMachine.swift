#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import SimKernel
import SimWire
import Synchronization
import SystemPackage

/// A simulated machine for a test suite: an in-process ``SimKernel`` with named block
/// devices, deterministic data on them, the ``KernelInterface`` BlksnapKit uses to reach
/// it, and — when a test needs another process to reach it — a socket server; torn down
/// by ``shutdown()`` or at the end of ``withSimMachine(params:dialect:_:)``.
///
/// In the spirit of NIOEmbedded's `EmbeddedEventLoop`: the code under test runs exactly
/// as in production (over ``backend``, or over a ``SimClient`` of ``serve()``'s socket), while
/// the test holds the machine's devices and their contents in hand.
///
/// ```swift
/// try withSimMachine(params: SimMachine.smallParams()) { machine in
///     let disk = try machine.addDevice("sda", sectors: 16_384)
///     try machine.fill(disk.path, with: DataPattern(seed: 1))
///     let control = try machine.openControl()
///     defer { try? control.close() }
///     // … BlksnapKit calls over machine.backend …
/// }
/// ```
///
/// Thread-safe: every call may come from any thread.
public final class SimMachine: Sendable {
    /// The simulated kernel.
    public let kernel: SimKernel
    /// The kernel as BlksnapKit reaches it: ``Control``, ``BlockDevice`` and sessions
    /// take it as their `kernel:`.
    public let backend: SimKernelBackend

    /// The module API the machine speaks (its control device and image names).
    public var dialect: SimDialect { kernel.dialect }

    private struct State {
        /// Names of the devices added through ``addDevice(_:sectors:logicalBlockSize:ioMin:backing:)``.
        var devices: [String] = []
        /// The socket server and its temporary directory, once ``serve()`` ran.
        var server: (server: SimServer, directory: String)?
        var isShutDown = false
    }
    private let state = Mutex(State())

    /// Chunk and CBT block size of ``smallParams(_:)``: 64 KiB.
    public static let smallChunkBytes = 65_536

    /// The small configuration tests use (64 KiB chunks and CBT blocks:
    /// `chunk_minimum_shift` 16; `diff_storage_minimum` 8192 sectors), adjusted by `adjust`.
    public static func smallParams(_ adjust: (inout Params) -> Void = { _ in }) -> Params {
        var params = Params()
        params.chunkMinimumShift = 16
        params.diffStorageMinimum = 8192
        adjust(&params)
        return params
    }

    /// A machine with no devices yet.
    ///
    /// - Parameters:
    ///   - params: the module parameters (normalized as `dialect`'s module does at load).
    ///   - dialect: the module API the kernel speaks.
    ///   - interrupted: polled by sleeping calls (WAIT_EVENT); returning true ends them
    ///     with `EINTR`, as a signal would.
    public init(params: Params = Params(), dialect: SimDialect = .v5,
                interrupted: @escaping @Sendable () -> Bool = { false }) {
        kernel = SimKernel(params: params, dialect: dialect)
        backend = SimKernelBackend(kernel, interrupted: interrupted)
    }

    deinit { shutdown() }

    // MARK: Devices

    /// Adds a block device `/dev/NAME` of `sectors` 512-byte sectors, zero-filled (its
    /// physical block size is 4 KiB, or the logical block size when larger).
    ///
    /// - Throws: `EEXIST` for a name in use, `EINVAL` for a bad geometry, or the errno of
    ///   creating a file backing.
    @discardableResult
    public func addDevice(_ name: String, sectors: UInt64, logicalBlockSize: UInt32 = 512, ioMin: UInt32 = 512,
                          backing: SimBlockDevice.Backing = .memory) throws(SimErrno) -> SimDeviceInfo {
        let info = try kernel.addDevice(name: name, capacitySectors: sectors, logicalBlockSize: logicalBlockSize,
                                        physicalBlockSize: max(4096, logicalBlockSize), ioMin: ioMin, backing: backing)
        state.withLock { $0.devices.append(name) }
        return info
    }

    /// The path of the snapshot image of the device at `path` (v5, VAL-7.0: named after
    /// the original's device number; VAL-6.x numbers its images, so ask the kernel's
    /// ``SimKernel/listDevices()`` there).
    public func imagePath(of path: String) throws(Errno) -> String {
        precondition(dialect != .val6, "VAL-6.x images are named by their own minor")
        let status = try backend.stat(path)
        return "/dev/" + dialect.imageName(originalMajor: status.deviceNumber.major,
                                           originalMinor: status.deviceNumber.minor, imageMinor: 0)
    }

    // MARK: Data

    /// Writes `bytes` at byte `offset` of a device (through its filter, as the kernel's
    /// block layer would) or an image.
    ///
    /// - Throws: the errno of the write; `EIO` for a short one.
    public func write(_ bytes: [UInt8], to path: String, atByte offset: UInt64) throws(Errno) {
        try withDescriptor(path, flags: O_RDWR) { fd throws(Errno) in
            // withUnsafeBytes rethrows untyped: carry the errno out in a Result.
            let written = bytes.withUnsafeBytes { buffer in
                Result { () throws(Errno) in try backend.pwrite(fd, from: buffer, at: offset) }
            }
            if try written.get() != bytes.count { throw .ioError }
        }
    }

    /// Writes `pattern`'s bytes for `offset..<offset+count` there (the whole device from
    /// `offset` on when `count` is nil), a mebibyte at a time.
    public func fill(_ path: String, with pattern: DataPattern, atByte offset: UInt64 = 0, count: Int? = nil) throws(Errno) {
        let end: UInt64
        if let count { end = offset + UInt64(count) } else { end = try backend.stat(path).sizeBytes }
        var position = offset
        while position < end {
            let length = Int(min(end - position, 1 << 20))
            try write(pattern.bytes(atByte: Int(position), count: length), to: path, atByte: position)
            position += UInt64(length)
        }
    }

    /// Up to `count` bytes at byte `offset` of a device or image (fewer at its end).
    public func read(_ path: String, atByte offset: UInt64, count: Int) throws(Errno) -> [UInt8] {
        try withDescriptor(path, flags: O_RDONLY) { fd throws(Errno) in
            var bytes = [UInt8](repeating: 0, count: count)
            let got = try bytes.withUnsafeMutableBytes { buffer in
                Result { () throws(Errno) in try backend.pread(fd, into: buffer, at: offset) }
            }.get()
            bytes.removeLast(count - got)
            return bytes
        }
    }

    /// The whole content of a device or image.
    public func readAll(_ path: String) throws(Errno) -> [UInt8] {
        try read(path, atByte: 0, count: Int(try backend.stat(path).sizeBytes))
    }

    /// Whether `path` holds `pattern`'s bytes at `offset..<offset+count`.
    public func holds(_ pattern: DataPattern, _ path: String, atByte offset: UInt64, count: Int) throws(Errno) -> Bool {
        try read(path, atByte: offset, count: count) == pattern.bytes(atByte: Int(offset), count: count)
    }

    private func withDescriptor<Result>(_ path: String, flags: Int32,
                                        _ body: (CInt) throws(Errno) -> Result) throws(Errno) -> Result {
        let fd = try backend.open(path, flags: flags)
        defer { try? backend.close(fd) }
        return try body(fd)
    }

    // MARK: Control

    /// Opens the v5 control device (`/dev/blksnap-control`) over ``backend``; the caller
    /// closes it. A VAL-dialect machine has none: open its driver from BlksnapDrivers
    /// over ``backend`` instead.
    public func openControl() throws(BlksnapError) -> Control {
        try Control(kernel: backend)
    }

    // MARK: Socket server

    /// Serves the machine on a Unix socket in a new temporary directory, for a
    /// ``SimClient`` or `blksnapctl --sim PATH` in this or another process (connect to
    /// its `socketPath`). The server runs until ``shutdown()``; later calls return the
    /// same server.
    public func serve() throws(SimErrno) -> SimServer {
        try state.withLock { state throws(SimErrno) -> SimServer in
            precondition(!state.isShutDown, "serve() after shutdown()")
            if let running = state.server { return running.server }
            var template = Array("/tmp/simmachine-XXXXXX".utf8CString)
            guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { throw SimErrno(errno) }
            let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let server: SimServer
            do throws(SimErrno) {
                server = try SimServer(kernel: kernel, socketPath: directory + "/sim.sock", rootDirectory: directory + "/root")
            } catch {
                Self.removeTree(directory)
                throw error
            }
            server.start()
            state.server = (server, directory)
            return server
        }
    }

    // MARK: Lifetime

    /// Ends the machine: stops the socket server (disconnecting its clients) and removes
    /// its directory, then removes every device added through ``addDevice(_:sectors:logicalBlockSize:ioMin:backing:)``
    /// (a file backing is closed, not deleted). Safe to call more than once; the deinit
    /// calls it too.
    public func shutdown() {
        let (server, devices) = state.withLock { state -> ((server: SimServer, directory: String)?, [String]) in
            guard !state.isShutDown else { return (nil, []) }
            state.isShutDown = true
            defer { state.server = nil; state.devices = [] }
            return (state.server, state.devices)
        }
        if let server {
            server.server.stop()
            Self.removeTree(server.directory)
        }
        for name in devices { try? kernel.removeDevice(name: name) }
    }

    /// Removes a directory and everything below it (no Foundation in this library);
    /// links are removed, never followed.
    static func removeTree(_ path: String) {
        var status = Glibc.stat()
        guard lstat(path, &status) == 0 else { return }
        if status.st_mode & S_IFMT == S_IFDIR, let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                removeTree(path + "/" + name)
            }
            closedir(directory)
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// Runs `body` on a new ``SimMachine`` and shuts it down afterwards, whether `body`
/// returns or throws.
public func withSimMachine<Result>(params: Params = Params(), dialect: SimDialect = .v5,
                                   _ body: (SimMachine) throws -> Result) rethrows -> Result {
    let machine = SimMachine(params: params, dialect: dialect)
    defer { machine.shutdown() }
    return try body(machine)
}
