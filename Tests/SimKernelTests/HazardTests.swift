#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import Dispatch
@testable import SimKernel
import Testing

/// The hazards of the real v5 module found in December 2026 (spec §12.1 items 9–11):
/// the simulator reproduces them, so that a tool tested on it fails as on the kernel.
@Suite("§12.1 WAIT_EVENT timeouts of 2^31 ticks or more")
struct WaitTimeoutOverflowTests {
    /// A snapshot whose creation event is still queued.
    func snapshotWithQueuedEvent(_ sim: Sim) -> SimUUID {
        let id = sim.create()
        #expect(sim.kernel.pendingEventCount(snapshot: id) == 1)
        return id
    }

    @Test("0xffffffff ticks with an event queued: EPERM, the event stays queued and a later wait returns it")
    func epermLeavesEventQueued() {
        let sim = Sim()
        let id = snapshotWithQueuedEvent(sim)
        let (result, after) = sim.waitEvent(id, timeout: .max)
        #expect(result == -EPERM)
        #expect(after[20..<24].allSatisfy { $0 == 0xA5 }, "no event was written out")
        #expect(sim.kernel.pendingEventCount(snapshot: id) == 1)
        let (again, event) = sim.waitEvent(id, timeout: 0)
        #expect(again == 0)
        #expect(event[20..<24] == [0, 0, 0, 0], "the creation event (low_free_space)")
        #expect(sim.kernel.pendingEventCount(snapshot: id) == 0)
    }

    @Test("The int truncation: errno 2^32 − timeout, ERESTARTSYS → EINTR, below −4095 → EFAULT (oops in v5)",
          arguments: [
              (UInt32.max, -EPERM), (UInt32.max - 4, -EIO), (UInt32(0xFFFF_FE00), -EINTR),
              (UInt32(0xFFFF_F001), Int32(-4095)), (UInt32(0xFFFF_F000), -EFAULT), (UInt32(0x8000_0000), -EFAULT),
          ] as [(UInt32, Int32)])
    func truncationTable(timeout: UInt32, expected: Int32) {
        let sim = Sim()
        let id = snapshotWithQueuedEvent(sim)
        #expect(sim.waitEvent(id, timeout: timeout).0 == expected)
        #expect(sim.kernel.pendingEventCount(snapshot: id) == 1, "the event stays queued")
    }

    @Test("2^31 − 1 ticks is the largest timeout that works: the queued event is returned")
    func largestWorkingTimeout() {
        let sim = Sim()
        let id = snapshotWithQueuedEvent(sim)
        #expect(sim.waitEvent(id, timeout: UInt32(Int32.max)).0 == 0)
        #expect(sim.kernel.pendingEventCount(snapshot: id) == 0)
    }

    @Test("An event arriving during a 0xffffffff wait fails the call the same way (EPERM), deterministically")
    func laterEvent() {
        let sim = Sim()
        let id = snapshotWithQueuedEvent(sim)
        #expect(sim.waitEvent(id, timeout: 0).0 == 0)
        let result = Locked<Int32>(1)
        let group = DispatchGroup()
        let kernel = sim.kernel, control = sim.control
        background(group) {
            result.withLock { $0 = rawWaitEvent(kernel, control: control, id: id, timeout: .max).0 }
        }
        sim.waitForWaiter(id)
        let snapshot = sim.kernel.snapshots.get(id)!
        snapshot.events.pushLowFreeSpace(requestedSectors: 8)
        snapshot.put()
        join(group)
        #expect(result.withLock { $0 } == -EPERM)
        #expect(sim.kernel.pendingEventCount(snapshot: id) == 1)
    }

    @Test("A signal still ends such a wait with EINTR; the wait itself does not fail early")
    func interruptedOverflowWait() {
        let sim = Sim()
        let id = snapshotWithQueuedEvent(sim)
        #expect(sim.waitEvent(id, timeout: 0).0 == 0)
        let stop = Flag()
        let result = Locked<Int32>(1)
        let group = DispatchGroup()
        let kernel = sim.kernel, control = sim.control
        background(group) {
            result.withLock { $0 = rawWaitEvent(kernel, control: control, id: id, timeout: .max, interrupted: { stop.isSet }).0 }
        }
        sim.waitForWaiter(id)
        stop.set()
        join(group)
        #expect(result.withLock { $0 } == -EINTR)
    }

    @Test("The quirk list names the overflow, the later-event choice and the oops choice")
    func listed() {
        let ids = Set(SimKernel.allQuirks.map(\.id))
        #expect(ids.isSuperset(of: ["waitTimeoutIntOverflow", "waitTimeoutOverflowLaterEvent", "waitTimeoutOverflowOops"]))
        #expect(SimKernel.allQuirks.first { $0.id == "waitTimeoutIntOverflow" }?.specSection.contains("§12.1 item 10") == true)
    }
}

/// §12.1 item 9: one image write spanning chunks, starting in a NEW chunk.
@Suite("§12.1 multi-chunk image writes")
struct MultichunkImageWriteTests {
    static let chunk = 65_536  // smallParams: chunk_minimum_shift 16

    /// A taken snapshot of an 8 MiB device (128 chunks) and its image opened read-write.
    func rig(fix: Bool = false) -> (Sim, SimUUID, image: Int32, original: Int32) {
        var params = smallParams()
        params.fixMultichunkImageWrite = fix ? 1 : 0
        let sim = Sim(params: params)
        let fd = sim.device("sda", sectors: 16_384)
        #expect(sim.write(fd, offset: 0, count: 16_384 * 512, byte: 0x11) == 16_384 * 512)
        _ = try! sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        let id = sim.create()
        #expect(sim.attach(fd) == 0 && sim.add(fd, to: id) == 0)
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == 0)
        let info = sim.kernel.listDevices().first { $0.name == "sda" }!
        let image = sim.kernel.open("/dev/blksnap-image_\(info.major):\(info.minor)", flags: O_RDWR)
        #expect(image >= 3)
        return (sim, id, image, fd)
    }

    /// Known data for chunk `number`: its number, then a counter.
    func data(chunk number: Int, count: Int = chunk) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ number) }
    }

    func write(_ sim: Sim, _ fd: Int32, at offset: Int, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { sim.kernel.pwrite(fd, from: $0, at: UInt64(offset)) }
    }

    /// `ok` or `WRONG` per chunk, as the lane's reproduction prints it.
    func verdicts(_ sim: Sim, _ image: Int32, firstChunk: Int, count: Int) -> [String] {
        (firstChunk..<firstChunk + count).map { number in
            sim.read(image, offset: UInt64(number * Self.chunk), count: Self.chunk).1 == data(chunk: number) ? "ok" : "WRONG"
        }
    }

    func threeChunks(at first: Int) -> [UInt8] { (first..<first + 3).flatMap { data(chunk: $0) } }

    @Test("3-chunk writes at chunks 10, 40, 80: ok WRONG WRONG each time, the later chunks hold the poison pattern")
    func reproduction() {
        let (sim, id, image, _) = rig()
        for first in [10, 40, 80] {
            #expect(write(sim, image, at: first * Self.chunk, threeChunks(at: first)) == 3 * Self.chunk)
            #expect(verdicts(sim, image, firstChunk: first, count: 3) == ["ok", "WRONG", "WRONG"], "chunk \(first)")
            let second = sim.read(image, offset: UInt64((first + 1) * Self.chunk), count: Self.chunk).1
            #expect(second != [UInt8](repeating: 0x11, count: Self.chunk), "not the old data")
            #expect(second != [UInt8](repeating: 0, count: Self.chunk), "not zeros")
            #expect(Array(second.prefix(16)) == SimKernel.imageWritePoison)
        }
        // Silent: no event beyond the creation event, error_code 0.
        #expect(sim.kernel.pendingEventCount(snapshot: id) == 1)
        let original = sim.kernel.open("/dev/sda", flags: O_RDWR)
        let (result, info) = sim.snapshotInfo(original)
        #expect(result == 0 && info.error_code == 0)
    }

    @Test("The parameter fix_multichunk_image_write=1 gives ok ok ok")
    func fixed() {
        let (sim, _, image, _) = rig(fix: true)
        for first in [10, 40, 80] {
            #expect(write(sim, image, at: first * Self.chunk, threeChunks(at: first)) == 3 * Self.chunk)
            #expect(verdicts(sim, image, firstChunk: first, count: 3) == ["ok", "ok", "ok"])
        }
        #expect(Params.names.contains("fix_multichunk_image_write"))
        var params = Params()
        #expect(params.set("fix_multichunk_image_write", to: 1) && params.fixMultichunkImageWrite == 1)
    }

    @Test("Writes inside one chunk, 4 KiB pieces and writes to chunks already captured are intact")
    func safeWrites() {
        let (sim, _, image, _) = rig()
        // One chunk at a time.
        for number in 20..<23 { #expect(write(sim, image, at: number * Self.chunk, data(chunk: number)) == Self.chunk) }
        #expect(verdicts(sim, image, firstChunk: 20, count: 3) == ["ok", "ok", "ok"])
        // Chunks 30...32 captured by small writes first: a 3-chunk write over them is fine.
        for number in 30..<33 { #expect(write(sim, image, at: number * Self.chunk, [0x33]) == 1) }
        #expect(write(sim, image, at: 30 * Self.chunk, threeChunks(at: 30)) == 3 * Self.chunk)
        #expect(verdicts(sim, image, firstChunk: 30, count: 3) == ["ok", "ok", "ok"])
        // 4 KiB pieces of a 3-chunk range.
        let bytes = threeChunks(at: 50)
        for piece in stride(from: 0, to: bytes.count, by: 4096) {
            #expect(write(sim, image, at: 50 * Self.chunk + piece, Array(bytes[piece..<piece + 4096])) == 4096)
        }
        #expect(verdicts(sim, image, firstChunk: 50, count: 3) == ["ok", "ok", "ok"])
        // A write that starts in the last page of a NEW chunk advances within one segment.
        let straddle = [UInt8](repeating: 0x5A, count: 8192)
        #expect(write(sim, image, at: 61 * Self.chunk - 4096, straddle) == 8192)
        #expect(sim.read(image, offset: UInt64(61 * Self.chunk - 4096), count: 8192).1 == straddle)
    }

    @Test("A captured chunk, then a NEW one, then another: the data is lost after the NEW chunk only")
    func newChunkInTheMiddle() {
        let (sim, _, image, _) = rig()
        #expect(write(sim, image, at: 70 * Self.chunk, [0x44]) == 1)
        #expect(write(sim, image, at: 70 * Self.chunk, threeChunks(at: 70)) == 3 * Self.chunk)
        #expect(verdicts(sim, image, firstChunk: 70, count: 3) == ["ok", "ok", "WRONG"])
    }

    @Test("The original never changes and reads of the original are unaffected")
    func originalUntouched() {
        let (sim, _, image, original) = rig()
        #expect(write(sim, image, at: 90 * Self.chunk, threeChunks(at: 90)) == 3 * Self.chunk)
        #expect(sim.read(original, offset: UInt64(90 * Self.chunk), count: 3 * Self.chunk).1
                == [UInt8](repeating: 0x11, count: 3 * Self.chunk))
    }

    @Test("The quirk is listed with its spec item")
    func listed() {
        let quirk = SimKernel.allQuirks.first { $0.id == "multichunkImageWrite" }
        #expect(quirk?.handling == .reproduced)
        #expect(quirk?.specSection.contains("§12.1 item 9") == true)
    }
}

/// §12.1 item 11: a tracker on an image.
@Suite("§12.1 tracker on a snapshot image")
struct FilterOnImageTests {
    @Test("BLKFILTER_ATTACH on an image succeeds; its CBT marks image writes; snapshotadd is refused; destroy drops it")
    func attachToImage() throws {
        let sim = Sim()
        let (id, fd) = sim.takenSnapshot(device: "sda")
        let info = sim.kernel.listDevices().first { $0.name == "sda" }!
        let name = "blksnap-image_\(info.major):\(info.minor)"
        let image = sim.kernel.open("/dev/" + name, flags: O_RDWR)
        #expect(sim.attach(image) == 0)
        #expect(sim.attach(image) == -EALREADY)
        #expect(sim.kernel.listDevices().first { $0.name == name }?.filter == "blksnap")
        let cbt = sim.cbtInfo(image)
        #expect(cbt.block_count == 128, "8 MiB in 64 KiB CBT blocks")
        #expect(sim.write(image, offset: 3 * 65_536, count: 4096, byte: 0x77) == 4096)
        let tracker = try #require(sim.kernel.blockLayer.disk(named: name)?.filter)
        let marked = tracker.cbt.writeMapSnapshot().enumerated().filter { $0.element != 0 }.map(\.offset)
        #expect(marked == [3], "the image's own CBT marks the written block (64 KiB blocks)")
        let (result, _) = sim.snapshotInfo(image)
        #expect(result == 0)
        let second = sim.create()
        #expect(sim.add(image, to: second) == -EOPNOTSUPP)
        #expect(sim.detach(image) == 0)
        #expect(sim.attach(image) == 0)
        #expect(sim.destroy(id) == 0)
        #expect(sim.kernel.blockLayer.disk(named: name) == nil)
        _ = fd
    }
}

/// The in-process simulator on a kernel without `CONFIG_CROSS_MEMORY_ATTACH`.
@Suite("ProcessUserMemory without process_vm_readv")
struct ProcessMemoryFallbackTests {
    func address(_ pointer: UnsafeRawPointer) -> UInt64 { UInt64(UInt(bitPattern: pointer)) }

    @Test("ENOSYS from process_vm_readv: VERSION still succeeds through the pipe path (the demo's failure)",
          arguments: [ProcessUserMemory.Path.processVMFailing(ENOSYS), .processVMFailing(EPERM), .pipe])
    func versionThroughFallback(path: ProcessUserMemory.Path) {
        let kernel = SimKernel()
        let fd = kernel.open("/dev/blksnap-control", flags: O_RDWR)
        var version = blksnap_version()
        let result = withUnsafeMutablePointer(to: &version) {
            kernel.ioctl(fd, BLKSNAP_REQ_VERSION, address($0), memory: ProcessUserMemory(path: path))
        }
        #expect(result == 0)
        #expect(version.major == 2 && version.minor == 0)
    }

    @Test("Another errno from process_vm_readv stays a fault (no fallback)")
    func otherErrnoIsAFault() {
        var byte: UInt8 = 0
        let memory = ProcessUserMemory(path: .processVMFailing(EFAULT))
        let ok = withUnsafeMutableBytes(of: &byte) { memory.copyFromUser($0, from: address($0.baseAddress!)) }
        #expect(!ok)
    }

    @Test("The pipe path faults like copy_from_user/copy_to_user: PROT_NONE, read-only destination, address 0")
    func pipeFaults() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let memory = ProcessUserMemory(path: .pipe)
        let none = try #require(mmap(nil, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        let readOnly = try #require(mmap(nil, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        defer {
            munmap(none, page)
            munmap(readOnly, page)
        }
        var buffer = [UInt8](repeating: 1, count: 3 * 4096 + 5)
        #expect(!buffer.withUnsafeMutableBytes { memory.copyFromUser(UnsafeMutableRawBufferPointer(rebasing: $0[0..<16]), from: address(none)) })
        #expect(!buffer.withUnsafeBytes { memory.copyToUser(address(none), from: UnsafeRawBufferPointer(rebasing: $0[0..<16])) })
        #expect(!buffer.withUnsafeBytes { memory.copyToUser(address(readOnly), from: UnsafeRawBufferPointer(rebasing: $0[0..<16])) })
        #expect(buffer.withUnsafeMutableBytes { memory.copyFromUser(UnsafeMutableRawBufferPointer(rebasing: $0[0..<16]), from: address(readOnly)) })
        #expect(buffer[0..<16].allSatisfy { $0 == 0 }, "read the zero page")
        #expect(!buffer.withUnsafeMutableBytes { memory.copyFromUser($0, from: 0) })
        // A multi-page copy lands whole.
        let source = (0..<buffer.count).map { UInt8(truncatingIfNeeded: $0 * 13) }
        var target = [UInt8](repeating: 0, count: source.count)
        let copied = target.withUnsafeMutableBytes { destination in
            source.withUnsafeBytes { memory.copyToUser(address(destination.baseAddress!), from: $0) }
        }
        #expect(copied && target == source)
    }
}
