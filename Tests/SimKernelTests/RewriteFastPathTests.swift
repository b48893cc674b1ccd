#if canImport(Glibc)
import Glibc
#endif
@testable import SimKernel
import Testing

/// The lock-free rewrite checks (CBT write map atomics, the diff area's cache of
/// captured chunks) answer exactly what the locked paths would.
@Suite("Rewrite fast paths keep kernel semantics")
struct RewriteFastPathTests {
    @Test("a cached captured chunk whose lock is taken: REQ_NOWAIT still gets EAGAIN")
    func cachedChunkLockInvalidates() throws {
        let s = try CowFixture.make()
        CowFixture.writeChunk(s.area, 2, generation: 2)
        // Two rewrites: the first finds it captured under the lock and caches it.
        #expect(s.area.copyOnWrite(sector: 2 * 128, count: 1, nowait: true) == 0)
        #expect(s.area.copyOnWrite(sector: 2 * 128 + 5, count: 1, nowait: true) == 0)
        let busy = s.area.withChunkLockHeld(2) { s.area.copyOnWrite(sector: 2 * 128, count: 1, nowait: true) }
        #expect(busy == -EAGAIN)
        #expect(s.area.copyOnWrite(sector: 2 * 128, count: 1, nowait: true) == 0)
        // A range from the cached chunk into a NEW one still loads the NEW one.
        #expect(s.area.copyOnWrite(sector: 2 * 128, count: 256, nowait: false) == 0)
        #expect(s.area.state(ofChunk: 3) == .inMemory)
    }

    @Test("after release a cached chunk's rewrite returns 0 and creates nothing")
    func releasedAreaWithCachedChunk() throws {
        let s = try CowFixture.make()
        CowFixture.writeChunk(s.area, 1, generation: 2)
        #expect(s.area.copyOnWrite(sector: 128, count: 8, nowait: false) == 0)
        s.area.release()
        #expect(s.area.copyOnWrite(sector: 128, count: 8, nowait: false) == 0)
        #expect(s.area.copyOnWrite(sector: 128, count: 256, nowait: false) == 0)
        #expect(s.area.descriptorCount == 0)
    }

    @Test("CBT: an already-marked block is raised again after a switch; corruption fails at once")
    func cbtFastPathSemantics() throws {
        let cbt = try CBTMap(capacitySectors: 16_384, params: LiveParams(smallParams()))
        #expect(cbt.markWrite(sector: 0, count: 1) == 0)
        #expect(cbt.markWrite(sector: 3, count: 2) == 0)  // answered without the lock
        #expect(cbt.writeMapSnapshot()[0] == 1)
        cbt.switchNumbers()
        #expect(cbt.markWrite(sector: 0, count: 1) == 0)
        #expect(cbt.writeMapSnapshot()[0] == 2 && cbt.readMapSnapshot()[0] == 1)
        #expect(cbt.markWrite(sector: 16_384, count: 1) == -EINVAL)
        #expect(cbt.isCorrupted)
        #expect(cbt.markWrite(sector: 0, count: 1) == -EINVAL)
    }

    @Test("CBT: the zero-length quirk still marks to the end and corrupts, even over marked blocks")
    func cbtZeroLengthQuirk() throws {
        let cbt = try CBTMap(capacitySectors: 16_384, params: LiveParams(smallParams()))
        #expect(cbt.markWrite(sector: 0, count: 1) == 0)
        #expect(cbt.markWrite(sector: 0, count: 0) == -EINVAL)
        #expect(cbt.isCorrupted)
        #expect(cbt.writeMapSnapshot().allSatisfy { $0 == 1 })
    }

    @Test("CBT: concurrent write-path marks and markBoth leave every block raised")
    func cbtConcurrentMarks() async throws {
        let cbt = try CBTMap(capacitySectors: 16_384, params: LiveParams(smallParams()))
        cbt.switchNumbers()  // active 2, previous 1
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for round in 0..<2_000 {
                        let sector = UInt64((round * 7 + worker * 13) % 128) * 128
                        if worker % 2 == 0 {
                            _ = cbt.markWrite(sector: sector, count: 1)
                        } else {
                            _ = cbt.markBoth(sector: sector, count: 1)
                        }
                    }
                }
            }
        }
        #expect(!cbt.isCorrupted)
        #expect(cbt.writeMapSnapshot().allSatisfy { $0 == 2 })
    }
}
