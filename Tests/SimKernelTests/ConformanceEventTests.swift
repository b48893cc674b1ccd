#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import CBlksnapUAPI
import SimKernel
import Synchronization
import SystemPackage
import Testing

/// Monotonic milliseconds.
private func nowMilliseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1000 + UInt64(time.tv_nsec) / 1_000_000
}



@Suite("Conformance §6: events and WAIT_EVENT", .serialized)
struct ConformanceEventTests {
    @Test("empty queue: the wait ends with ENOENT (typed: nil) after timeout_ms jiffies (HZ 1000 → ms, HZ 100 → 10 ms each)")
    func timeoutInJiffies() throws {
        let sim = try ConformanceSim()
        let id = try sim.control.createSnapshot()
        _ = try sim.drainEvents(id)
        var start = nowMilliseconds()
        #expect(try sim.control.waitEvent(id, timeoutTicks: 60) == nil)
        #expect(nowMilliseconds() - start >= 55)
        sim.kernel.params.update { $0.hz = 100 }
        start = nowMilliseconds()
        #expect(try sim.control.waitEvent(id, timeoutTicks: 6) == nil)
        #expect(nowMilliseconds() - start >= 55, "6 jiffies at HZ 100 last 60 ms")
        // Raw: the kernel's result is ENOENT.
        let fd = try sim.open(Control.defaultPath)
        var event = blksnap_snapshot_event()
        event.id = id.uuid
        event.timeout_ms = 0
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, on: &event) == -ENOENT)
    }

    @Test("raw: success writes the whole struct: id and timeout echoed, code, time_label, payload then zeros")
    func rawOutput() throws {
        let sim = try ConformanceSim()
        let before = Int64(nowMilliseconds()) * 1_000_000
        let id = try sim.control.createSnapshot()
        let fd = try sim.open(Control.defaultPath)
        let event = UnsafeMutablePointer<blksnap_snapshot_event>.allocate(capacity: 1)
        defer { event.deallocate() }
        UnsafeMutableRawPointer(event).initializeMemory(as: UInt8.self, repeating: 0xaa, count: 4096)
        event.pointee.id = id.uuid
        event.pointee.timeout_ms = 12_345
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, UnsafeMutableRawPointer(event)) == 0)
        let bytes = UnsafeRawBufferPointer(start: event, count: 4096)
        #expect(Array(bytes[0..<16]) == id.rawValue)
        #expect(event.pointee.timeout_ms == 12_345)
        #expect(event.pointee.code == 0)
        #expect(event.pointee.time_label >= before - 1_000_000)
        #expect(bytes.loadUnaligned(fromByteOffset: 32, as: UInt64.self) == 8192)
        #expect(bytes[40..<4096].allSatisfy { $0 == 0 })
    }

    @Test("raw: copy-in fault → EINVAL; unknown id → ESRCH; nothing written on error")
    func rawErrors() throws {
        let sim = try ConformanceSim()
        let fd = try sim.open(Control.defaultPath)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, faultPointer) == -EINVAL)
        let event = UnsafeMutablePointer<blksnap_snapshot_event>.allocate(capacity: 1)
        defer { event.deallocate() }
        UnsafeMutableRawPointer(event).initializeMemory(as: UInt8.self, repeating: 0x77, count: 4096)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, UnsafeMutableRawPointer(event)) == -ESRCH)
        #expect(UnsafeRawBufferPointer(start: event, count: 4096).allSatisfy { $0 == 0x77 })
        let never = try #require(SnapshotID(rawValue: [UInt8](repeating: 0x77, count: 16)))
        #expect(errnoOf { _ = try sim.control.waitEvent(never, timeoutTicks: 0) } == ESRCH)
    }

    @Test("raw: copy-out fault → EINVAL; the dequeued event is lost")
    func copyOutFault() throws {
        let sim = try ConformanceSim()
        let id = try sim.control.createSnapshot()
        let fd = try sim.open(Control.defaultPath)
        // The first 20 bytes are readable and writable, the rest of the 4096 is not.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = try #require(mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        #expect(mapping != MAP_FAILED)
        defer { munmap(mapping, 2 * page) }
        #expect(mprotect(mapping + page, page, PROT_NONE) == 0)
        let event = mapping + page - 64
        event.initializeMemory(as: UInt8.self, repeating: 0x33, count: 64)
        id.rawValue.withUnsafeBytes { event.copyMemory(from: $0.baseAddress!, byteCount: 16) }
        event.storeBytes(of: UInt32(0), toByteOffset: 16, as: UInt32.self)
        #expect(sim.rawIoctl(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, event) == -EINVAL)
        // (Like copy_to_user, the bytes before the faulting page may have been written.)
        #expect(try sim.control.waitEvent(id, timeoutTicks: 0) == nil)
    }

    @Test("§5.3 the low_free_space payload is diff_storage_minimum read live at emission")
    func payloadReadLive() throws {
        let sim = try ConformanceSim()
        sim.kernel.params.update { $0.diffStorageMinimum = 4096 }
        let id = try sim.control.createSnapshot()
        guard case .lowFreeSpace(let requested, _)? = try sim.control.waitEvent(id, timeoutTicks: 0) else {
            Issue.record("expected a low_free_space event")
            return
        }
        #expect(requested == 4096)
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.requestedSectors == 4096)
    }

    @Test("a signal ends the wait with EINTR (not restarted)")
    func interrupted() throws {
        let flag = Locked(false)
        let sim = try ConformanceSim(interrupted: { flag.withLock { $0 } })
        let id = try sim.control.createSnapshot()
        _ = try sim.drainEvents(id)
        flag.withLock { $0 = true }
        let start = nowMilliseconds()
        #expect(errnoOf { _ = try sim.control.waitEvent(id, timeoutTicks: 5000) } == EINTR)
        #expect(nowMilliseconds() - start < 4000)
    }

    @Test("an event wakes a sleeper; each event is consumed by exactly one waiter; FIFO with monotonic time labels")
    func wakeAndConsume() throws {
        let sim = try ConformanceSim { $0.chunkMaximumInQueue = 0 }
        let a = try sim.addDevice("sda", sectors: 4 * 128)
        let b = try sim.addDevice("sdb", sectors: 4 * 128)
        let id = try sim.snapshot([a, b], storageSectors: 128)
        try sim.control.takeSnapshot(id)
        let creation = try #require(try sim.control.waitEvent(id, timeoutTicks: 0))
        let control = sim.control
        let results = Locked<[SnapshotEvent?]?>(nil)
        let join = spawnThread {
            let first = try? control.waitEvent(id, timeoutTicks: 5000)
            let second = try? control.waitEvent(id, timeoutTicks: 5000)
            results.withLock { $0 = [first ?? nil, second ?? nil] }
        }
        usleep(20_000)
        // Chunk 0 of a fills the storage; chunk 0 of b overflows → one corrupted event (b).
        #expect(sim.write("/dev/sda", atByte: 0, [1]) == 0)
        #expect(sim.write("/dev/sdb", atByte: 0, [1]) == 0)
        #expect(sim.write("/dev/sda", atByte: 65_536, [1]) == 0)
        join()
        let events = try #require(results.withLock { $0 })
        let bNumber = try b.deviceNumber()
        let aNumber = try a.deviceNumber()
        guard case .corrupted(let first, let firstErrno, let t1)? = events[0],
              case .corrupted(let second, let secondErrno, let t2)? = events[1] else {
            Issue.record("expected two corrupted events, got \(events)")
            return
        }
        #expect(first == bNumber && second == aNumber)
        #expect(firstErrno == .noSpace && secondErrno == .noSpace)
        #expect(creation.timeLabelNanoseconds <= t1 && t1 <= t2)
        #expect(try sim.control.waitEvent(id, timeoutTicks: 0) == nil)
    }

    @Test("§6.4 destroy does not wake a waiter; the snapshot stays alive (image, busy device) until the waiter returns")
    func destroyWithWaiter() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4 * 128)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        _ = try sim.drainEvents(id)
        let image = try sim.imagePath(of: device)
        let control = sim.control
        let outcome = Locked<String?>(nil)
        let start = nowMilliseconds()
        let join = spawnThread {
            do {
                let text = try control.waitEvent(id, timeoutTicks: 400) == nil ? "timeout (ENOENT)" : "event"
                outcome.withLock { $0 = text }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
        }
        usleep(50_000)
        try sim.control.destroySnapshot(id)
        #expect(errnoOf { _ = try sim.control.waitEvent(id, timeoutTicks: 0) } == ESRCH)
        #expect(errnoOf { try sim.control.destroySnapshot(id) } == ENODEV)
        #expect(try sim.control.collectSnapshots().isEmpty)
        #expect(errnoOf { _ = try sim.backend.stat(image) } == nil, "the image stays while the waiter holds the snapshot")
        let other = try sim.control.createSnapshot()
        #expect(errnoOf { try device.addToSnapshot(other) } == EBUSY)
        join()
        #expect(outcome.withLock { $0 } == "timeout (ENOENT)")
        #expect(nowMilliseconds() - start >= 350)
        #expect(errnoOf { _ = try sim.backend.stat(image) } == ENOENT)
        try device.addToSnapshot(other)
    }
}
