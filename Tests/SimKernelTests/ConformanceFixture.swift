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

/// One simulated machine (``SimMachine``) for the conformance suite, driven THROUGH
/// BlksnapKit: ``Control`` and ``BlockDevice`` over the in-process ``SimKernelBackend``,
/// plus the backend's raw `ioctl` for the paths the typed API cannot reach. Reads and
/// writes answer with the errno as a value, for assertions on it.
///
/// Small parameters (spec §12 test configuration): 64 KiB chunks and CBT blocks,
/// `diff_storage_minimum` 8192 sectors, HZ 1000.
struct ConformanceSim {
    let machine: SimMachine
    let control: Control
    /// A large sparse device used for difference storage.
    let storagePath: String

    var kernel: SimKernel { machine.kernel }
    var backend: SimKernelBackend { machine.backend }

    /// Chunk and CBT block size of the small configuration.
    static let chunkBytes = SimMachine.smallChunkBytes
    /// Chunk size in sectors.
    static let chunkSectors: UInt64 = 128

    static func params(_ adjust: (inout Params) -> Void = { _ in }) -> Params {
        SimMachine.smallParams {
            $0.hz = 1000
            adjust(&$0)
        }
    }

    init(_ adjust: (inout Params) -> Void = { _ in },
         interrupted: @escaping @Sendable () -> Bool = { false }) throws {
        machine = SimMachine(params: Self.params(adjust), interrupted: interrupted)
        control = try machine.openControl()
        storagePath = try machine.addDevice("store", sectors: 1 << 22).path  // 2 GiB, sparse
    }

    /// Adds a memory device and opens it through BlksnapKit (read-write).
    @discardableResult
    func addDevice(_ name: String, sectors: UInt64, logicalBlockSize: UInt32 = 512,
                   ioMin: UInt32 = 512, attach: Bool = true) throws -> BlockDevice {
        let info = try machine.addDevice(name, sectors: sectors, logicalBlockSize: logicalBlockSize, ioMin: ioMin)
        let device = try BlockDevice(path: info.path, kernel: backend, flags: O_RDWR)
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
        do throws(Errno) {
            try machine.write(bytes, to: path, atByte: offset)
            return 0
        } catch {
            return error.rawValue
        }
    }

    /// Reads `count` bytes at a byte offset of a node; the errno on failure.
    func read(_ path: String, atByte offset: UInt64, count: Int) -> Result<[UInt8], Errno> {
        Result { () throws(Errno) in try machine.read(path, atByte: offset, count: count) }
    }

    /// The whole content of a node (device or image) as seen through `pread`.
    func readAll(_ path: String) throws -> [UInt8] { try machine.readAll(path) }

    /// The image path of a device (`/dev/blksnap-image_M:m`).
    func imagePath(of device: BlockDevice) throws -> String { try machine.imagePath(of: device.path) }

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
