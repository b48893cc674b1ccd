#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import Foundation
import Synchronization
import SystemPackage
import Testing
@testable import SimKernel
@testable import SimWire

/// Two pages of anonymous memory, the second one with chosen protection, to place
/// arguments right before a page the kernel cannot touch.
final class GuardedPages {
    let base: UnsafeMutableRawPointer
    static let pageBytes = Int(sysconf(Int32(_SC_PAGESIZE)))

    init(secondPage protection: Int32 = PROT_NONE) {
        base = mmap(nil, 2 * Self.pageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        mprotect(base + Self.pageBytes, Self.pageBytes, protection)
    }

    deinit { munmap(base, 2 * Self.pageBytes) }

    /// The address `bytes` before the end of the first page.
    func endOfFirstPage(minus bytes: Int) -> UnsafeMutableRawPointer { base + Self.pageBytes - bytes }
}

/// SimClient against a server hosting the scripted kernel.
@Suite struct WireClientTests {
    @Test func unreachableServersAreNamedClearly() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        harness.server.stop()
        let missing = harness.directory + "/nothing.sock"
        #expect {
            _ = try SimClient(socketPath: missing)
        } throws: { error in
            (error as? SimClientError)?.description == "simulator at \(missing) is not running (ENOENT)"
        }
        // A stale socket node: nobody listening.
        var address = try WireSocket.address(harness.socketPath)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        Glibc.close(fd)
        #expect {
            _ = try SimClient(socketPath: harness.socketPath)
        } throws: { error in
            guard let error = error as? SimClientError else { return false }
            return error.errno == .connectionRefused
                && error.description == "simulator at \(harness.socketPath) is not running (ECONNREFUSED)"
        }
    }

    @Test func managementRoundTrips() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let client = try SimClient(socketPath: harness.socketPath)
        let sda = try client.addDevice(name: "sda", capacitySectors: 2048, backing: .memory)
        #expect(sda.name == "sda" && sda.path == "/dev/sda" && sda.capacitySectors == 2048)
        #expect(sda.logicalBlockSize == 512 && sda.physicalBlockSize == 4096 && sda.ioMin == 512)
        let disk = try client.addDevice(name: "disk", capacitySectors: 8, logicalBlockSize: 4096,
                                        physicalBlockSize: 4096, ioMin: 4096)
        #expect(disk.logicalBlockSize == 4096)
        _ = try client.addDevice(name: "rel", capacitySectors: 8, backing: .file(path: "relative.img"))
        let cwd = FileManager.default.currentDirectoryPath
        #expect(harness.kernel.state.withLock { $0.backings } == [
            "sda": .memory, "disk": .file(path: harness.directory + "/root/disk.img"),
            "rel": .file(path: cwd + "/relative.img"),
        ])
        #expect(throws: SimClientError.self) { try client.addDevice(name: "../escape", capacitySectors: 8) }
        #expect(try client.listDevices().map(\.name) == ["disk", "rel", "sda"])
        try client.resizeDevice(name: "sda", capacitySectors: 4096)
        #expect(try client.listDevices().first { $0.name == "sda" }?.capacitySectors == 4096)
        try client.removeDevice(name: "rel")
        #expect {
            try client.removeDevice(name: "rel")
        } throws: { error in
            guard let error = error as? SimClientError else { return false }
            return error.errno == .noSuchFileOrDirectory && error.message.hasPrefix("cannot remove device rel:")
                && error.message.hasSuffix("(ENOENT)")
        }
        try client.setParameter("diff_storage_minimum", to: 4096)
        let params = try client.parameters()
        #expect(params.map(\.name) == Params.names)
        #expect(params.first { $0.name == "diff_storage_minimum" }?.value == 4096)
        #expect(harness.kernel.params.current.diffStorageMinimum == 4096)
        #expect(throws: SimClientError(errno: .invalidArgument, message: "cannot set parameter no_such: Invalid argument (EINVAL)")) {
            try client.setParameter("no_such", to: 1)
        }
    }

    @Test func systemCallRoundTrips() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let client = try SimClient(socketPath: harness.socketPath)
        #expect(throws: Errno.noSuchFileOrDirectory) { _ = try client.open("/dev/nothing", flags: O_RDWR) }
        let control = try client.stat(ScriptedKernel.controlPath)
        #expect(control.isCharacterDevice && control.deviceNumber == DeviceNumber(major: 10, minor: 123))
        let status = try client.stat(ScriptedKernel.diskPath)
        #expect(status.isBlockDevice && status.sizeBytes == 1 << 20 && status.deviceNumber.major == 240)
        #expect(throws: Errno.noSuchFileOrDirectory) { _ = try client.stat("/dev/nothing") }
        let fd = try client.open(ScriptedKernel.diskPath, flags: O_RDWR)
        let pattern = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(try pattern.withUnsafeBytes { try client.pwrite(fd, from: $0, at: 4096) } == pattern.count)
        var back = [UInt8](repeating: 0, count: pattern.count)
        #expect(try back.withUnsafeMutableBytes { try client.pread(fd, into: $0, at: 4096) } == pattern.count)
        #expect(back == pattern)
        // Short read at the end of the device.
        var tail = [UInt8](repeating: 0, count: 100)
        #expect(try tail.withUnsafeMutableBytes { try client.pread(fd, into: $0, at: (1 << 20) - 10) } == 10)
        #expect(throws: Errno.resourceTemporarilyUnavailable) {
            _ = try pattern.withUnsafeBytes { try client.pwrite(fd, from: $0, at: 0, nowait: true) }
        }
        var size: UInt64 = 0
        #expect(try client.ioctl(fd, BLKSNAP_REQ_BLKGETSIZE64, &size) == 0)
        #expect(size == 1 << 20)
        var sectorBytes: Int32 = 0
        #expect(try client.ioctl(fd, BLKSNAP_REQ_BLKSSZGET, &sectorBytes) == 0)
        #expect(sectorBytes == 512)
        try client.close(fd)
        #expect(throws: Errno.badFileDescriptor) { try client.close(fd) }
        #expect(throws: Errno.badFileDescriptor) { _ = try client.ioctl(fd, BLKSNAP_REQ_BLKGETSIZE64, &size) }
    }

    @Test func versionThroughTheSocketAndItsFaults() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let client = try SimClient(socketPath: harness.socketPath)
        let fd = try client.open(ScriptedKernel.controlPath, flags: O_RDWR)
        var version = blksnap_version(major: 9, minor: 9, revision: 9, build: 9)
        #expect(try client.ioctl(fd, BLKSNAP_REQ_VERSION, &version) == 0)
        #expect([version.major, version.minor, version.revision, version.build] == [2, 0, 0, 0])
        // Null, garbage, and half-mapped pointers: the kernel's fault errno, no crash.
        #expect(throws: Errno.noData) { _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, address: 0) }
        #expect(throws: Errno.noData) { _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, address: 0x10) }
        #expect(throws: Errno.noData) { _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, address: 0xffff_8000_0000_0000) }
        let pages = GuardedPages()
        let straddling = pages.endOfFirstPage(minus: 4)
        #expect(throws: Errno.noData) { _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, straddling) }
        // Read-only memory: readable, not writable.
        let readOnly = GuardedPages(secondPage: PROT_READ)
        #expect(throws: Errno.noData) { _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, readOnly.base + GuardedPages.pageBytes) }
        // Only the nr counts on the control device (spec §1.2): VERSION's nr with other bits.
        var again = blksnap_version()
        #expect(try client.ioctl(fd, 0x0000_5600, &again) == 0)
        #expect(again.major == 2)
        #expect(throws: Errno.inappropriateIOCTLForDevice) { _ = try client.ioctl(fd, 0x4008_5607, &again) }
    }

    /// The same ioctl through SimClient and through ProcessUserMemory in process, on
    /// the same kernel: same result, same bytes.
    private func compare(_ harness: WireHarness, _ client: SimClient, clientFD: CInt, request: UInt,
                         prepare: (UnsafeMutableRawPointer) -> UInt64, length: Int, ignoredBytes: [Range<Int>] = [4..<16]) -> Bool {
        let kernelFD = harness.kernel.open(ScriptedKernel.controlPath, flags: O_RDWR)
        defer { _ = harness.kernel.close(kernelFD) }
        let viaSocket = GuardedPages(), inProcess = GuardedPages()
        let socketAddress = prepare(viaSocket.base), processAddress = prepare(inProcess.base)
        let socketResult: Int32
        do { socketResult = try client.ioctl(clientFD, request, address: socketAddress) } catch { socketResult = -error.rawValue }
        let processResult = harness.kernel.ioctl(kernelFD, request, processAddress, memory: ProcessUserMemory(), interrupted: { false })
        // The user pointers stored in the structs differ between the two mappings, and
        // a struct's padding is whatever the kernel's copy of the struct held.
        for range in ignoredBytes {
            memset(viaSocket.base + range.lowerBound, 0, range.count)
            memset(inProcess.base + range.lowerBound, 0, range.count)
        }
        let same = socketResult == processResult
            && memcmp(viaSocket.base, inProcess.base, length) == 0
        if !same { Issue.record("socket \(socketResult) vs in-process \(processResult)") }
        return same
    }

    @Test func collectMatchesTheInProcessKernelByteForByte() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let client = try SimClient(socketPath: harness.socketPath)
        let fd = try client.open(ScriptedKernel.controlPath, flags: O_RDWR)
        for _ in 0..<3 {
            var id = blksnap_uuid()
            #expect(try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_CREATE, &id) == 0)
        }
        let request = BLKSNAP_REQ_SNAPSHOT_COLLECT
        // Partial fill: room for 2 of 3 → ENODATA, count 2, two ids written.
        #expect(compare(harness, client, clientFD: fd, request: request, prepare: { base in
            let collect = base.assumingMemoryBound(to: blksnap_snapshot_collect.self)
            collect.pointee = blksnap_snapshot_collect(count: 2, ids: UInt64(UInt(bitPattern: base + 64)))
            return UInt64(UInt(bitPattern: base))
        }, length: 64 + 48))
        // Size query (ids == 0), and a full fill.
        #expect(compare(harness, client, clientFD: fd, request: request, prepare: { base in
            base.assumingMemoryBound(to: blksnap_snapshot_collect.self).pointee = blksnap_snapshot_collect(count: 0, ids: 0)
            return UInt64(UInt(bitPattern: base))
        }, length: 16))
        #expect(compare(harness, client, clientFD: fd, request: request, prepare: { base in
            base.assumingMemoryBound(to: blksnap_snapshot_collect.self).pointee =
                blksnap_snapshot_collect(count: 8, ids: UInt64(UInt(bitPattern: base + 64)))
            return UInt64(UInt(bitPattern: base))
        }, length: 64 + 128))
        // The ids array runs into an inaccessible page after 1 element: the walk stops
        // with result 0 (spec §1.2 [BUG]) and count 1.
        #expect(compare(harness, client, clientFD: fd, request: request, prepare: { base in
            base.assumingMemoryBound(to: blksnap_snapshot_collect.self).pointee = blksnap_snapshot_collect(
                count: 3, ids: UInt64(UInt(bitPattern: base + GuardedPages.pageBytes - 16)))
            return UInt64(UInt(bitPattern: base))
        }, length: GuardedPages.pageBytes))
        // Null argument, and the struct itself straddling the inaccessible page.
        #expect(compare(harness, client, clientFD: fd, request: request, prepare: { _ in 0 }, length: 16))
        #expect(compare(harness, client, clientFD: fd, request: request, prepare: { base in
            UInt64(UInt(bitPattern: base + GuardedPages.pageBytes - 8))
        }, length: GuardedPages.pageBytes))
        // Version and create too (create adds a snapshot on both paths).
        #expect(compare(harness, client, clientFD: fd, request: BLKSNAP_REQ_VERSION,
                        prepare: { UInt64(UInt(bitPattern: $0)) }, length: 8, ignoredBytes: []))
        #expect(compare(harness, client, clientFD: fd, request: BLKSNAP_REQ_VERSION, prepare: { _ in 0 }, length: 8, ignoredBytes: []))
    }

    @Test func appendStorageShipsThePathAndTheRanges() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let client = try SimClient(socketPath: harness.socketPath)
        let fd = try client.open(ScriptedKernel.controlPath, flags: O_RDWR)
        var path = Array("/dev/sdb1".utf8CString)
        var ranges = [blksnap_sectors(offset: 2048, count: 4096), blksnap_sectors(offset: 1 << 30, count: 8)]
        func append(pathBytes: UInt32? = nil, pathAddress: UInt64? = nil, count: UInt32 = 2, rangesAddress: UInt64? = nil) throws {
            try path.withUnsafeMutableBytes { pathBuffer in
                try ranges.withUnsafeMutableBytes { rangeBuffer in
                    var args = blksnap_snapshot_append_storage()
                    args.bdev_path = pathAddress ?? UInt64(UInt(bitPattern: pathBuffer.baseAddress))
                    args.bdev_path_size = pathBytes ?? UInt32(pathBuffer.count)
                    args.count = count
                    args.ranges = rangesAddress ?? UInt64(UInt(bitPattern: rangeBuffer.baseAddress))
                    _ = try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, &args)
                }
            }
        }
        try append()
        #expect(harness.kernel.state.withLock { $0.appended.last?.path } == "/dev/sdb1")
        #expect(harness.kernel.state.withLock { $0.appended.last?.ranges } == [2048, 4096, 1 << 30, 8])
        #expect(throws: Errno.badAddress) { try append(pathBytes: 0) }          // strndup_user size 0
        #expect(throws: Errno.invalidArgument) { try append(pathBytes: 4) }     // no NUL within 4 bytes
        #expect(throws: Errno.badAddress) { try append(pathAddress: 0x10) }     // garbage path pointer
        #expect(throws: Errno.invalidArgument) { try append(rangesAddress: 0) } // null ranges, count 2
        // Two ranges at the very end of a page, a third announced: it faults.
        let pages = GuardedPages()
        let end = pages.endOfFirstPage(minus: 32)
        ranges.withUnsafeBytes { end.copyMemory(from: $0.baseAddress!, byteCount: 32) }
        #expect(throws: Errno.invalidArgument) { try append(count: 3, rangesAddress: UInt64(UInt(bitPattern: end))) }
        try append(count: 2, rangesAddress: UInt64(UInt(bitPattern: end)))
        #expect(harness.kernel.state.withLock { $0.appended.last?.ranges } == [2048, 4096, 1 << 30, 8])
        #expect(throws: Errno.invalidArgument) { _ = try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, address: 0) }
        // count 0 reads no ranges.
        try append(count: 0, rangesAddress: 0)
    }

    @Test func filterControlShipsNestedBuffers() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let client = try SimClient(socketPath: harness.socketPath)
        let fd = try client.open(ScriptedKernel.diskPath, flags: O_RDWR)
        func control(_ cmd: UInt32, _ option: UnsafeMutableRawPointer?, _ optionBytes: UInt32) throws(Errno) {
            var ctl = blkfilter_ctl()
            withUnsafeMutableBytes(of: &ctl.name) { $0.copyBytes(from: Array("blksnap".utf8)) }
            ctl.cmd = cmd
            ctl.optlen = optionBytes
            ctl.opt = UInt64(UInt(bitPattern: option))
            _ = try client.ioctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, &ctl)
        }
        // cbtmap: the kernel writes `length` bytes at `buffer`.
        var map = [UInt8](repeating: 0, count: 300)
        try map.withUnsafeMutableBytes { buffer in
            var request = blksnap_cbtmap(offset: 5, length: 300, buffer: UInt64(UInt(bitPattern: buffer.baseAddress)))
            try control(1, &request, 16)
        }
        #expect(map == (0..<300).map { UInt8(truncatingIfNeeded: 5 + $0) })
        // A buffer that ends in an inaccessible page: EINVAL, as the kernel's copy fault.
        let pages = GuardedPages()
        var straddling = blksnap_cbtmap(offset: 0, length: 64, buffer: UInt64(UInt(bitPattern: pages.endOfFirstPage(minus: 32))))
        #expect(throws: Errno.invalidArgument) { try control(1, &straddling, 16) }
        #expect(throws: Errno.invalidArgument) { try control(1, &straddling, 15) }
        #expect(throws: Errno.noData) { try control(1, nil, 16) }
        // cbtdirty: only element 0 is read, `count` times (spec §1.4 [BUG]); a huge
        // count with one mapped element still works.
        let element = pages.endOfFirstPage(minus: 16)
        element.storeBytes(of: blksnap_sectors(offset: 100, count: 8), as: blksnap_sectors.self)
        var dirty = blksnap_cbtdirty(count: 3, dirty_sectors: UInt64(UInt(bitPattern: element)))
        try control(2, &dirty, 16)
        #expect(harness.kernel.state.withLock { $0.dirty } == [100, 8, 100, 8, 100, 8])
        var many = blksnap_cbtdirty(count: 100_000, dirty_sectors: UInt64(UInt(bitPattern: element)))
        try control(2, &many, 16)
        #expect(harness.kernel.state.withLock { $0.dirty.count } == 6 + 200_000)
        #expect(throws: Errno.inappropriateIOCTLForDevice) { try control(7, nil, 0) }
    }

    @Test func aBlockingWaitDoesNotHoldUpOtherCalls() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let client = try SimClient(socketPath: harness.socketPath)
        let fd = try client.open(ScriptedKernel.controlPath, flags: O_RDWR)
        let start = monotonicNanoseconds()
        let waited = PthreadMutex<Int32?>(nil)
        let thread = Thread {
            var event = blksnap_snapshot_event()
            // Long enough that a loaded machine (2 cores, many builds) cannot finish the
            // wait before the checks below run; the checks poll, so a long wait costs
            // only its own duration.
            event.timeout_ms = 3_000
            let result: Int32
            do throws(Errno) { result = try client.ioctl(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, &event) } catch { result = -error.rawValue }
            waited.withLock { $0 = result }
        }
        thread.start()
        #expect(WireHarness.eventually { harness.kernel.waiting == 1 })
        for _ in 0..<20 {
            var version = blksnap_version()
            #expect(try client.ioctl(fd, BLKSNAP_REQ_VERSION, &version) == 0)
        }
        #expect(harness.kernel.waiting == 1 && waited.withLock { $0 } == nil)  // the twenty calls did not wait for it
        #expect(WireHarness.eventually(seconds: 10) { waited.withLock { $0 } != nil })
        #expect(waited.withLock { $0 } == -ENOENT)
        #expect(monotonicNanoseconds() - start >= 3_000_000_000)
    }

    @Test func droppingTheClientClosesItsDescriptors() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        do {
            let client = try SimClient(socketPath: harness.socketPath)
            _ = try client.open(ScriptedKernel.controlPath, flags: O_RDWR)
            _ = try client.open(ScriptedKernel.diskPath, flags: O_RDWR)
            #expect(harness.kernel.openDescriptorCount == 2)
        }
        #expect(WireHarness.eventually { harness.kernel.openDescriptorCount == 0 })
        #expect(WireHarness.eventually { harness.server.connectionCount == 0 })
    }

    @Test func aServerThatGoesAwayGivesConnectionErrors() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let client = try SimClient(socketPath: harness.socketPath)
        let fd = try client.open(ScriptedKernel.controlPath, flags: O_RDWR)
        harness.server.stop()
        var version = blksnap_version()
        #expect(throws: Errno.connectionReset) { _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, &version) }
        // The socket file is gone with the server.
        #expect(throws: Errno.noSuchFileOrDirectory) { _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, &version) }
    }

    /// Round-trip latency of VERSION through the socket (printed, not asserted).
    @Test func versionLatency() throws {
        let harness = try WireHarness()
        defer { harness.tearDown() }
        let client = try SimClient(socketPath: harness.socketPath)
        let fd = try client.open(ScriptedKernel.controlPath, flags: O_RDWR)
        var samples: [UInt64] = []
        for _ in 0..<2_000 {
            var version = blksnap_version()
            let start = monotonicNanoseconds()
            _ = try client.ioctl(fd, BLKSNAP_REQ_VERSION, &version)
            samples.append(monotonicNanoseconds() - start)
            #expect(version.major == 2)
        }
        samples.sort()
        print("VERSION round trip over the socket (scripted kernel): p50 \(samples[1000] / 1000) µs, p99 \(samples[1980] / 1000) µs")
    }
}
