#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import SimKernel
@testable import SimWire

/// A small scripted kernel for transport tests: a few ioctls implemented after the
/// spec's fault rules (VERSION, CREATE, COLLECT, APPEND_STORAGE, WAIT_EVENT,
/// BLKGETSIZE64, BLKFILTER_CTL cbtmap/cbtdirty), so the wire can be tested without
/// depending on the real SimKernel being finished.
final class ScriptedKernel: SimServerBackend, @unchecked Sendable {
    let params = LiveParams(Params())
    func setParameter(_ name: String, to value: UInt32) -> Bool {
        var known = false
        params.update { known = $0.set(name, to: value) }
        return known
    }

    struct State {
        var descriptors: [Int32: String] = [:]
        var next: Int32 = 100
        var snapshots: [[UInt8]] = []
        var devices: [String: SimDeviceInfo] = [:]
        var backings: [String: SimBlockDevice.Backing] = [:]
        var media = [UInt8](repeating: 0, count: 1 << 20)
        var appended: [(path: String, ranges: [UInt64])] = []
        var dirty: [UInt64] = []
        var waitResults: [Int32] = []
        var waiting = 0
    }
    let state = PthreadMutex(State())  // not Mutex: TSan false races (PthreadMutex.swift)

    static let controlPath = "/dev/blksnap-control"
    static let diskPath = "/dev/sda"

    var openDescriptorCount: Int { state.withLock { $0.descriptors.count } }
    var waitResults: [Int32] { state.withLock { $0.waitResults } }
    var waiting: Int { state.withLock { $0.waiting } }

    func addDevice(name: String, capacitySectors: UInt64, logicalBlockSize: UInt32, physicalBlockSize: UInt32,
                   ioMin: UInt32, backing: SimBlockDevice.Backing) throws(SimErrno) -> SimDeviceInfo {
        try state.withLock { state throws(SimErrno) in
            guard state.devices[name] == nil else { throw SimErrno(EEXIST) }
            let info = SimDeviceInfo(name: name, path: "/dev/" + name, major: 240, minor: UInt32(state.devices.count),
                                     capacitySectors: capacitySectors, logicalBlockSize: logicalBlockSize,
                                     physicalBlockSize: physicalBlockSize, ioMin: ioMin, isImage: false, filter: nil)
            state.devices[name] = info
            state.backings[name] = backing
            return info
        }
    }

    func resizeDevice(name: String, capacitySectors: UInt64) throws(SimErrno) {
        try state.withLock { state throws(SimErrno) in
            guard state.devices[name] != nil else { throw SimErrno(ENOENT) }
            state.devices[name]!.capacitySectors = capacitySectors
        }
    }

    func removeDevice(name: String) throws(SimErrno) {
        try state.withLock { state throws(SimErrno) in
            guard state.devices.removeValue(forKey: name) != nil else { throw SimErrno(ENOENT) }
        }
    }

    func listDevices() -> [SimDeviceInfo] { state.withLock { $0.devices.values.sorted { $0.name < $1.name } } }

    func open(_ path: String, flags: Int32) -> Int32 {
        guard path == Self.controlPath || path == Self.diskPath else { return -ENOENT }
        return state.withLock { state in
            let fd = state.next
            state.next += 1
            state.descriptors[fd] = path
            return fd
        }
    }

    func close(_ fd: Int32) -> Int32 {
        state.withLock { $0.descriptors.removeValue(forKey: fd) } == nil ? -EBADF : 0
    }

    func ioctl(_ fd: Int32, _ request: UInt, _ argument: UInt64, memory: some UserMemory,
               interrupted: @escaping () -> Bool) -> Int32 {
        guard let path = state.withLock({ $0.descriptors[fd] }) else { return -EBADF }
        if path == Self.diskPath { return blockIoctl(request, argument, memory) }
        switch blksnap_ioc_nr(request) {
        case 0:
            let version = blksnap_version(major: 2, minor: 0, revision: 0, build: 0)
            return memory.write(version, at: argument) ? 0 : -ENODATA
        case 1:
            let id = state.withLock { state -> [UInt8] in
                let id = (0..<16).map { UInt8(truncatingIfNeeded: $0 * 16 + state.snapshots.count + 1) }
                state.snapshots.append(id)
                return id
            }
            return id.withUnsafeBytes { memory.copyToUser(argument, from: $0) } ? 0 : -ENODATA
        case 3:
            guard let args = memory.read(blksnap_snapshot_append_storage.self, at: argument) else { return -EINVAL }
            let path: [UInt8]
            switch memory.stringFromUser(at: args.bdev_path, limit: Int(args.bdev_path_size)) {
            case .success(let bytes): path = bytes
            case .failure(let error): return -error.code
            }
            var ranges: [UInt64] = []
            for index in 0..<UInt64(args.count) {
                guard let range = memory.read(blksnap_sectors.self, at: args.ranges + index * 16) else { return -EINVAL }
                ranges += [range.offset, range.count]
            }
            state.withLock { $0.appended.append((String(decoding: path, as: UTF8.self), ranges)) }
            return 0
        case 5:
            guard var collect = memory.read(blksnap_snapshot_collect.self, at: argument) else { return -ENODATA }
            let snapshots = state.withLock { $0.snapshots }
            var result: Int32 = 0
            if snapshots.isEmpty {
                collect.count = 0
            } else if collect.ids == 0 {
                collect.count = UInt32(snapshots.count)
            } else {
                var written: UInt32 = 0
                for (index, id) in snapshots.enumerated() {
                    if index >= collect.count { result = -ENODATA; break }
                    let ok = id.withUnsafeBytes { memory.copyToUser(collect.ids + UInt64(index) * 16, from: $0) }
                    if !ok { break }  // spec §1.2 [BUG]: a fault stops the walk with result 0
                    written += 1
                }
                collect.count = written
            }
            return memory.write(collect, at: argument) ? result : -ENODATA
        case 6:
            guard let head = memory.readBytes(at: argument, count: 20) else { return -EINVAL }
            let timeoutMilliseconds = head[16..<20].reversed().reduce(0) { $0 << 8 | UInt64($1) }
            state.withLock { $0.waiting += 1 }
            let deadline = monotonicNanoseconds() + timeoutMilliseconds * 1_000_000
            var result = -ENOENT
            while monotonicNanoseconds() < deadline {
                if interrupted() { result = -EINTR; break }
                usleep(2_000)
            }
            state.withLock { $0.waiting -= 1; $0.waitResults.append(result) }
            return result
        default:
            return -ENOTTY
        }
    }

    private func blockIoctl(_ request: UInt, _ argument: UInt64, _ memory: some UserMemory) -> Int32 {
        switch request {
        case BLKSNAP_REQ_BLKGETSIZE64:
            return memory.write(UInt64(1 << 20), at: argument) ? 0 : -EFAULT
        case BLKSNAP_REQ_BLKSSZGET:
            return memory.write(Int32(512), at: argument) ? 0 : -EFAULT
        case BLKSNAP_REQ_BLKFILTER_CTL:
            guard let ctl = memory.read(blkfilter_ctl.self, at: argument) else { return -EFAULT }
            switch ctl.cmd {
            case 1:
                guard ctl.optlen >= 16 else { return -EINVAL }
                guard let map = memory.read(blksnap_cbtmap.self, at: ctl.opt) else { return -ENODATA }
                let bytes = (0..<Int(map.length)).map { UInt8(truncatingIfNeeded: Int(map.offset) + $0) }
                return bytes.withUnsafeBytes { memory.copyToUser(map.buffer, from: $0) } ? 0 : -EINVAL
            case 2:
                guard ctl.optlen >= 16 else { return -EINVAL }
                guard let dirty = memory.read(blksnap_cbtdirty.self, at: ctl.opt) else { return -ENODATA }
                for _ in 0..<dirty.count {  // spec §1.4 [BUG]: always element 0
                    guard let range = memory.read(blksnap_sectors.self, at: dirty.dirty_sectors) else { return -ENODATA }
                    state.withLock { $0.dirty += [range.offset, range.count] }
                }
                return 0
            default:
                return -ENOTTY
            }
        default:
            return -ENOTTY
        }
    }

    func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) -> Int {
        state.withLock { state in
            guard state.descriptors[fd] == Self.diskPath else { return -Int(EBADF) }
            guard offsetBytes < UInt64(state.media.count) else { return 0 }
            let n = min(buffer.count, state.media.count - Int(offsetBytes))
            state.media.withUnsafeBytes {
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(offsetBytes)..<Int(offsetBytes) + n]))
            }
            return n
        }
    }

    func pwrite(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64, nowait: Bool) -> Int {
        state.withLock { state in
            guard state.descriptors[fd] == Self.diskPath else { return -Int(EBADF) }
            if nowait { return -Int(EAGAIN) }
            guard offsetBytes < UInt64(state.media.count) else { return -Int(ENOSPC) }
            let n = min(buffer.count, state.media.count - Int(offsetBytes))
            state.media.replaceSubrange(Int(offsetBytes)..<Int(offsetBytes) + n, with: buffer[0..<n])
            return n
        }
    }

    func stat(_ path: String) -> Result<SimStat, SimErrno> {
        switch path {
        case Self.controlPath: .success(SimStat(mode: UInt32(S_IFCHR) | 0o600, major: 10, minor: 123, sizeBytes: 0))
        case Self.diskPath: .success(SimStat(mode: UInt32(S_IFBLK) | 0o660, major: 240, minor: 0, sizeBytes: 1 << 20))
        default: .failure(SimErrno(ENOENT))
        }
    }

    func nodeKind(path: String) -> SimNodeKind? {
        switch path {
        case Self.controlPath: .v5Control
        case Self.diskPath: .blockDevice
        default: nil
        }
    }
}

/// A server on a scripted kernel in a fresh temporary directory.
final class WireHarness: @unchecked Sendable {
    let directory: String
    let socketPath: String
    let kernel = ScriptedKernel()
    let server: SimServer

    init() throws {
        var template = Array("/tmp/wire-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { throw SimErrno(errno) }
        directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        socketPath = directory + "/sim.sock"
        server = try SimServer(backend: kernel, socketPath: socketPath, rootDirectory: directory + "/root")
        server.start()
    }

    /// Stops the server and removes the directory.
    func tearDown() {
        server.stop()
        unlink(directory + "/root/disk.img")
        rmdir(directory + "/root")
        unlink(socketPath)
        rmdir(directory)
    }

    /// A raw connection that completed the handshake.
    func rawConnection(session: [UInt8] = [UInt8](repeating: 0, count: 16)) throws -> (fd: Int32, token: [UInt8]) {
        let fd = try WireSocket.connect(to: socketPath)
        let hello = WireRequest.hello(magic: WireProtocol.magic, version: WireProtocol.version, session: session)
        try WireSocket.send(fd, type: hello.type.rawValue, body: hello.encodedBody())
        let frame = try WireSocket.receive(fd)
        guard case .hello(0, let token) = try WireReply.decode(type: frame.type, body: frame.body) else {
            Glibc.close(fd)
            throw SimErrno(EPROTO)
        }
        return (fd, token)
    }

    /// Sends a request on a raw connection and decodes the reply.
    static func roundTrip(_ fd: Int32, _ request: WireRequest) throws -> WireReply {
        try WireSocket.send(fd, type: request.type.rawValue, body: request.encodedBody())
        let frame = try WireSocket.receive(fd)
        return try WireReply.decode(type: frame.type, body: frame.body)
    }

    /// Runs `body(index)` on `count` new threads (not the cooperative pool) and
    /// returns their results in index order.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Int) -> [Int] {
        let results = PthreadMutex([Int](repeating: -1, count: count))
        SimKernelTests.onThreads(count) { index in
            let value = body(index)
            results.withLock { $0[index] = value }
        }
        return results.withLock { $0 }
    }

    /// Waits until `condition` holds or `seconds` pass; returns whether it held.
    static func eventually(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
        while monotonicNanoseconds() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }
}

@Suite struct WireScriptedKernelTests {
    @Test func scriptedVersionFollowsTheSpecFaultRule() {
        let kernel = ScriptedKernel()
        let fd = kernel.open(ScriptedKernel.controlPath, flags: O_RDWR)
        #expect(fd >= 0)
        #expect(kernel.ioctl(fd, BLKSNAP_REQ_VERSION, 0, memory: MappedUserMemory(), interrupted: { false }) == -ENODATA)
        let memory = MappedUserMemory(regions: [.init(address: 0x1000, bytes: [UInt8](repeating: 0xFF, count: 8))])
        #expect(kernel.ioctl(fd, BLKSNAP_REQ_VERSION, 0x1000, memory: memory, interrupted: { false }) == 0)
        #expect(memory.regions[0].bytes == [2, 0, 0, 0, 0, 0, 0, 0])
        #expect(kernel.close(fd) == 0)
        #expect(kernel.close(fd) == -EBADF)
    }
}
