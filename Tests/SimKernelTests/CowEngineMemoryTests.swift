#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import SimKernel

@Suite("COW engine: bookkeeping memory")
struct CowEngineMemoryTests {
    /// glibc's `malloc_usable_size` (not exported by Swift's Glibc module).
    private static func mallocUsableSize(_ pointer: UnsafeRawPointer) -> Int? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_usable_size") else { return nil }
        typealias Function = @convention(c) (UnsafeRawPointer?) -> Int
        return unsafeBitCast(symbol, to: Function.self)(pointer)
    }

    @Test("a 16 TiB sparse device costs nothing until written; ≤ 64 bytes per touched chunk")
    func bytesPerTouchedChunk() throws {
        #expect(MemoryLayout<Chunk>.stride == 12)
        let capacity: UInt64 = 1 << 35  // 16 TiB
        let params = CowFixture.params()
        let events = EventQueue()
        let storage = DiffStorage(params: params, events: events)
        storage.append(device: CowFixture.device("st", sectors: 1 << 20, minor: 100), ranges: [(0, 1 << 20)], completed: true)
        let original = CowFixture.device("huge", sectors: capacity)
        let area = try DiffArea(original: original, capacitySectors: capacity, storage: storage, events: events, params: params)
        #expect(area.chunkCount == 1 << 28)
        #expect(area.descriptorCount == 0)
        #expect(area.indexStorageBytes == 0)

        // NEW descriptors (nowait writes) carry no buffer: pure bookkeeping.
        var worst = 0.0
        var touched = 0
        for step in [1000, 10_000, 49_153, 100_000, 196_609] {
            while touched < step {
                _ = area.copyOnWrite(sector: UInt64(touched) &* 2683 % (1 << 28) * 128, count: 1, nowait: true)
                touched += 1
            }
            #expect(area.descriptorCount == touched)
            let estimate = Double(area.indexStorageBytes) / Double(touched)
            worst = max(worst, estimate)
            #expect(estimate <= 56, "\(estimate) bytes per chunk at \(touched) chunks")
            // The real heap block of the index (one malloc'd object).
            let heap = area.withChunkIndex { index -> Int? in
                let storageObject = unsafeBitCast(index, to: UnsafeRawPointer.self)
                return Self.mallocUsableSize(storageObject)
            }
            if let heap {
                let perChunk = Double(heap) / Double(touched)
                #expect(perChunk <= 58, "\(perChunk) heap bytes per chunk at \(touched) chunks")
                print("COW index: \(touched) touched chunks, \(heap) heap bytes, \(perChunk) bytes/chunk")
            }
        }
        #expect(worst > 30)  // sanity: the estimate is not zero
        // Copied chunks keep the same descriptor size; their data buffers are extra.
        #expect(area.copyOnWrite(sector: 5, count: 1, nowait: false) == 0)
        #expect(area.state(ofChunk: 0) == .inMemory)
        area.release()
        #expect(area.indexStorageBytes == 0)
    }
}
