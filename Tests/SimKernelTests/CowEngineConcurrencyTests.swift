#if canImport(Glibc)
import Glibc
#endif
import BlksnapSimulator
import Dispatch
import Synchronization
import Testing
@testable import SimKernel

/// SplitMix64: small, seedable, so that a failing interleaving's inputs are reproducible.
struct CowEngineRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("COW engine: concurrency")
struct CowEngineConcurrencyTests {
    @Test("writers, image readers, an image writer and the store worker race; the image stays the point-in-time copy")
    func stress() throws {
        let chunks: UInt64 = 64
        let imageWriterChunks: Range<Int> = 60..<64  // owned by the image writer
        let s = try CowFixture.make(chunks: chunks) {
            $0.chunkMaximumInQueue = 4
            $0.freeDiffBufferPoolSize = 2
        }
        let area = s.area
        let chunkBytes = CowFixture.chunkBytes
        let sharedBytes = imageWriterChunks.lowerBound * chunkBytes
        let baseline = DataPattern(seed: 1).bytes(atByte: 0, count: Int(chunks) * chunkBytes)
        let mismatches = PthreadMutex<[String]>([])
        let imageModel = PthreadMutex<[UInt8]>(Array(baseline[sharedBytes...]))

        onThreads(8) { worker in
            var random = CowEngineRandom(state: UInt64(worker) &* 7919 &+ 1)
            var problems: [String] = []
            switch worker {
            case 0..<4:  // original writers, some with REQ_NOWAIT
                for _ in 0..<120 {
                    let sectors = Int.random(in: 1...300, using: &random)
                    let sector = Int.random(in: 0...(Int(chunks) * 128 - sectors), using: &random)
                    let data = [UInt8](repeating: UInt8.random(in: 0...255, using: &random), count: sectors * 512)
                    let nowait = Bool.random(using: &random)
                    var result = CowFixture.write(area, data, atByte: UInt64(sector) * 512, nowait: nowait)
                    if result == -EAGAIN { result = CowFixture.write(area, data, atByte: UInt64(sector) * 512) }
                    if result != 0 { problems.append("write \(sector)+\(sectors): \(result)") }
                }
            case 4..<7:  // image readers of the shared part
                for _ in 0..<120 {
                    let count = Int.random(in: 1...(3 * chunkBytes), using: &random)
                    let offset = Int.random(in: 0...(sharedBytes - count), using: &random)
                    let (result, bytes) = CowFixture.imageRead(area, atByte: UInt64(offset), count: count)
                    let same = bytes.withUnsafeBytes { got in
                        baseline.withUnsafeBytes { memcmp(got.baseAddress!, $0.baseAddress! + offset, count) == 0 }
                    }
                    if result != 0 || !same {
                        problems.append("image read \(offset)+\(count): \(result)")
                    }
                }
            default:  // image writer of its own chunks, checking its own reads
                for _ in 0..<120 {
                    let count = Int.random(in: 1...20_000, using: &random)
                    let offset = Int.random(in: 0...(imageWriterChunks.count * chunkBytes - count), using: &random)
                    var data = [UInt8](repeating: UInt8.random(in: 0...255, using: &random), count: count)
                    data[0] = UInt8(truncatingIfNeeded: offset)
                    data[count - 1] = UInt8(truncatingIfNeeded: count)
                    let result = CowFixture.imageWrite(area, data, atByte: UInt64(sharedBytes + offset))
                    if result != 0 { problems.append("image write: \(result)") }
                    imageModel.withLock { $0.replaceSubrange(offset..<offset + count, with: data) }
                    let (readResult, back) = CowFixture.imageRead(area, atByte: UInt64(sharedBytes + offset), count: count)
                    if readResult != 0 || back != data { problems.append("image read-back \(offset)+\(count)") }
                }
            }
            let found = problems
            mismatches.withLock { $0.append(contentsOf: found) }
        }

        let problems = mismatches.withLock { $0 }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(!area.isCorrupted)
        let (result, image) = CowFixture.imageRead(area, atByte: 0, count: Int(chunks) * chunkBytes)
        #expect(result == 0)
        #expect(image[..<sharedBytes] == baseline[..<sharedBytes])
        #expect(Array(image[sharedBytes...]) == imageModel.withLock { $0 })
        // Every chunk copied is IN_MEMORY or STORED; stored ones account for `filled`.
        let states = (0..<chunks).compactMap { area.state(ofChunk: $0) }
        #expect(states.allSatisfy { $0 == .inMemory || $0 == .stored || $0 == .new })
        let stored = UInt64(states.filter { $0 == .stored }.count)
        #expect(s.storage.filledSectors == stored * 128)
        #expect(area.queuedChunks.count <= 4 || area.queuedChunks.count == states.filter { $0 == .inMemory }.count)
        #expect(area.idleBufferCount <= 3)
        area.release()
        #expect(area.descriptorCount == 0)
    }

    @Test("concurrent writers to the same chunks copy each chunk exactly once")
    func sameChunk() throws {
        let s = try CowFixture.make(chunks: 8) { $0.chunkMaximumInQueue = 0 }
        onThreads(6) { worker in
            for round in 0..<40 {
                let chunk = UInt64((worker + round) % 8)
                CowFixture.writeChunk(s.area, chunk, generation: UInt8(2 + worker))
            }
        }
        #expect(s.storage.filledSectors == 8 * 128)
        let (result, image) = CowFixture.imageRead(s.area, atByte: 0, count: 8 * CowFixture.chunkBytes)
        #expect(result == 0)
        #expect(image == DataPattern(seed: 1).bytes(atByte: 0, count: 8 * CowFixture.chunkBytes))
    }
}

@Suite("COW engine: busy chunk locks")
struct CowEngineChunkLockTests {
    @Test("REQ_NOWAIT meeting a busy chunk → EAGAIN, even when the chunk is already copied")
    func nowaitBusy() throws {
        let s = try CowFixture.make()
        CowFixture.writeChunk(s.area, 2, generation: 2)
        #expect(s.area.state(ofChunk: 2) == .inMemory)
        let busy = s.area.withChunkLockHeld(2) { s.area.copyOnWrite(sector: 2 * 128, count: 1, nowait: true) }
        #expect(busy == -EAGAIN)
        #expect(s.area.copyOnWrite(sector: 2 * 128, count: 1, nowait: true) == 0)
        // A nowait write over chunks 1 (NEW, not yet a descriptor) and 2 stops at chunk 1.
        #expect(s.area.withChunkLockHeld(1) { 0 } == nil)
    }

    @Test("the store worker skips a locked chunk and leaves it queued")
    func workerSkipsLockedChunk() throws {
        let s = try CowFixture.make(chunks: 20) { $0.chunkMaximumInQueue = 2 }
        CowFixture.writeChunk(s.area, 0, generation: 2)
        CowFixture.writeChunk(s.area, 1, generation: 2)
        #expect(s.area.queuedChunks == [0, 1])
        _ = s.area.withChunkLockHeld(0) { CowFixture.writeChunk(s.area, 2, generation: 2) }
        #expect(s.area.queuedChunks == [0])
        #expect(s.area.state(ofChunk: 0) == .inMemory)
        #expect(s.area.state(ofChunk: 1) == .stored)
        #expect(s.area.state(ofChunk: 2) == .stored)
        #expect(s.area.region(ofChunk: 1)?.sector == 0)
        // The skipped chunk is stored by the next worker run.
        CowFixture.writeChunk(s.area, 3, generation: 2)
        CowFixture.writeChunk(s.area, 4, generation: 2)
        #expect(s.area.queuedChunks.isEmpty)
        #expect(s.area.region(ofChunk: 0)?.sector == 256)
    }

    @Test("release waits for a chunk lock held by an operation in flight")
    func releaseWaits() throws {
        let s = try CowFixture.make()
        CowFixture.writeChunk(s.area, 0, generation: 2)
        let released = CowEngineFlag()
        let observedBeforeUnlock = s.area.withChunkLockHeld(0) { () -> Bool in
            DispatchQueue.global().async {
                s.area.release()
                released.set()
            }
            usleep(100_000)
            return released.isSet
        }
        #expect(observedBeforeUnlock == false)
        var waited = 0
        while !released.isSet && waited < 500 { usleep(10_000); waited += 1 }
        let finished = released.isSet
        #expect(finished)
        #expect(s.area.descriptorCount == 0)
    }
}

/// A flag set by one thread and polled by another.
final class CowEngineFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}
