#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import Testing
@testable import SimKernel

@Suite("Difference storage (§5)")
struct DiffStorageTests {
    private func make(_ adjust: (inout Params) -> Void = { _ in }) -> (DiffStorage, EventQueue, LiveParams) {
        let params = CowFixture.params(adjust)
        let events = EventQueue()
        return (DiffStorage(params: params, events: events), events, params)
    }

    @Test("creation event: payload diff_storage_minimum, requested += minimum, flag untouched")
    func creationEvent() throws {
        let (storage, events, _) = make()
        #expect(storage.requestedSectors == 0)
        storage.emitCreationEvent()
        #expect(storage.requestedSectors == 8192)
        #expect(!storage.isLowSpaceFlagSet)
        let all = CowFixture.drain(events)
        #expect(all.count == 1)
        #expect(CowFixture.lowSpaceSectors(all[0]) == 8192)
    }

    @Test("append: device reused, ranges FIFO, zero-length accepted, capacity summed")
    func appendRanges() {
        let (storage, _, _) = make()
        let d1 = CowFixture.device("s1", sectors: 10_000, minor: 10)
        let d2 = CowFixture.device("s2", sectors: 10_000, minor: 11)
        storage.append(device: d1, ranges: [(0, 100), (500, 0)], completed: true)
        storage.append(device: d2, ranges: [(0, 300)], completed: true)
        storage.append(device: d1, ranges: [(1000, 50)], completed: true)
        storage.append(device: d1, ranges: [], completed: true)
        #expect(storage.deviceCount == 2)
        #expect(storage.capacitySectors == 450)
        #expect(storage.freeRanges.map(\.sector) == [0, 500, 0, 1000])
        #expect(storage.freeRanges.map(\.deviceIndex) == [0, 0, 1, 0])
        #expect(storage.filledSectors == 0)
    }

    @Test("allocation walks the FIFO, abandons tails into filled, overflows permanently")
    func allocation() throws {
        let (storage, events, _) = make()
        let d1 = CowFixture.device("s1", sectors: 10_000, minor: 10)
        let d2 = CowFixture.device("s2", sectors: 10_000, minor: 11)
        storage.append(device: d1, ranges: [(0, 300), (5000, 0)], completed: true)
        storage.append(device: d2, ranges: [(64, 128)], completed: true)
        #expect(try storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512).get()
                == DiffRegion(device: d1, sector: 0, count: 128))
        #expect(try storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512).get()
                == DiffRegion(device: d1, sector: 128, count: 128))
        // 44 left, then an empty range: both abandoned.
        #expect(try storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512).get()
                == DiffRegion(device: d2, sector: 64, count: 128))
        #expect(storage.filledSectors == 128 * 3 + 44)
        #expect(storage.retiredRanges.count == 2)
        #expect(storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512) == .failure(SimErrno(ENOSPC)))
        #expect(storage.isOverflowed)
        #expect(storage.filledSectors == 128 * 3 + 44)
        // More capacity does not help: overflow is permanent.
        storage.append(device: d1, ranges: [(6000, 4000)], completed: true)
        #expect(storage.capacitySectors == 4428)
        #expect(storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512) == .failure(SimErrno(ENOSPC)))
        #expect(storage.isOverflowed)
        // No low-space event on overflow (requested is 0 here: left wraps, none fired).
        #expect(CowFixture.drain(events).isEmpty)
    }

    @Test("ENOTBLK when the first free range's device has a larger logical block size; not skipped")
    func enotblk() throws {
        let (storage, _, _) = make()
        let big = CowFixture.device("s4k", sectors: 10_000, minor: 10, logicalBlockSize: 4096)
        let small = CowFixture.device("s512", sectors: 10_000, minor: 11)
        storage.append(device: big, ranges: [(0, 1024)], completed: true)
        storage.append(device: small, ranges: [(0, 1024)], completed: true)
        #expect(storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512) == .failure(SimErrno(ENOTBLK)))
        #expect(storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512) == .failure(SimErrno(ENOTBLK)))
        #expect(!storage.isOverflowed)
        #expect(storage.filledSectors == 0)
        // An original with 4096-byte blocks may use it.
        #expect(try storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 4096).get()
                == DiffRegion(device: big, sector: 0, count: 128))
        // The check runs per range visited, also for a range about to be abandoned.
        let (other, _, _) = make()
        other.append(device: big, ranges: [(0, 10)], completed: true)
        other.append(device: small, ranges: [(0, 1024)], completed: true)
        #expect(other.allocateRegion(sectors: 128, originalLogicalBlockSize: 512) == .failure(SimErrno(ENOTBLK)))
    }

    @Test("threshold: left = requested − filled ≤ half (rounded down to 8 sectors), once per arming")
    func threshold() throws {
        let (storage, events, _) = make { $0.diffStorageMinimum = 8204 }  // half = 4102 → 4096
        let device = CowFixture.device("s", sectors: 100_000, minor: 10)
        storage.append(device: device, ranges: [(0, 100_000)], completed: true)
        storage.emitCreationEvent()
        _ = CowFixture.drain(events)
        #expect(storage.requestedSectors == 8204)
        _ = try storage.allocateRegion(sectors: 4104, originalLogicalBlockSize: 512).get()  // left 4100
        #expect(CowFixture.drain(events).isEmpty)
        _ = try storage.allocateRegion(sectors: 4, originalLogicalBlockSize: 512).get()  // left 4096
        let fired = CowFixture.drain(events)
        #expect(fired.count == 1)
        #expect(CowFixture.lowSpaceSectors(fired[0]) == 8204)
        #expect(storage.requestedSectors == 16_408)
        #expect(storage.isLowSpaceFlagSet)
        // Flag set: no more events, however full it gets.
        _ = try storage.allocateRegion(sectors: 8000, originalLogicalBlockSize: 512).get()
        #expect(CowFixture.drain(events).isEmpty)
    }

    @Test("re-arm: only an append reaching capacity ≥ requested, count == 0 included, not after a fault")
    func rearm() throws {
        let (storage, events, _) = make()
        let device = CowFixture.device("s", sectors: 100_000, minor: 10)
        storage.append(device: device, ranges: [(0, 10_000)], completed: true)
        storage.emitCreationEvent()
        _ = CowFixture.drain(events)
        _ = try storage.allocateRegion(sectors: 4096, originalLogicalBlockSize: 512).get()
        #expect(CowFixture.drain(events).count == 1)
        #expect(storage.requestedSectors == 16_384)
        // capacity 10000 < 16384: no re-arm, even with ranges.
        storage.append(device: device, ranges: [], completed: true)
        storage.append(device: device, ranges: [(20_000, 6000)], completed: true)
        #expect(storage.isLowSpaceFlagSet)
        // A faulting append (not completed) does not re-arm although capacity suffices.
        storage.append(device: device, ranges: [(30_000, 384)], completed: false)
        #expect(storage.capacitySectors == 16_384)
        #expect(storage.isLowSpaceFlagSet)
        // A count == 0 append re-arms now (§12 fact 2).
        storage.append(device: device, ranges: [], completed: true)
        #expect(!storage.isLowSpaceFlagSet)
        // Next event when filled ≥ 16384 − 4096 (abandoned tails count as filled).
        _ = try storage.allocateRegion(sectors: 4000, originalLogicalBlockSize: 512).get()  // filled 8096
        #expect(CowFixture.drain(events).isEmpty)
        #expect(try storage.allocateRegion(sectors: 2000, originalLogicalBlockSize: 512).get().sector == 20_000)
        #expect(storage.filledSectors == 12_000)
        #expect(CowFixture.drain(events).isEmpty)
        _ = try storage.allocateRegion(sectors: 288, originalLogicalBlockSize: 512).get()  // filled 12288
        #expect(CowFixture.drain(events).count == 1)
        #expect(storage.requestedSectors == 24_576)
    }

    @Test("left wraps once filled passes requested: no threshold event any more, even re-armed")
    func wrap() throws {
        let (storage, events, _) = make()
        let device = CowFixture.device("s", sectors: 100_000, minor: 10)
        storage.append(device: device, ranges: [(0, 100_000)], completed: true)
        storage.emitCreationEvent()
        _ = CowFixture.drain(events)
        _ = try storage.allocateRegion(sectors: 4096, originalLogicalBlockSize: 512).get()
        #expect(CowFixture.drain(events).count == 1)  // requested 16384, flag set
        _ = try storage.allocateRegion(sectors: 20_000, originalLogicalBlockSize: 512).get()  // filled 24096
        storage.append(device: device, ranges: [], completed: true)
        #expect(!storage.isLowSpaceFlagSet)
        for _ in 0..<10 { _ = try storage.allocateRegion(sectors: 5000, originalLogicalBlockSize: 512).get() }
        #expect(CowFixture.drain(events).isEmpty)
        #expect(storage.filledSectors == 74_096)
    }

    @Test("diff_storage_minimum is read live")
    func liveMinimum() throws {
        let (storage, events, params) = make()
        let device = CowFixture.device("s", sectors: 100_000, minor: 10)
        storage.append(device: device, ranges: [(0, 100_000)], completed: true)
        storage.emitCreationEvent()  // requested 8192
        params.update { $0.diffStorageMinimum = 1000 }  // half = 496
        #expect(CowFixture.drain(events).count == 1)  // the creation event
        _ = try storage.allocateRegion(sectors: 7600, originalLogicalBlockSize: 512).get()  // left 592
        #expect(CowFixture.drain(events).isEmpty)
        _ = try storage.allocateRegion(sectors: 96, originalLogicalBlockSize: 512).get()  // left 496
        let fired = CowFixture.drain(events)
        #expect(fired.count == 1)
        #expect(CowFixture.lowSpaceSectors(fired[0]) == 1000)
        #expect(storage.requestedSectors == 9192)
    }

    @Test("many abandoned ranges: the FIFO stays in order across its internal compaction")
    func manyRanges() throws {
        let (storage, _, _) = make()
        let device = CowFixture.device("s", sectors: 1 << 20, minor: 10)
        let small = (0..<200).map { (offset: UInt64($0) * 1000, count: UInt64(100)) }
        storage.append(device: device, ranges: small + [(500_000, 256), (600_000, 1000)], completed: true)
        #expect(try storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512).get().sector == 500_000)
        #expect(storage.retiredRanges.count == 200)
        #expect(storage.retiredRanges.map(\.sector) == small.map(\.offset))
        #expect(storage.freeRanges.map(\.sector) == [500_000, 600_000])
        #expect(try storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512).get().sector == 500_128)
        #expect(try storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512).get().sector == 600_000)
        #expect(storage.filledSectors == 200 * 100 + 3 * 128)
        #expect(storage.freeRanges.map(\.usedSectors) == [128])
    }

    @Test("release forgets everything")
    func release() throws {
        let (storage, _, _) = make()
        storage.append(device: CowFixture.device("s", sectors: 1000, minor: 10), ranges: [(0, 1000)], completed: true)
        _ = try storage.allocateRegion(sectors: 128, originalLogicalBlockSize: 512).get()
        storage.release()
        #expect(storage.deviceCount == 0)
        #expect(storage.freeRanges.isEmpty)
        #expect(storage.retiredRanges.isEmpty)
        #expect(storage.capacitySectors == 0)
    }

    @Test("concurrent allocations hand out disjoint regions and count every sector")
    func concurrentAllocations() {
        let (storage, _, _) = make()
        let devices = (0..<3).map { CowFixture.device("s\($0)", sectors: 1 << 20, minor: UInt32(10 + $0)) }
        for device in devices { storage.append(device: device, ranges: [(0, 64 * 1000), (100_000, 5)], completed: true) }
        let results = PthreadMutex<[DiffRegion]>([])
        onThreads(4) { _ in
            var mine: [DiffRegion] = []
            for _ in 0..<800 {
                if case .success(let region) = storage.allocateRegion(sectors: 64, originalLogicalBlockSize: 512) {
                    mine.append(region)
                }
            }
            results.withLock { $0.append(contentsOf: mine) }
        }
        let regions = results.withLock { $0 }
        #expect(regions.count == 3000)
        #expect(storage.isOverflowed)
        #expect(storage.filledSectors == 3 * 64 * 1000 + 3 * 5)
        var seen = Set<String>()
        for region in regions { seen.insert("\(region.device.minor):\(region.sector)") }
        #expect(seen.count == 3000)
    }
}
