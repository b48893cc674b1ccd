#if canImport(Glibc)
import Glibc
#endif
import BlksnapSimulator
import Testing
@testable import SimKernel

@Suite("COW engine: store queue, regions, low-space timing, overflow (§4.5, §5, §12)")
struct CowEngineStoreTests {
    @Test("≤16 queued chunks never reach storage; the 17th stores all 17 in queue order")
    func batching() throws {
        let s = try CowFixture.make(chunks: 40)
        let area = s.area
        for chunk in 0..<16 {
            #expect(CowFixture.writeChunk(area, UInt64(chunk), generation: 2) == 0)
        }
        #expect(area.queuedChunks == Array(0..<16))
        #expect(s.storage.filledSectors == 0)
        #expect((0..<16).allSatisfy { area.state(ofChunk: UInt64($0)) == .inMemory })
        #expect(CowFixture.read(s.storageDevice, atByte: 0, count: 512) == [UInt8](repeating: 0, count: 512))
        // The 17th (written out of order) triggers the worker.
        #expect(CowFixture.writeChunk(area, 30, generation: 2) == 0)
        #expect(area.queuedChunks.isEmpty)
        #expect(s.storage.filledSectors == 17 * 128)
        let order: [UInt64] = Array(0..<16) + [30]
        for (index, chunk) in order.enumerated() {
            #expect(area.state(ofChunk: chunk) == .stored)
            let region = try #require(area.region(ofChunk: chunk))
            #expect(region == DiffRegion(device: s.storageDevice, sector: UInt64(index) * 128, count: 128))
            // The storage holds the old data; the image reads it from there.
            let old = DataPattern(seed: 1).bytes(atByte: Int(chunk) * CowFixture.chunkBytes, count: CowFixture.chunkBytes)
            #expect(CowFixture.read(s.storageDevice, atByte: region.sector * 512, count: CowFixture.chunkBytes) == old)
            #expect(CowFixture.imageRead(area, atByte: chunk * UInt64(CowFixture.chunkBytes), count: CowFixture.chunkBytes).1 == old)
        }
        // Buffers went back to the pool (17 ≤ 128).
        #expect(area.idleBufferCount == 17)
        // The next 16 stay in RAM again, reusing pooled buffers.
        for chunk in 17..<30 { CowFixture.writeChunk(area, UInt64(chunk), generation: 2) }
        #expect(area.queuedChunks.count == 13)
        #expect(area.idleBufferCount == 4)
        #expect(s.storage.filledSectors == 17 * 128)
    }

    @Test("buffer pool keeps at most free_diff_buffer_pool_size + 1 idle buffers")
    func poolLimit() throws {
        let s = try CowFixture.make(chunks: 20) { $0.freeDiffBufferPoolSize = 2 }
        for chunk in 0..<17 { CowFixture.writeChunk(s.area, UInt64(chunk), generation: 2) }
        #expect(s.area.queuedChunks.isEmpty)
        #expect(s.area.idleBufferCount == 3)
        // Both parameters are read live: pool size 0 keeps one idle buffer at most.
        s.params.update { $0.freeDiffBufferPoolSize = 0; $0.chunkMaximumInQueue = 1 }
        CowFixture.writeChunk(s.area, 17, generation: 2)
        #expect(s.area.queuedChunks == [17])
        #expect(s.area.idleBufferCount == 2)
        CowFixture.writeChunk(s.area, 18, generation: 2)
        #expect(s.area.queuedChunks.isEmpty)
        #expect(s.area.idleBufferCount == 1)
    }

    @Test("regions are full chunks even for the short last chunk; range tails are wasted")
    func regionsAndTails() throws {
        let s = try CowFixture.make(chunks: 4, extraSectors: 7,
                                    storageSectors: 4096, ranges: [(0, 200), (1000, 300), (2000, 0), (3000, 1000)]) {
            $0.chunkMaximumInQueue = 0  // store every chunk at once
        }
        let area = s.area
        CowFixture.writeChunk(area, 4, generation: 2)  // the 7-sector last chunk
        #expect(area.state(ofChunk: 4) == .stored)
        #expect(area.region(ofChunk: 4) == DiffRegion(device: s.storageDevice, sector: 0, count: 128))
        #expect(s.storage.filledSectors == 128)
        // 72 sectors left in range 1: abandoned.
        CowFixture.writeChunk(area, 0, generation: 2)
        #expect(area.region(ofChunk: 0)?.sector == 1000)
        #expect(s.storage.filledSectors == 128 + 72 + 128)
        CowFixture.writeChunk(area, 1, generation: 2)
        #expect(area.region(ofChunk: 1)?.sector == 1128)
        // 44 left in range 2, range 3 is empty: both retired, chunk goes to range 4.
        CowFixture.writeChunk(area, 2, generation: 2)
        #expect(area.region(ofChunk: 2)?.sector == 3000)
        #expect(s.storage.filledSectors == 128 + 72 + 128 + 128 + 44 + 0 + 128)
        #expect(s.storage.retiredRanges.map(\.sector) == [0, 1000, 2000])
        #expect(s.storage.retiredRanges.map(\.usedSectors) == [128, 256, 0])
        // The stored last chunk: 7 real sectors of old data, then zeros.
        let last = CowFixture.read(s.storageDevice, atByte: 0, count: CowFixture.chunkBytes)
        #expect(Array(last[0..<3584]) == DataPattern(seed: 1).bytes(atByte: 4 * CowFixture.chunkBytes, count: 3584))
        #expect(last[3584...].allSatisfy { $0 == 0 })
        #expect(CowFixture.imageRead(area, atByte: UInt64(4 * CowFixture.chunkBytes), count: 3584).1
                == DataPattern(seed: 1).bytes(atByte: 4 * CowFixture.chunkBytes, count: 3584))
        #expect(CowFixture.drain(s.events).isEmpty)
    }

    @Test("§12 fact 1: the first threshold event (32nd stored chunk) appears after the 34th copy")
    func lowSpaceTiming() throws {
        let s = try CowFixture.make(chunks: 120, storageSectors: 20_000)
        s.storage.emitCreationEvent()
        let creation = CowFixture.drain(s.events)
        #expect(creation.count == 1)
        #expect(CowFixture.lowSpaceSectors(creation[0]) == 8192)
        #expect(s.storage.requestedSectors == 8192)
        for chunk in 0..<34 {
            CowFixture.writeChunk(s.area, UInt64(chunk), generation: 2)
            let events = CowFixture.drain(s.events)
            if chunk < 33 {
                #expect(events.isEmpty, "no event after copy \(chunk + 1)")
            } else {
                #expect(events.count == 1)
                #expect(events.first.flatMap(CowFixture.lowSpaceSectors) == 8192)
            }
        }
        #expect(s.storage.filledSectors == 34 * 128)
        #expect(s.storage.requestedSectors == 16_384)
        #expect(s.storage.isLowSpaceFlagSet)
        // Not re-armed: no event at the next threshold (filled ≥ 12288 = 96 chunks).
        for chunk in 34..<102 { CowFixture.writeChunk(s.area, UInt64(chunk), generation: 2) }
        #expect(s.storage.filledSectors == 102 * 128)
        #expect(CowFixture.drain(s.events).isEmpty)
        // A count == 0 append re-arms (capacity 20000 ≥ 16384, §12 fact 2); the
        // condition already holds, so the next store (after the next 17 copies) fires.
        s.storage.append(device: s.storageDevice, ranges: [], completed: true)
        #expect(!s.storage.isLowSpaceFlagSet)
        for chunk in 102..<118 { CowFixture.writeChunk(s.area, UInt64(chunk), generation: 2) }
        #expect(CowFixture.drain(s.events).isEmpty)
        CowFixture.writeChunk(s.area, 118, generation: 2)
        let events = CowFixture.drain(s.events)
        #expect(events.count == 1)
        #expect(events.first.flatMap(CowFixture.lowSpaceSectors) == 8192)
        #expect(s.storage.requestedSectors == 24_576)
    }

    @Test("re-armed before the threshold: the second event fires exactly in the batch holding the 96th store")
    func rearmedSecondEvent() throws {
        let s = try CowFixture.make(chunks: 120, storageSectors: 20_000)
        s.storage.emitCreationEvent()
        _ = CowFixture.drain(s.events)
        for chunk in 0..<40 { CowFixture.writeChunk(s.area, UInt64(chunk), generation: 2) }
        #expect(CowFixture.drain(s.events).count == 1)
        s.storage.append(device: s.storageDevice, ranges: [], completed: true)
        #expect(!s.storage.isLowSpaceFlagSet)
        // Batches end at copies 51, 68, 85, 102; the 96th store is in the last one.
        for chunk in 40..<101 { CowFixture.writeChunk(s.area, UInt64(chunk), generation: 2) }
        #expect(CowFixture.drain(s.events).isEmpty)
        CowFixture.writeChunk(s.area, 101, generation: 2)
        #expect(CowFixture.drain(s.events).count == 1)
    }

    @Test("overflow: permanent, one corrupted event (err 28) per device, −28, image EIO; second device fails at its own first store")
    func overflowSharedStorage() throws {
        // Room for 20 chunks, shared by two devices.
        let s = try CowFixture.make(chunks: 40, storageSectors: 20 * 128)
        let a = s.area
        let originalB = CowFixture.device("origB", sectors: 40 * 128, minor: 2)
        CowFixture.fill(originalB, generation: 1)
        let b = try DiffArea(original: originalB, capacitySectors: 40 * 128, storage: s.storage,
                             events: s.events, params: s.params)
        // B keeps 10 chunks in RAM before the overflow.
        for chunk in 0..<10 { CowFixture.writeChunk(b, UInt64(chunk), generation: 2) }
        for chunk in 0..<33 { CowFixture.writeChunk(a, UInt64(chunk), generation: 2) }
        #expect(!a.isCorrupted)
        #expect(s.storage.filledSectors == 17 * 128)
        // The 34th copy stores 3 more chunks, then the allocation fails.
        CowFixture.writeChunk(a, 33, generation: 2)
        #expect(a.errorCode == -ENOSPC)
        #expect(s.storage.isOverflowed)
        #expect(s.storage.filledSectors == 20 * 128)
        #expect((17..<20).allSatisfy { a.state(ofChunk: UInt64($0)) == .stored })
        #expect((20..<34).allSatisfy { a.state(ofChunk: UInt64($0)) == .failed })
        var events = CowFixture.drain(s.events)
        #expect(events.count == 1)
        #expect(CowFixture.corrupted(events[0])! == (240, 1, ENOSPC))
        #expect(CowFixture.imageRead(a, atByte: 0, count: 512).0 == -EIO)
        #expect(CowFixture.imageWrite(a, [1, 2, 3], atByte: 0) == -EIO)
        // COW stopped for A: writes pass without copying.
        #expect(CowFixture.writeChunk(a, 35, generation: 2) == 0)
        #expect(a.state(ofChunk: 35) == nil)
        // Appending storage does not revive the overflowed storage.
        s.storage.append(device: s.storageDevice, ranges: [(20 * 128, 1000)], completed: true)
        #expect(s.storage.isOverflowed)
        // B: works from RAM for its chunks 11..16, then fails at its own first store.
        for chunk in 10..<16 { CowFixture.writeChunk(b, UInt64(chunk), generation: 2) }
        #expect(!b.isCorrupted)
        #expect(CowFixture.imageRead(b, atByte: 0, count: CowFixture.chunkBytes).1
                == DataPattern(seed: 1).bytes(atByte: 0, count: CowFixture.chunkBytes))
        #expect(CowFixture.drain(s.events).isEmpty)
        CowFixture.writeChunk(b, 16, generation: 2)
        #expect(b.errorCode == -ENOSPC)
        events = CowFixture.drain(s.events)
        #expect(events.count == 1)
        #expect(CowFixture.corrupted(events[0])! == (240, 2, ENOSPC))
        #expect(CowFixture.imageRead(b, atByte: 0, count: 512).0 == -EIO)
        // Still one event per device.
        a.setCorrupted(-ENOSPC)
        b.setCorrupted(-EIO)
        #expect(CowFixture.drain(s.events).isEmpty)
        #expect(b.errorCode == -ENOSPC)
    }

    @Test("ENOTBLK: storage with a larger logical block size fails the first store")
    func enotblk() throws {
        let s = try CowFixture.make(storageLogicalBlockSize: 4096) { $0.chunkMaximumInQueue = 0 }
        #expect(CowFixture.writeChunk(s.area, 0, generation: 2) == 0)
        #expect(s.area.errorCode == -ENOTBLK)
        #expect(s.area.state(ofChunk: 0) == .failed)
        #expect(!s.storage.isOverflowed)
        #expect(s.storage.filledSectors == 0)
        let events = CowFixture.drain(s.events)
        #expect(events.count == 1)
        #expect(CowFixture.corrupted(events[0])?.errorCode == ENOTBLK)
    }

    @Test("a region beyond the storage device fails the store with EIO")
    func storeIOError() throws {
        // The range claims 10000 sectors on a 1024-sector device (not validated).
        let s = try CowFixture.make(storageSectors: 1024, ranges: [(1000, 10_000)]) { $0.chunkMaximumInQueue = 0 }
        CowFixture.writeChunk(s.area, 0, generation: 2)
        #expect(s.area.errorCode == -EIO)
        #expect(s.area.state(ofChunk: 0) == .failed)
        #expect(CowFixture.corrupted(CowFixture.drain(s.events)[0])?.errorCode == EIO)
    }
}

@Suite("COW engine: image writes (§4.4)")
struct CowEngineImageWriteTests {
    @Test("image write to a chunk without descriptor loads it, overlays, queues; the original is untouched")
    func writeWithoutDescriptor() throws {
        let s = try CowFixture.make()
        let offset = UInt64(2 * CowFixture.chunkBytes + 1000)
        let data = [UInt8](repeating: 0xC3, count: 100)
        #expect(CowFixture.imageWrite(s.area, data, atByte: offset) == 0)
        #expect(s.area.state(ofChunk: 2) == .inMemory)
        #expect(s.area.queuedChunks == [2])
        var expected = DataPattern(seed: 1).bytes(atByte: 2 * CowFixture.chunkBytes, count: CowFixture.chunkBytes)
        expected.replaceSubrange(1000..<1100, with: data)
        #expect(CowFixture.imageRead(s.area, atByte: UInt64(2 * CowFixture.chunkBytes), count: CowFixture.chunkBytes).1 == expected)
        #expect(CowFixture.read(s.area.original, atByte: 0, count: Int(s.area.original.capacityBytes))
                == DataPattern(seed: 1).bytes(atByte: 0, count: Int(s.area.original.capacityBytes)))
        // A later original write to that chunk does not copy again (it is IN_MEMORY).
        CowFixture.writeChunk(s.area, 2, generation: 2)
        #expect(CowFixture.imageRead(s.area, atByte: UInt64(2 * CowFixture.chunkBytes), count: CowFixture.chunkBytes).1 == expected)
    }

    @Test("image write to a NEW descriptor (left by a nowait write)")
    func writeToNew() throws {
        let s = try CowFixture.make()
        #expect(s.area.copyOnWrite(sector: 0, count: 1, nowait: true) == -EAGAIN)
        #expect(s.area.state(ofChunk: 0) == .new)
        #expect(CowFixture.imageWrite(s.area, [9, 9], atByte: 510) == 0)
        #expect(s.area.state(ofChunk: 0) == .inMemory)
        var expected = DataPattern(seed: 1).bytes(atByte: 0, count: 1024)
        expected[510] = 9
        expected[511] = 9
        #expect(CowFixture.imageRead(s.area, atByte: 0, count: 1024).1 == expected)
    }

    @Test("image write to an IN_MEMORY chunk changes the data that is later stored")
    func writeToInMemory() throws {
        let s = try CowFixture.make(chunks: 20)
        CowFixture.writeChunk(s.area, 0, generation: 2)
        let data = [UInt8](repeating: 0x77, count: 4096)
        #expect(CowFixture.imageWrite(s.area, data, atByte: 8192) == 0)
        for chunk in 1..<17 { CowFixture.writeChunk(s.area, UInt64(chunk), generation: 2) }
        #expect(s.area.state(ofChunk: 0) == .stored)
        let region = try #require(s.area.region(ofChunk: 0))
        var expected = DataPattern(seed: 1).bytes(atByte: 0, count: CowFixture.chunkBytes)
        expected.replaceSubrange(8192..<12288, with: data)
        #expect(CowFixture.read(s.storageDevice, atByte: region.sector * 512, count: CowFixture.chunkBytes) == expected)
        #expect(CowFixture.imageRead(s.area, atByte: 0, count: CowFixture.chunkBytes).1 == expected)
    }

    @Test("image write to a STORED chunk overwrites the region in place")
    func writeToStored() throws {
        let s = try CowFixture.make { $0.chunkMaximumInQueue = 0 }
        CowFixture.writeChunk(s.area, 5, generation: 2)
        let region = try #require(s.area.region(ofChunk: 5))
        let filled = s.storage.filledSectors
        let data = [UInt8](repeating: 0x42, count: 1500)
        #expect(CowFixture.imageWrite(s.area, data, atByte: UInt64(5 * CowFixture.chunkBytes + 300)) == 0)
        #expect(s.area.region(ofChunk: 5) == region)
        #expect(s.storage.filledSectors == filled)
        #expect(CowFixture.read(s.storageDevice, atByte: region.sector * 512 + 300, count: 1500) == data)
        #expect(CowFixture.imageRead(s.area, atByte: UInt64(5 * CowFixture.chunkBytes + 300), count: 1500).1 == data)
        #expect(CowFixture.read(s.area.original, atByte: UInt64(5 * CowFixture.chunkBytes + 300), count: 1500)
                == DataPattern(seed: 2).bytes(atByte: 5 * CowFixture.chunkBytes + 300, count: 1500))
    }

    @Test("one image write across chunks in every state (none, NEW, IN_MEMORY, STORED)")
    func writeAcrossStates() throws {
        // v5's intended behaviour: the §12.1 item 9 overrun is off here (HazardTests covers it).
        let s = try CowFixture.make(chunks: 20) { $0.chunkMaximumInQueue = 2; $0.fixMultichunkImageWrite = 1 }
        // Chunks 0, 1, 2 stored (batch of 3); 3 IN_MEMORY; 4 NEW; 5 none.
        for chunk in 0..<3 { CowFixture.writeChunk(s.area, UInt64(chunk), generation: 2) }
        CowFixture.writeChunk(s.area, 3, generation: 2)
        _ = s.area.copyOnWrite(sector: 4 * 128, count: 1, nowait: true)
        #expect([2, 3, 4, 5].map { s.area.state(ofChunk: $0) } == [.stored, .inMemory, .new, nil])
        let start = 2 * CowFixture.chunkBytes + 60_000
        let count = 3 * CowFixture.chunkBytes + 10_000
        let data = DataPattern(seed: 9).bytes(atByte: start, count: count)
        #expect(CowFixture.imageWrite(s.area, data, atByte: UInt64(start)) == 0)
        #expect(CowFixture.imageRead(s.area, atByte: UInt64(start), count: count).1 == data)
        // Surroundings keep the snapshot data.
        #expect(CowFixture.imageRead(s.area, atByte: UInt64(start - 4096), count: 4096).1
                == DataPattern(seed: 1).bytes(atByte: start - 4096, count: 4096))
        #expect(CowFixture.imageRead(s.area, atByte: UInt64(start + count), count: 4096).1
                == DataPattern(seed: 1).bytes(atByte: start + count, count: 4096))
        // The original was not touched by the image write.
        #expect(CowFixture.read(s.area.original, atByte: UInt64(4 * CowFixture.chunkBytes), count: 2 * CowFixture.chunkBytes)
                == DataPattern(seed: 1).bytes(atByte: 4 * CowFixture.chunkBytes, count: 2 * CowFixture.chunkBytes))
    }
}
