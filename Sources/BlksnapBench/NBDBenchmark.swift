import BlksnapBackup
#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapNBD
import BlksnapSimulator
import Foundation
import SimKernel

/// Figure 9 (issue 13): the NBD export. `nbdcopy` of a snapshot image served by an
/// in-process ``NBDServer`` (as `blksnapctl nbd serve` runs it: the default
/// configuration, a Unix socket) to `null:`, against sequential reads of the same image
/// through the same ``SnapshotImageSource`` in one thread (data discarded too), and
/// against `nbdcopy` to `null:` from `qemu-nbd` serving the original's raw backing file
/// (the same bytes: the original is not written after the take). And the time to walk
/// `qemu:dirty-bitmap:cbt` over a whole 16 TiB and a whole 1 TiB device with the same
/// number of dirty CBT blocks, with an in-process client.
struct NBDBenchmark {
    /// One repetition of the copy figures, in wall-clock seconds.
    struct CopySample {
        /// Sequential reads of the whole image through the source, ``requestBytes`` each.
        var readSeconds: Double
        /// `nbdcopy` from our server to `null:` (process start to exit).
        var nbdcopySeconds: Double
        /// `nbdcopy` from `qemu-nbd` to `null:` (nil: qemu-nbd is not installed).
        var qemuNBDSeconds: Double?
    }

    /// The block-status timings of one device size.
    struct BlockStatusSeries {
        /// The device's size.
        var deviceBytes: UInt64
        /// Its CBT block size.
        var blockBytes: UInt32
        /// Wall-clock seconds per repetition from the first block-status request of a walk
        /// over the whole device to the last reply (connected and negotiated before; the
        /// median of ``NBDBenchmark/walksPerRepetition`` walks).
        var seconds: [Double]
        /// Block-status requests of a walk.
        var requestsPerWalk: Int
    }

    static let nbdcopy = "/usr/bin/nbdcopy"
    static let qemuNBD = "/usr/bin/qemu-nbd"
    /// nbdcopy's request size (its default in libnbd 1.14, passed explicitly), and the
    /// size of each baseline read.
    static let requestBytes = 256 << 10
    /// Dirty CBT blocks of each block-status device.
    static let dirtyBlocks = 1000
    /// Walks of each device per repetition (their median is the repetition's time: a
    /// 1 TiB walk takes milliseconds, less than one scheduling delay on a busy machine).
    static let walksPerRepetition = 5

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    /// Whether nbdcopy is installed (libnbd-bin).
    static var nbdcopyAvailable: Bool { access(nbdcopy, X_OK) == 0 }
    /// Whether qemu-nbd is installed (qemu-utils).
    static var qemuNBDAvailable: Bool { access(qemuNBD, X_OK) == 0 }

    // MARK: - Copies

    /// Sets up an image of random data and times, per repetition (order alternating),
    /// the local reads, nbdcopy from our server and nbdcopy from qemu-nbd.
    func copies() throws(BenchError) -> [CopySample] {
        let deviceBytes = configuration.nbdDeviceBytes
        let fixture = try SimFixture(scratch: scratch, tag: "nbd", originalBytes: deviceBytes, storageBytes: 16 << 20, take: false)
        defer { fixture.close() }
        // Random data in the whole original (no holes nor zeros for either server to skip).
        do {
            let raw = try HostFile.baseline(fixture.originalPaths[0])
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
            defer { buffer.deallocate() }
            var fill = BenchRandom(seed: 13)
            for offset in stride(from: UInt64(0), to: deviceBytes, by: 1 << 20) {
                let words = buffer.bindMemory(to: UInt64.self)
                for index in words.indices { words[index] = fill.next() }
                raw.write(UnsafeRawBufferPointer(rebasing: buffer[..<Int(min(1 << 20, deviceBytes - offset))]), atByte: offset)
            }
        }
        try fixture.takeSnapshot()
        let source = try Self.imageSource(fixture, name: "image", cbtSince: nil)
        defer { Self.closeSource(source) }
        let socket = scratch.file("nbd-copy.sock")
        let server = try Self.startServer(source, socket: socket)
        defer {
            server.stop()
            _ = server.waitUntilStopped()
        }
        let uri = "nbd+unix:///image?socket=\(socket)"
        var qemu: Process?
        let qemuSocket = scratch.file("qemu-nbd.sock")
        if Self.qemuNBDAvailable {
            qemu = try Self.startQemuNBD(file: fixture.originalPaths[0], socket: qemuSocket)
        }
        defer {
            if let qemu {
                Self.stopQemuNBD(qemu)
                _ = unlink(qemuSocket)
            }
        }
        let qemuURI = "nbd+unix:///?socket=\(qemuSocket)"
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.requestBytes, alignment: 4096)
        defer { buffer.deallocate() }
        func readImage() throws(BenchError) -> Double {
            let start = BenchClock.nanoseconds()
            var offset: UInt64 = 0
            while offset < deviceBytes {
                let count = Int(min(UInt64(Self.requestBytes), deviceBytes - offset))
                do throws(NBDSourceError) {
                    try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<count]), at: offset)
                } catch {
                    throw BenchError("reading the image at \(offset) failed: \(error.message)")
                }
                offset += UInt64(count)
            }
            return Double(BenchClock.nanoseconds() - start) / 1e9
        }
        func copy(_ uri: String) throws(BenchError) -> Double {
            try ExternalTool.run(Self.nbdcopy, ["--request-size=\(Self.requestBytes)", uri, "null:"])
        }
        // Warm-up: page cache, the servers' threads and buffers.
        _ = try readImage()
        _ = try copy(uri)
        if qemu != nil { _ = try copy(qemuURI) }
        var samples: [CopySample] = []
        for repetition in 0..<max(1, configuration.repetitions) {
            var sample = CopySample(readSeconds: 0, nbdcopySeconds: 0, qemuNBDSeconds: nil)
            if repetition % 2 == 0 {
                sample.readSeconds = try readImage()
                sample.nbdcopySeconds = try copy(uri)
                if qemu != nil { sample.qemuNBDSeconds = try copy(qemuURI) }
            } else {
                if qemu != nil { sample.qemuNBDSeconds = try copy(qemuURI) }
                sample.nbdcopySeconds = try copy(uri)
                sample.readSeconds = try readImage()
            }
            samples.append(sample)
        }
        return samples
    }

    // MARK: - Block status

    /// Times a walk of the whole of `qemu:dirty-bitmap:cbt` of devices of `sizes` bytes,
    /// each with ``dirtyBlocks`` dirty CBT blocks, the sizes alternating per repetition.
    func blockStatus(sizes: [UInt64]) throws(BenchError) -> [BlockStatusSeries] {
        struct Export {
            var fixture: SimFixture
            var source: SnapshotImageSource
            var server: NBDServer
            var socket: String
            var series: BlockStatusSeries
            var expectedDirtyBytes: UInt64
        }
        var exports: [Export] = []
        defer {
            for export in exports {
                export.server.stop()
                _ = export.server.waitUntilStopped()
                Self.closeSource(export.source)
                export.fixture.close()
            }
        }
        for (index, deviceBytes) in sizes.enumerated() {
            let fixture = try SimFixture(scratch: scratch, tag: "status\(index)", originalBytes: deviceBytes,
                                         storageBytes: 16 << 20, take: false)
            // The tracker is attached: writes before the take raise their CBT blocks to
            // the active number 1; after the take they are the blocks changed after 0.
            let info: CBTInfo
            do throws(BlksnapError) {
                let device = try BlockDevice(path: fixture.originals[0].path, kernel: SimKernelBackend(fixture.kernel))
                defer { try? device.close() }
                info = try device.cbtInfo()
            } catch {
                fixture.close()
                throw BenchError("cannot read the CBT of a \(Benchmark.bytesText(deviceBytes)) device: \(error)")
            }
            let blockBytes = UInt64(info.blockSizeBytes)
            var random = BenchRandom(seed: 900 + UInt64(index))
            let data = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
            data.initializeMemory(as: UInt8.self, repeating: 0x5A)
            for block in random.distinct(Self.dirtyBlocks, below: deviceBytes / blockBytes) {
                fixture.write(UnsafeRawBufferPointer(data), device: 0, atByte: block * blockBytes)
            }
            data.deallocate()
            try fixture.takeSnapshot()
            let source = try Self.imageSource(fixture, name: "disk", cbtSince: 0)
            guard source.changed?.blockCount == Self.dirtyBlocks else {
                throw BenchError("the CBT of the \(Benchmark.bytesText(deviceBytes)) device has \(source.changed?.blockCount ?? 0) "
                                 + "blocks changed, not \(Self.dirtyBlocks)")
            }
            let socket = scratch.file("nbd-status\(index).sock")
            let server = try Self.startServer(source, socket: socket)
            exports.append(Export(fixture: fixture, source: source, server: server, socket: socket,
                                  series: BlockStatusSeries(deviceBytes: deviceBytes, blockBytes: info.blockSizeBytes,
                                                            seconds: [], requestsPerWalk: 0),
                                  expectedDirtyBytes: UInt64(Self.dirtyBlocks) * blockBytes))
        }
        func walk(_ index: Int) throws(BenchError) -> Double {
            let export = exports[index]
            let client = try BlockStatusClient(unix: export.socket, export: "disk", context: "qemu:dirty-bitmap:cbt")
            let start = BenchClock.nanoseconds()
            let walk = try client.walk(sizeBytes: export.series.deviceBytes)
            let seconds = Double(BenchClock.nanoseconds() - start) / 1e9
            guard walk.dirtyBytes == export.expectedDirtyBytes, walk.coveredBytes == export.series.deviceBytes else {
                throw BenchError("block status of the \(Benchmark.bytesText(export.series.deviceBytes)) export covered \(walk.coveredBytes) "
                                 + "bytes with \(walk.dirtyBytes) dirty, not \(export.series.deviceBytes) with \(export.expectedDirtyBytes)")
            }
            exports[index].series.requestsPerWalk = walk.requests
            return seconds
        }
        // Warm-up, then the sizes alternating.
        for index in exports.indices { _ = try walk(index) }
        for repetition in 0..<max(1, configuration.repetitions) {
            let order = repetition % 2 == 0 ? Array(exports.indices) : exports.indices.reversed()
            for index in order {
                var walks: [Double] = []
                for _ in 0..<Self.walksPerRepetition { walks.append(try walk(index)) }
                exports[index].series.seconds.append(BenchSummary(walks)?.median ?? 0)
            }
        }
        return exports.map(\.series)
    }

    // MARK: - Support

    /// The image of the fixture's first original as an export.
    private static func imageSource(_ fixture: SimFixture, name: String, cbtSince: UInt8?) throws(BenchError) -> SnapshotImageSource {
        do throws(BlksnapError) {
            let device = try BlockDevice(path: fixture.originals[0].path, kernel: SimKernelBackend(fixture.kernel))
            return try SnapshotImageSource(original: device, name: name, cbtSince: cbtSince)
        } catch {
            throw BenchError("cannot open the image of \(fixture.originals[0].path): \(error)")
        }
    }

    /// Closes the image reader and the original of `source`.
    private static func closeSource(_ source: SnapshotImageSource) {
        try? source.reader.close()
        try? source.original.close()
    }

    /// A started server with `nbd serve`'s defaults on the Unix socket `socket`.
    private static func startServer(_ source: any NBDExportSource, socket: String) throws(BenchError) -> NBDServer {
        do throws(NBDServerError) {
            let server = try NBDServer(sources: [source], configuration: NBDServerConfiguration(address: .unix(path: socket)))
            _ = try server.start()
            return server
        } catch {
            throw BenchError("cannot start the NBD server: \(error.description)")
        }
    }

    /// `qemu-nbd --read-only -f raw --socket SOCKET --persistent FILE`, once it accepts connections.
    private static func startQemuNBD(file: String, socket: String) throws(BenchError) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: qemuNBD)
        process.arguments = ["--read-only", "-f", "raw", "--socket", socket, "--persistent", file]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BenchError("cannot run qemu-nbd: \(error)")
        }
        let deadline = BenchClock.nanoseconds() + 20_000_000_000
        while !listening(socket) {
            guard process.isRunning, BenchClock.nanoseconds() < deadline else {
                Self.stopQemuNBD(process)
                throw BenchError("qemu-nbd did not listen on \(socket)")
            }
            usleep(10_000)
        }
        return process
    }

    /// Ends qemu-nbd with SIGKILL and reaps it. Not SIGTERM: a child inherits the signal mask
    /// of the thread that spawned it; libdispatch's worker threads, on which the test runner
    /// runs the benchmark smoke test, block SIGTERM, so qemu-nbd started with it blocked, the
    /// signal stayed pending and `waitUntilExit` never returned (CI hung until its 5400 s).
    /// qemu-nbd only serves a read-only file here, so killing it loses nothing.
    private static func stopQemuNBD(_ process: Process) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Whether a server accepts connections on the Unix socket `path` (the probe closes at once).
    private static func listening(_ path: String) -> Bool {
        guard access(path, F_OK) == 0 else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }
}

/// A minimal blocking NBD client: fixed newstyle, structured replies, one metadata
/// context, and `NBD_CMD_BLOCK_STATUS` requests one at a time over the whole export, as
/// `nbdinfo --map` walks it (the largest 4 KiB-aligned 32-bit length each; the next
/// request starts where the reply's extents end).
private final class BlockStatusClient {
    private let fd: Int32
    /// The context id the server gave the negotiated context.
    private var contextID: UInt32 = 0

    /// Connects to `path` and negotiates `context` on export `export`.
    init(unix path: String, export: String, context: String) throws(BenchError) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket", errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw BenchError("cannot connect to \(path)", errno: code)
        }
        let greeting = try receive(18)
        guard Self.number(greeting[0..<8]) == NBDMagic.server else { throw BenchError("not an NBD server on \(path)") }
        try send(Self.bytes(UInt32(3), 4))  // FIXED_NEWSTYLE | NO_ZEROES
        try option(8, [])
        guard try optionReplies().last == 1 else { throw BenchError("the server refused structured replies") }
        let name = Array(export.utf8), query = Array(context.utf8)
        try option(10, Self.bytes(UInt32(name.count), 4) + name + Self.bytes(UInt32(1), 4) + Self.bytes(UInt32(query.count), 4) + query)
        guard try optionReplies().last == 1, contextID != 0 else { throw BenchError("the server did not select \(context)") }
        try option(7, Self.bytes(UInt32(name.count), 4) + name + Self.bytes(UInt16(0), 2))
        guard try optionReplies().last == 1 else { throw BenchError("the server refused export \(export)") }
    }

    deinit {
        // NBD_CMD_DISC, then close.
        _ = try? send(Self.bytes(NBDMagic.request, 4) + Self.bytes(UInt16(0), 2) + Self.bytes(UInt16(2), 2) + [UInt8](repeating: 0, count: 20))
        close(fd)
    }

    /// Walks the whole export: requests sent, bytes covered, bytes flagged dirty.
    func walk(sizeBytes: UInt64) throws(BenchError) -> (requests: Int, coveredBytes: UInt64, dirtyBytes: UInt64) {
        let maximum: UInt64 = 0xFFFF_F000
        var offset: UInt64 = 0, requests = 0, dirty: UInt64 = 0
        while offset < sizeBytes {
            let length = min(maximum, sizeBytes - offset)
            requests += 1
            try send(Self.bytes(NBDMagic.request, 4) + Self.bytes(UInt16(0), 2) + Self.bytes(UInt16(7), 2)
                     + Self.bytes(UInt64(requests), 8) + Self.bytes(offset, 8) + Self.bytes(length, 4))
            var covered: UInt64 = 0
            var done = false
            while !done {
                let header = try receive(20)
                guard Self.number(header[0..<4]) == UInt64(NBDMagic.structuredReply), Self.number(header[8..<16]) == UInt64(requests) else {
                    throw BenchError("unexpected reply to block status at \(offset)")
                }
                done = Self.number(header[4..<6]) & 1 != 0
                let type = Self.number(header[6..<8])
                let payload = try receive(Int(Self.number(header[16..<20])))
                if type >= 0x8000 { throw BenchError("block status at \(offset) failed: error \(Self.number(payload.prefix(4)))") }
                guard type == 5, payload.count >= 12, UInt32(Self.number(payload[0..<4])) == contextID else { continue }
                var index = 4
                while index + 8 <= payload.count {
                    let extent = Self.number(payload[index..<index + 4])
                    covered += extent
                    if Self.number(payload[index + 4..<index + 8]) & 1 != 0 { dirty += extent }
                    index += 8
                }
            }
            guard covered > 0 else { throw BenchError("block status at \(offset) returned no extent") }
            offset += covered
        }
        return (requests, offset, dirty)
    }

    private func option(_ code: UInt32, _ data: [UInt8]) throws(BenchError) {
        try send(Self.bytes(NBDMagic.option, 8) + Self.bytes(code, 4) + Self.bytes(UInt32(data.count), 4) + data)
    }

    /// Option replies up to the ACK or an error; their types (a META_CONTEXT reply sets ``contextID``).
    private func optionReplies() throws(BenchError) -> [UInt32] {
        var types: [UInt32] = []
        while true {
            let header = try receive(20)
            guard Self.number(header[0..<8]) == NBDMagic.optionReply else { throw BenchError("bad option reply") }
            let type = UInt32(Self.number(header[12..<16]))
            let data = try receive(Int(Self.number(header[16..<20])))
            if type == 4, data.count >= 4 { contextID = UInt32(Self.number(data[0..<4])) }
            types.append(type)
            if type == 1 || type >= 0x8000_0000 { return types }
        }
    }

    private func send(_ bytes: [UInt8]) throws(BenchError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw BenchError("send to the NBD server failed", errno: errno) }
            sent += n
        }
    }

    private func receive(_ count: Int) throws(BenchError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw BenchError("the NBD server closed the connection") }
            got += n
        }
        return bytes
    }

    private static func number(_ bytes: some Collection<UInt8>) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }

    private static func bytes(_ value: some BinaryInteger, _ count: Int) -> [UInt8] {
        let wide = UInt64(truncatingIfNeeded: value)
        return (0..<count).map { UInt8(truncatingIfNeeded: wide >> (8 * UInt64(count - 1 - $0))) }
    }
}
