#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import SimKernel
import Synchronization
import SystemPackage
import Testing

/// One simulated machine for the conformance suite, driven THROUGH BlksnapKit:
/// ``Control`` and ``BlockDevice`` over the in-process ``SimKernelBackend``, plus the
/// backend's raw `ioctl`/`pread`/`pwrite` for the paths the typed API cannot reach.
///
/// Small parameters (spec §12 test configuration): 64 KiB chunks and CBT blocks,
/// `diff_storage_minimum` 8192 sectors, HZ 1000.
struct ConformanceSim {
    let kernel: SimKernel
    let backend: SimKernelBackend
    let control: Control
    /// A large sparse device used for difference storage.
    let storagePath: String

    /// Chunk and CBT block size of the small configuration.
    static let chunkBytes = 65_536
    /// Chunk size in sectors.
    static let chunkSectors: UInt64 = 128

    static func params(_ adjust: (inout Params) -> Void = { _ in }) -> Params {
        var params = Params()
        params.chunkMinimumShift = 16
        params.diffStorageMinimum = 8192
        params.hz = 1000
        adjust(&params)
        return params
    }

    init(_ adjust: (inout Params) -> Void = { _ in },
         interrupted: @escaping @Sendable () -> Bool = { false }) throws {
        kernel = SimKernel(params: Self.params(adjust))
        backend = SimKernelBackend(kernel, interrupted: interrupted)
        control = try Control(kernel: backend)
        _ = try kernel.addDevice(name: "store", capacitySectors: 1 << 22)  // 2 GiB, sparse
        storagePath = "/dev/store"
    }

    /// Adds a memory device and opens it through BlksnapKit (read-write).
    @discardableResult
    func addDevice(_ name: String, sectors: UInt64, logicalBlockSize: UInt32 = 512,
                   ioMin: UInt32 = 512, attach: Bool = true) throws -> BlockDevice {
        _ = try kernel.addDevice(name: name, capacitySectors: sectors, logicalBlockSize: logicalBlockSize,
                                 physicalBlockSize: max(4096, logicalBlockSize), ioMin: ioMin)
        let device = try BlockDevice(path: "/dev/" + name, kernel: backend, flags: O_RDWR)
        if attach { try device.attachUnchecked() }
        return device
    }

    /// A snapshot with these devices added and `storageSectors` of storage appended
    /// at `storageOffset` of the storage device.
    func snapshot(_ devices: [BlockDevice], storageSectors: UInt64 = 65_536,
                  storageOffset: UInt64 = 0) throws -> SnapshotID {
        let id = try control.createSnapshot()
        for device in devices { try device.addToSnapshot(id) }
        if storageSectors > 0 {
            try control.appendStorageUnchecked(id, devicePath: storagePath,
                                      ranges: [SectorRange(offsetSectors: storageOffset, countSectors: storageSectors)])
        }
        return id
    }

    /// Opens any node of the namespace and returns the simulator descriptor.
    func open(_ path: String) throws -> CInt { try backend.open(path, flags: O_RDWR) }

    /// Writes bytes at a byte offset of a node (device through its filter, or image).
    /// Returns 0 or the errno.
    @discardableResult
    func write(_ path: String, atByte offset: UInt64, _ bytes: [UInt8]) -> Int32 {
        do {
            let fd = try backend.open(path, flags: O_RDWR)
            defer { try? backend.close(fd) }
            let written = try bytes.withUnsafeBytes { try backend.pwrite(fd, from: $0, at: offset) }
            return written == bytes.count ? 0 : -1
        } catch {
            return (error as? Errno)?.rawValue ?? -1
        }
    }

    /// Reads `count` bytes at a byte offset of a node; the errno on failure.
    func read(_ path: String, atByte offset: UInt64, count: Int) -> Result<[UInt8], Errno> {
        do {
            let fd = try backend.open(path, flags: O_RDONLY)
            defer { try? backend.close(fd) }
            var bytes = [UInt8](repeating: 0, count: count)
            let got = try bytes.withUnsafeMutableBytes { try backend.pread(fd, into: $0, at: offset) }
            return .success(Array(bytes[0..<got]))
        } catch let error as Errno {
            return .failure(error)
        } catch {
            return .failure(.ioError)
        }
    }

    /// The whole content of a node (device or image) as seen through `pread`.
    func readAll(_ path: String) throws -> [UInt8] {
        let size = try backend.stat(path).sizeBytes
        return try read(path, atByte: 0, count: Int(size)).get()
    }

    /// The image path of a device (`/dev/blksnap-image_M:m`).
    func imagePath(of device: BlockDevice) throws -> String {
        let number = try device.deviceNumber()
        return "/dev/blksnap-image_\(number.major):\(number.minor)"
    }

    /// A raw ioctl through the backend (BlksnapKit's boundary): 0/positive result or the errno
    /// as a negative number.
    func rawIoctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Int32 {
        do {
            return try backend.ioctl(fd, request, argument)
        } catch {
            return -error.rawValue
        }
    }

    /// A raw ioctl on the bytes of `value`.
    func rawIoctl<T>(_ fd: CInt, _ request: UInt, on value: inout T) -> Int32 {
        withUnsafeMutableBytes(of: &value) { rawIoctl(fd, request, $0.baseAddress!) }
    }

    /// BLKFILTER_CTL hand-built: name "blksnap", `cmd`, `optlen`, `opt`. Returns the result
    /// and the control struct as the caller sees it afterwards.
    func rawFilterControl(_ fd: CInt, cmd: UInt32, optlen: UInt32, opt: UInt64,
                          name: String = "blksnap") -> (result: Int32, control: blkfilter_ctl) {
        var control = blkfilter_ctl()
        withUnsafeMutableBytes(of: &control.name) { raw in
            for (index, byte) in name.utf8.prefix(32).enumerated() { raw[index] = byte }
        }
        control.cmd = cmd
        control.optlen = optlen
        control.opt = opt
        let result = rawIoctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, on: &control)
        return (result, control)
    }

    /// Reads every pending event (poll).
    func drainEvents(_ id: SnapshotID) throws -> [SnapshotEvent] {
        var events: [SnapshotEvent] = []
        while let event = try control.waitEvent(id, timeoutTicks: 0) { events.append(event) }
        return events
    }
}

/// The errno a BlksnapKit call threw (as a raw errno number), or nil when it succeeded.
func errnoOf(_ body: () throws -> Void) -> Int32? {
    do {
        try body()
        return nil
    } catch let error as BlksnapError {
        return error.errno.rawValue
    } catch let error as Errno {
        return error.rawValue
    } catch {
        return -1
    }
}

/// An address that is never mapped: copies from or to it fault.
let faultAddress: UInt64 = 0x10
/// The same address as an argument pointer.
var faultPointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: 0x10)! }

/// The user address of a local buffer.
func address(_ pointer: UnsafeRawPointer?) -> UInt64 { UInt64(UInt(bitPattern: pointer)) }

/// Seeded noise that ``pattern(_:atByte:count:)`` slices: a period that is no power
/// of two, so data moved by a chunk, sector or block would not match.
private let patternNoise: [UInt8] = {
    let period = 1_048_583
    var random = ConformanceRandom(seed: 0x5eed_b10c)
    return [UInt8](unsafeUninitializedCapacity: period + 8) { buffer, initialized in
        var index = 0
        while index < period + 8 {
            var word = random.next()
            withUnsafeBytes(of: &word) { bytes in
                for byte in bytes where index < period + 8 {
                    buffer[index] = byte
                    index += 1
                }
            }
        }
        initialized = period + 8
    }
}()

/// A deterministic pattern: the bytes that generation `generation` holds at
/// `offset…offset+count` (copied in segments with memcpy: fast even in debug builds).
func pattern(_ generation: UInt8, atByte offset: Int, count: Int) -> [UInt8] {
    let period = patternNoise.count - 8
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        patternNoise.withUnsafeBytes { noise in
            var done = 0
            var position = (offset + Int(generation) * 4099) % period
            while done < count {
                let length = min(count - done, period - position)
                memcpy(buffer.baseAddress! + done, noise.baseAddress! + position, length)
                done += length
                position = 0
            }
        }
        initialized = count
    }
}

/// `array[offset..<offset+bytes.count] = bytes` with memcpy.
func overwrite(_ array: inout [UInt8], atByte offset: Int, with bytes: [UInt8]) {
    precondition(offset >= 0 && offset + bytes.count <= array.count)
    array.withUnsafeMutableBytes { target in
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { memcpy(target.baseAddress! + offset, base, source.count) }
        }
    }
}

/// Byte-wise equality with memcmp (fast in debug builds).
func sameBytes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    lhs.count == rhs.count && lhs.withUnsafeBytes { l in
        rhs.withUnsafeBytes { r in l.count == 0 || memcmp(l.baseAddress!, r.baseAddress!, l.count) == 0 }
    }
}

extension SnapshotID {
    /// The snapshot id as the simulator's UUID.
    var simUUID: SimUUID { SimUUID(bytes: rawValue) }
}

/// A closure handed to a new thread.
private final class ThreadWork: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Runs `body` on a new POSIX thread (real concurrency, independent of the test
/// runner's executor); the returned function joins it. A `detached` thread is never
/// joined (its resources go when it ends) and the returned function does nothing.
@discardableResult
func spawnThread(detached: Bool = false, _ body: @escaping @Sendable () -> Void) -> () -> Void {
    let work = Unmanaged.passRetained(ThreadWork(body)).toOpaque()
    var thread = pthread_t()
    let created = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadWork>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, work)
    precondition(created == 0, "pthread_create failed")
    if detached {
        pthread_detach(thread)
        return {}
    }
    return { pthread_join(thread, nil) }
}
