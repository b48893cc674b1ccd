#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import SimKernel
import SimWire
import SystemPackage
import Testing
@testable import BlksnapKit
import BlksnapSimulator

/// The control device's path in the simulator's namespace (`BLKSNAP_CTL_PATH`, a
/// string-concatenation macro Swift cannot import).
private let controlPath = "/dev/blksnap-control"

/// Whether SimKernel's facade is implemented yet (it answered ENOSYS while being written).
private let simKernelIsImplemented: Bool = {
    let kernel = SimKernel()
    let fd = kernel.open(controlPath, flags: O_RDWR)
    if fd >= 0 { _ = kernel.close(fd) }
    return fd != -ENOSYS
}()

/// SimClient against the real SimKernel: what goes through the socket must equal
/// what the same kernel answers in process through ProcessUserMemory.
@Suite struct SimClientKernelTests {
    /// Holds today and once SimKernel is implemented: every answer, errno included,
    /// crosses the socket unchanged.
    @Test func answersCrossTheSocketUnchanged() throws {
        let served = SimMachine()
        defer { served.shutdown() }
        let server = try served.serve()
        let client = try SimClient(socketPath: server.socketPath)
        for path in [controlPath, "/dev/no-such-device"] {
            let direct = served.kernel.open(path, flags: O_RDWR)
            if direct >= 0 { _ = served.kernel.close(direct) }
            do throws(Errno) {
                let fd = try client.open(path, flags: O_RDWR)
                #expect(direct >= 0)
                try client.close(fd)
            } catch {
                #expect(-direct == error.rawValue)
            }
            let directStat = served.kernel.stat(path)
            do throws(Errno) {
                let status = try client.stat(path)
                #expect(directStat.map(\.mode) == .success(status.mode))
            } catch {
                #expect(directStat.map { _ in 0 } == .failure(SimErrno(error.rawValue)))
            }
        }
        do throws(SimClientError) {
            let info = try client.addDevice(name: "vda", capacitySectors: 2048, backing: .memory)
            #expect(served.kernel.listDevices().contains(info))
            #expect(try client.listDevices() == served.kernel.listDevices())
        } catch {
            #expect(throws: SimErrno(error.errno.rawValue)) {
                _ = try served.kernel.addDevice(name: "vdb", capacitySectors: 2048)
            }
        }
    }

    @Test(.enabled(if: simKernelIsImplemented, "SimKernel's facade is not implemented yet (ENOSYS)"))
    func versionIs2000ThroughTheSocket() throws {
        let served = SimMachine()
        defer { served.shutdown() }
        let server = try served.serve()
        let client = try SimClient(socketPath: server.socketPath)
        let fd = try client.open(controlPath, flags: O_RDWR)
        var version = blksnap_version(major: 7, minor: 7, revision: 7, build: 7)
        #expect(try client.ioctl(fd, BLKSNAP_REQ_VERSION, &version) == 0)
        #expect([version.major, version.minor, version.revision, version.build] == [2, 0, 0, 0])
        // Quick latency figure (printed, not asserted).
        var samples: [Double] = []
        for _ in 0..<1_000 {
            var start = timespec(), end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, &version)
            clock_gettime(CLOCK_MONOTONIC, &end)
            samples.append(Double(end.tv_sec - start.tv_sec) * 1e6 + Double(end.tv_nsec - start.tv_nsec) / 1e3)
        }
        samples.sort()
        print("VERSION round trip over the socket (SimKernel): p50 \(Int(samples[500])) µs, p99 \(Int(samples[990])) µs")
    }

    /// Runs `request` through the socket and in process on the same kernel, each on
    /// its own copy of the argument memory, and compares results and bytes.
    private func same(_ served: SimMachine, _ client: SimClient, _ clientFD: CInt, _ request: UInt,
                      bytes: Int, ignoring: [Range<Int>] = [], prepare: (UnsafeMutableRawPointer) -> UInt64) -> Bool {
        let kernelFD = served.kernel.open(controlPath, flags: O_RDWR)
        defer { _ = served.kernel.close(kernelFD) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let a = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        let b = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        defer { munmap(a, 2 * page); munmap(b, 2 * page) }
        mprotect(a + page, page, PROT_NONE)
        mprotect(b + page, page, PROT_NONE)
        let viaSocket: Int32
        do { viaSocket = try client.ioctl(clientFD, request, address: prepare(a)) } catch { viaSocket = -error.rawValue }
        let inProcess = served.kernel.ioctl(kernelFD, request, prepare(b), memory: ProcessUserMemory())
        for range in ignoring { memset(a + range.lowerBound, 0, range.count); memset(b + range.lowerBound, 0, range.count) }
        let equal = viaSocket == inProcess && memcmp(a, b, bytes) == 0
        if !equal { Issue.record("request 0x\(String(request, radix: 16)): socket \(viaSocket), in process \(inProcess)") }
        return equal
    }

    @Test(.enabled(if: simKernelIsImplemented, "SimKernel's facade is not implemented yet (ENOSYS)"))
    func controlIoctlsMatchTheInProcessKernel() throws {
        let served = SimMachine()
        defer { served.shutdown() }
        let server = try served.serve()
        let client = try SimClient(socketPath: server.socketPath)
        let fd = try client.open(controlPath, flags: O_RDWR)
        #expect(same(served, client, fd, BLKSNAP_REQ_VERSION, bytes: 8) { UInt64(UInt(bitPattern: $0)) })
        // Three snapshots through the socket.
        var ids: [blksnap_uuid] = []
        for _ in 0..<3 {
            var id = blksnap_uuid()
            #expect(try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_CREATE, &id) == 0)
            ids.append(id)
        }
        // COLLECT partial fill: room for 2 of 3 → ENODATA, count 2, the first two ids.
        let collectInto: (UInt32) -> (UnsafeMutableRawPointer) -> UInt64 = { count in
            { base in
                base.assumingMemoryBound(to: blksnap_snapshot_collect.self).pointee =
                    blksnap_snapshot_collect(count: count, ids: UInt64(UInt(bitPattern: base + 64)))
                return UInt64(UInt(bitPattern: base))
            }
        }
        #expect(same(served, client, fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, bytes: 64 + 48, ignoring: [4..<16],
                     prepare: collectInto(2)))
        #expect(same(served, client, fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, bytes: 64 + 48, ignoring: [4..<16],
                     prepare: collectInto(3)))
        var collect = blksnap_snapshot_collect(count: 2, ids: 0)
        var room = [blksnap_uuid](repeating: blksnap_uuid(), count: 2)
        let partial: Result<CInt, Errno> = room.withUnsafeMutableBytes { buffer in
            collect.ids = UInt64(UInt(bitPattern: buffer.baseAddress))
            do throws(Errno) { return .success(try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, &collect)) } catch { return .failure(error) }
        }
        #expect(partial == .failure(.noData))
        #expect(collect.count == 2)
        #expect(withUnsafeBytes(of: room[1]) { Array($0) } == withUnsafeBytes(of: ids[1]) { Array($0) })
        // ids array running into an inaccessible page after one element.
        #expect(same(served, client, fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, bytes: 4096, ignoring: [4..<16]) { base in
            base.assumingMemoryBound(to: blksnap_snapshot_collect.self).pointee =
                blksnap_snapshot_collect(count: 3, ids: UInt64(UInt(bitPattern: base + 4096 - 16)))
            return UInt64(UInt(bitPattern: base))
        })
        // Null pointers: each control ioctl's fault errno, identical on both paths.
        for request in [BLKSNAP_REQ_VERSION, BLKSNAP_REQ_SNAPSHOT_CREATE, BLKSNAP_REQ_SNAPSHOT_DESTROY,
                        BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, BLKSNAP_REQ_SNAPSHOT_TAKE, BLKSNAP_REQ_SNAPSHOT_COLLECT,
                        BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, 0x4008_5607] {
            #expect(same(served, client, fd, request, bytes: 16) { _ in 0 })
        }
        var version = blksnap_version()
        #expect(throws: Errno.noData) { _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, address: 0) }
        #expect(throws: Errno.inappropriateIOCTLForDevice) { _ = try client.ioctl(fd, 0x4008_5607, &version) }
        // A struct straddling the inaccessible page (DESTROY reads 16 bytes, 8 mapped).
        #expect(same(served, client, fd, BLKSNAP_REQ_SNAPSHOT_DESTROY, bytes: 16) { base in
            UInt64(UInt(bitPattern: base + 4096 - 8))
        })
        for var id in ids { #expect(try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_DESTROY, &id) == 0) }
    }

    @Test(.enabled(if: simKernelIsImplemented, "SimKernel's facade is not implemented yet (ENOSYS)"))
    func devicesThroughTheSocket() throws {
        let served = SimMachine()
        defer { served.shutdown() }
        let server = try served.serve()
        let client = try SimClient(socketPath: server.socketPath)
        let info = try client.addDevice(name: "vdz", capacitySectors: 4096)
        #expect(access(server.rootDirectory + "/vdz.img", F_OK) == 0)
        let status = try client.stat(info.path)
        #expect(status.isBlockDevice)
        #expect(status.deviceNumber == DeviceNumber(major: info.major, minor: info.minor))
        let fd = try client.open(info.path, flags: O_RDWR)
        var size: UInt64 = 0
        #expect(try client.ioctl(fd, BLKSNAP_REQ_BLKGETSIZE64, &size) == 0)
        #expect(size == 4096 * 512)
        let pattern = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try pattern.withUnsafeBytes { try client.pwrite(fd, from: $0, at: 65536) } == pattern.count)
        var back = [UInt8](repeating: 0, count: pattern.count)
        #expect(try back.withUnsafeMutableBytes { try client.pread(fd, into: $0, at: 65536) } == pattern.count)
        #expect(back == pattern)
        try client.close(fd)
        try client.resizeDevice(name: "vdz", capacitySectors: 8192)
        #expect(try client.listDevices().first { $0.name == "vdz" }?.capacitySectors == 8192)
        try client.removeDevice(name: "vdz")
        #expect(try client.listDevices().contains { $0.name == "vdz" } == false)
        // Sizes whose byte count overflows are refused, and the server lives on.
        #expect(throws: SimClientError.self) { _ = try client.addDevice(name: "huge", capacitySectors: .max, backing: .memory) }
        let small = try client.addDevice(name: "small", capacitySectors: 8, backing: .memory)
        #expect(throws: SimClientError.self) { try client.resizeDevice(name: "small", capacitySectors: .max) }
        let smallFD = try client.open(small.path, flags: O_RDWR)
        var byte: UInt8 = 0
        #expect(throws: Errno.invalidArgument) {
            _ = try withUnsafeMutableBytes(of: &byte) { try client.pread(smallFD, into: $0, at: .max) }
        }
        // Zero-length transfers reach the kernel with a valid (empty) buffer.
        #expect(try client.pread(smallFD, into: UnsafeMutableRawBufferPointer(start: nil, count: 0), at: 0) == 0)
        #expect(try client.pwrite(smallFD, from: UnsafeRawBufferPointer(start: nil, count: 0), at: 0) == 0)
        try client.close(smallFD)
    }

    @Test(.enabled(if: simKernelIsImplemented, "SimKernel's facade is not implemented yet (ENOSYS)"))
    func aClientVanishingEndsItsWaitEvent() throws {
        let served = SimMachine()
        defer { served.shutdown() }
        let server = try served.serve()
        let client = try SimClient(socketPath: server.socketPath)
        let fd = try client.open(controlPath, flags: O_RDWR)
        var id = blksnap_uuid()
        #expect(try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_CREATE, &id) == 0)
        // Creation queues one low_free_space event: take it.
        var event = blksnap_snapshot_event()
        event.id = id
        event.timeout_ms = 1_000
        #expect(try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, &event) == 0)
        #expect(event.code == UInt32(blksnap_event_code_low_free_space.rawValue))
        // A second client sleeps in WAIT_EVENT (about 4 minutes of ticks), then vanishes.
        let raw = try WireSocket.connect(to: server.socketPath)
        let hello = WireRequest.hello(magic: WireProtocol.magic, version: WireProtocol.version, session: [UInt8](repeating: 0, count: 16))
        try WireSocket.send(raw, type: hello.type.rawValue, body: hello.encodedBody())
        _ = try WireSocket.receive(raw)
        let open = WireRequest.open(path: controlPath, flags: O_RDWR)
        try WireSocket.send(raw, type: open.type.rawValue, body: open.encodedBody())
        let openFrame = try WireSocket.receive(raw)
        let opened = try WireReply.decode(type: openFrame.type, body: openFrame.body).result
        #expect(opened >= 0)
        event.timeout_ms = 60_000
        let bytes = withUnsafeBytes(of: event) { Array($0) }
        let wait = WireRequest.ioctl(fd: CInt(opened), request: UInt64(BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT), argument: 0x10000,
                                     regions: [.init(address: 0x10000, bytes: bytes, writable: true)])
        try WireSocket.send(raw, type: wait.type.rawValue, body: wait.encodedBody())
        usleep(100_000)
        #expect(server.connectionCount == 2)
        Glibc.close(raw)
        var gone = false
        for _ in 0..<300 where !gone {
            gone = server.connectionCount == 1
            usleep(10_000)
        }
        #expect(gone, "the sleeping WAIT_EVENT did not end when its client vanished")
        #expect(try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_DESTROY, &id) == 0)
    }
}
