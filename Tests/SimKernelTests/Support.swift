#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import Dispatch
import Synchronization
@testable import SimKernel
import Testing

/// A hand-laid-out user address space over ``MappedUserMemory``: every allocation
/// is its own region with unmapped gaps around it, so a test controls faults exactly.
final class UserSpace {
    let memory = MappedUserMemory()
    private var next: UInt64 = 0x1000_0000

    /// An address no region covers.
    static let unmapped: UInt64 = 0xdead_0000_0000

    /// Maps `bytes` at a fresh address and returns it.
    @discardableResult
    func alloc(_ bytes: [UInt8], writable: Bool = true) -> UInt64 {
        let address = next
        memory.map(.init(address: address, bytes: bytes, writable: writable))
        next = (address + UInt64(bytes.count) + 0x2000) & ~UInt64(0xfff)
        return address
    }

    /// Maps a C value's bytes.
    @discardableResult
    func alloc<T>(_ value: T, writable: Bool = true) -> UInt64 {
        alloc(withUnsafeBytes(of: value) { Array($0) }, writable: writable)
    }

    /// Maps `count` zero bytes.
    @discardableResult
    func zeros(_ count: Int, writable: Bool = true) -> UInt64 {
        alloc([UInt8](repeating: 0, count: count), writable: writable)
    }

    /// The current bytes at `address` (must lie in one region).
    func bytes(at address: UInt64, count: Int) -> [UInt8] {
        for region in memory.regions where address >= region.address
            && address - region.address + UInt64(count) <= UInt64(region.bytes.count) {
            let start = Int(address - region.address)
            return Array(region.bytes[start..<start + count])
        }
        Issue.record("address \(address) not mapped")
        return []
    }

    /// The current value of a C struct at `address`.
    func load<T>(_ type: T.Type, at address: UInt64) -> T {
        let raw = bytes(at: address, count: MemoryLayout<T>.size)
        return raw.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}

/// Bytes of a C value.
func bytes<T>(of value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

/// A 32-byte filter name buffer.
func filterName(_ text: String = "blksnap", padding: UInt8 = 0) -> [UInt8] {
    var name = Array(text.utf8)
    name += [UInt8](repeating: padding, count: 32 - name.count)
    return name
}

/// Small, fast parameters: 64 KiB chunks, 8192-sector storage requests, HZ 1000.
func smallParams(hz: UInt32 = 1000) -> Params {
    var params = Params()
    params.chunkMinimumShift = 16
    params.diffStorageMinimum = 8192
    params.hz = hz
    return params
}

/// A flag shared with another thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// A value produced on another thread.
final class Box<Value: Sendable>: Sendable {
    private let value = PthreadMutex<Value?>(nil)
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
    var current: Value? { value.withLock { $0 } }
}

/// Runs `body` in the background as member of `group` (not on the cooperative pool: it
/// may block), on a POSIX thread of its own, not a Dispatch worker: Dispatch runs only about as many
/// blocks at once as there are CPUs (two on CI), so writers, readers and a destroyer
/// queued there would mostly run one after the other instead of against each other.
func background(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
    group.enter()
    spawnThread(detached: true) {
        body()
        group.leave()
    }
}

/// Runs `body(0)` … `body(count - 1)` on `count` POSIX threads at the same time and
/// returns when all have finished: the threads wait at a start barrier until every one
/// of them exists, so they really run against each other. (The replacement for
/// `DispatchQueue.concurrentPerform`, which on a 2-CPU machine runs two iterations at a
/// time.)
func onThreads(_ count: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        let shared = ThreadStart(count: count, body: body)
        let joins = (0..<count).map { index in spawnThread { shared.run(index) } }
        for join in joins { join() }
    }
}

/// The start barrier and the body of ``onThreads(_:_:)``. Unchecked: `body` is called
/// only while `onThreads` waits for the threads, which keeps what it captures alive.
private final class ThreadStart: @unchecked Sendable {
    private let arrived = Atomic<Int>(0)
    private let count: Int
    private let body: (Int) -> Void

    init(count: Int, body: @escaping (Int) -> Void) {
        self.count = count
        self.body = body
    }

    func run(_ index: Int) {
        arrived.add(1, ordering: .acquiringAndReleasing)
        while arrived.load(ordering: .acquiring) < count { sched_yield() }
        body(index)
    }
}

/// Waits for a group with a generous bound; records an issue if it is exceeded.
func join(_ group: DispatchGroup, seconds: Double = 30) {
    if group.wait(timeout: .now() + seconds) == .timedOut { Issue.record("background work did not finish") }
}

/// WAIT_EVENT from any thread with its own user space: result and the 4096 bytes after.
func rawWaitEvent(_ kernel: SimKernel, control: Int32, id: SimUUID, timeout: UInt32,
                  interrupted: @escaping () -> Bool = { false }) -> (Int32, [UInt8]) {
    let user = UserSpace()
    var header = id.bytes + bytes(of: timeout.littleEndian)
    header += [UInt8](repeating: 0xA5, count: 4096 - header.count)
    let address = user.alloc(header)
    let result = kernel.ioctl(control, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, address, memory: user.memory,
                              interrupted: interrupted)
    return (result, user.bytes(at: address, count: 4096))
}

/// One simulator with an open control descriptor and helpers that send raw requests.
struct Sim {
    let kernel: SimKernel
    let control: Int32
    let user = UserSpace()

    init(params: Params = smallParams()) {
        kernel = SimKernel(params: params)
        control = kernel.open("/dev/blksnap-control", flags: O_RDWR)
    }

    /// Raw ioctl with this simulator's user space.
    func ioctl(_ fd: Int32, _ request: UInt, _ argument: UInt64,
               interrupted: @escaping () -> Bool = { false }) -> Int32 {
        kernel.ioctl(fd, request, argument, memory: user.memory, interrupted: interrupted)
    }

    /// Adds a memory-backed device and opens it.
    func device(_ name: String, sectors: UInt64 = 16_384, logicalBlockSize: UInt32 = 512) -> Int32 {
        _ = try! kernel.addDevice(name: name, capacitySectors: sectors, logicalBlockSize: logicalBlockSize)
        let fd = kernel.open("/dev/" + name, flags: O_RDWR)
        #expect(fd >= 3)
        return fd
    }

    /// BLKFILTER_ATTACH "blksnap".
    func attach(_ fd: Int32) -> Int32 {
        ioctl(fd, BLKSNAP_REQ_BLKFILTER_ATTACH, user.alloc(filterName()))
    }

    /// BLKFILTER_DETACH "blksnap".
    func detach(_ fd: Int32) -> Int32 {
        ioctl(fd, BLKSNAP_REQ_BLKFILTER_DETACH, user.alloc(filterName()))
    }

    /// A blkfilter_ctl struct for `cmd` pointing at `opt` with `optlen`.
    func ctlStruct(cmd: UInt32, opt: UInt64, optlen: UInt32, name: String = "blksnap") -> blkfilter_ctl {
        var ctl = blkfilter_ctl()
        withUnsafeMutableBytes(of: &ctl.name) { $0.copyBytes(from: filterName(name)) }
        ctl.cmd = cmd
        ctl.optlen = optlen
        ctl.opt = opt
        return ctl
    }

    /// BLKFILTER_CTL.
    @discardableResult
    func ctl(_ fd: Int32, cmd: UInt32, opt: UInt64, optlen: UInt32) -> Int32 {
        ioctl(fd, BLKSNAP_REQ_BLKFILTER_CTL, user.alloc(ctlStruct(cmd: cmd, opt: opt, optlen: optlen)))
    }

    /// cbtinfo, expecting success.
    func cbtInfo(_ fd: Int32) -> blksnap_cbtinfo {
        let opt = user.zeros(40)
        #expect(ctl(fd, cmd: 0, opt: opt, optlen: 40) == 0)
        return user.load(blksnap_cbtinfo.self, at: opt)
    }

    /// The whole read map through cbtmap, expecting success.
    func cbtMap(_ fd: Int32) -> [UInt8] {
        let count = Int(cbtInfo(fd).block_count)
        let buffer = user.zeros(count)
        let opt = user.alloc(blksnap_cbtmap(offset: 0, length: UInt32(count), buffer: buffer))
        #expect(ctl(fd, cmd: 1, opt: opt, optlen: 16) == 0)
        return user.bytes(at: buffer, count: count)
    }

    /// cbtdirty with the given ranges (v5 applies only the first).
    func cbtDirty(_ fd: Int32, _ ranges: [(UInt64, UInt64)], count: UInt32? = nil) -> Int32 {
        let array = user.alloc(ranges.flatMap { bytes(of: blksnap_sectors(offset: $0.0, count: $0.1)) })
        var request = blksnap_cbtdirty()
        request.count = count ?? UInt32(ranges.count)
        request.dirty_sectors = array
        return ctl(fd, cmd: 2, opt: user.alloc(request), optlen: 16)
    }

    /// snapshotadd.
    func add(_ fd: Int32, to id: SimUUID) -> Int32 {
        ctl(fd, cmd: 3, opt: user.alloc(id.bytes), optlen: 16)
    }

    /// snapshotinfo with a caller buffer pre-filled with `fill`; returns result and struct.
    func snapshotInfo(_ fd: Int32, fill: UInt8 = 0) -> (Int32, blksnap_snapshotinfo) {
        let opt = user.alloc([UInt8](repeating: fill, count: 36))
        let result = ctl(fd, cmd: 4, opt: opt, optlen: 36)
        return (result, user.load(blksnap_snapshotinfo.self, at: opt))
    }

    /// CREATE, expecting success.
    func create() -> SimUUID {
        let out = user.zeros(16)
        #expect(ioctl(control, BLKSNAP_REQ_SNAPSHOT_CREATE, out) == 0)
        return SimUUID(bytes: user.bytes(at: out, count: 16))
    }

    /// DESTROY.
    @discardableResult
    func destroy(_ id: SimUUID) -> Int32 {
        ioctl(control, BLKSNAP_REQ_SNAPSHOT_DESTROY, user.alloc(id.bytes))
    }

    /// TAKE.
    func take(_ id: SimUUID) -> Int32 {
        ioctl(control, BLKSNAP_REQ_SNAPSHOT_TAKE, user.alloc(id.bytes))
    }

    /// APPEND_STORAGE of `ranges` on `path`.
    func append(_ id: SimUUID, path: String, ranges: [(UInt64, UInt64)]) -> Int32 {
        let pathBytes = Array(path.utf8) + [0]
        let pathAddress = user.alloc(pathBytes)
        let rangesAddress = ranges.isEmpty ? 0 : user.alloc(ranges.flatMap { bytes(of: blksnap_sectors(offset: $0.0, count: $0.1)) })
        var request = blksnap_snapshot_append_storage()
        withUnsafeMutableBytes(of: &request.id.b) { $0.copyBytes(from: id.bytes) }
        request.bdev_path = pathAddress
        request.bdev_path_size = UInt32(pathBytes.count)
        request.count = UInt32(ranges.count)
        request.ranges = rangesAddress
        return ioctl(control, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, user.alloc(request))
    }

    /// WAIT_EVENT; returns the result and the 4096 bytes at the argument afterwards.
    func waitEvent(_ id: SimUUID, timeout: UInt32, interrupted: @escaping () -> Bool = { false }) -> (Int32, [UInt8]) {
        rawWaitEvent(kernel, control: control, id: id, timeout: timeout, interrupted: interrupted)
    }

    /// COLLECT; returns result, count field and the ids area.
    func collect(count: UInt32, capacity: Int) -> (Int32, UInt32, [UInt8]) {
        let ids = capacity > 0 ? user.zeros(capacity * 16) : 0
        var request = blksnap_snapshot_collect()
        request.count = count
        request.ids = ids
        let address = user.alloc(request)
        let result = ioctl(control, BLKSNAP_REQ_SNAPSHOT_COLLECT, address)
        let out = user.load(blksnap_snapshot_collect.self, at: address)
        return (result, out.count, capacity > 0 ? user.bytes(at: ids, count: capacity * 16) : [])
    }

    /// A device with a snapshot around it: attached, added, storage appended (on its
    /// own storage device), taken. Returns the snapshot id and the device descriptor.
    func takenSnapshot(device name: String, sectors: UInt64 = 16_384) -> (SimUUID, Int32) {
        let fd = device(name, sectors: sectors)
        #expect(attach(fd) == 0)
        let storageName = name + "-storage"
        _ = try! kernel.addDevice(name: storageName, capacitySectors: 65_536)
        let id = create()
        #expect(add(fd, to: id) == 0)
        #expect(append(id, path: "/dev/" + storageName, ranges: [(0, 65_536)]) == 0)
        #expect(take(id) == 0)
        return (id, fd)
    }

    /// Polls (up to 10 s) until a WAIT_EVENT caller holds a reference on snapshot `id`:
    /// the list's, the waiter's and this probe's own make three.
    func waitForWaiter(_ id: SimUUID) {
        for _ in 0..<5000 {
            guard let snapshot = kernel.snapshots.get(id) else { break }
            let references = snapshot.referenceCount
            snapshot.put()
            if references >= 3 { return }
            usleep(2000)
        }
        Issue.record("no waiter appeared on \(id)")
    }

    /// pwrite of `count` bytes of `byte` at `offset`.
    func write(_ fd: Int32, offset: UInt64, count: Int, byte: UInt8, nowait: Bool = false) -> Int {
        let data = [UInt8](repeating: byte, count: count)
        return data.withUnsafeBytes { kernel.pwrite(fd, from: $0, at: offset, nowait: nowait) }
    }

    /// pread of `count` bytes at `offset`; returns result and bytes.
    func read(_ fd: Int32, offset: UInt64, count: Int) -> (Int, [UInt8]) {
        var data = [UInt8](repeating: 0, count: count)
        let n = data.withUnsafeMutableBytes { kernel.pread(fd, into: $0, at: offset) }
        return (n, data)
    }
}

/// A value shared between threads, behind a mutex (a class, so closures can capture it).
final class Locked<Value: Sendable>: Sendable {
    private let value: PthreadMutex<Value>
    init(_ initial: Value) { value = PthreadMutex(initial) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}
