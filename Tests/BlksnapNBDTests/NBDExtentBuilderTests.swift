import BlksnapNBD
import Testing

@Suite struct NBDExtentBuilderTests {
    private static func extents(_ runs: [(UInt64, UInt64, UInt32)], offset: UInt64, length: UInt64,
                                limit: Int = NBDLimits.maximumExtentsPerReply) -> [NBDExtent] {
        var builder = NBDExtentBuilder(offsetBytes: offset, lengthBytes: length, limit: limit)
        for (start, count, flags) in runs { builder.add(offsetBytes: start, lengthBytes: count, flags: flags) }
        return builder.extents()
    }

    @Test func emptyIsTheWholeWindowWithFlagsZero() {
        #expect(Self.extents([], offset: 4096, length: 512) == [NBDExtent(lengthBytes: 512, flags: 0)])
        #expect(Self.extents([], offset: 0, length: 0).isEmpty, "an empty window has no descriptor")
    }

    @Test func clipsToTheWindowAndFillsTheGaps() {
        let extents = Self.extents([(0, 100, 1), (4096, 8192, 1), (65536, 4096, 1), (1 << 20, 10, 1)], offset: 50, length: 65536)
        #expect(extents == [
            NBDExtent(lengthBytes: 50, flags: 1), NBDExtent(lengthBytes: 3996, flags: 0), NBDExtent(lengthBytes: 8192, flags: 1),
            NBDExtent(lengthBytes: 65536 - 12288, flags: 0), NBDExtent(lengthBytes: 50, flags: 1),
        ])
        #expect(extents.reduce(0) { $0 + $1.lengthBytes } == 65536)
        #expect(Self.extents([(UInt64.max - 10, 100, 3)], offset: 0, length: 512) == [NBDExtent(lengthBytes: 512, flags: 0)],
                "a run past the window (its end overflowing) is dropped")
    }

    @Test func mergesAdjacentRunsWithEqualFlags() {
        let extents = Self.extents([(0, 512, 3), (512, 512, 3), (1024, 512, 0), (1536, 512, 0), (2048, 512, 3)], offset: 0, length: 2560)
        #expect(extents == [NBDExtent(lengthBytes: 1024, flags: 3), NBDExtent(lengthBytes: 1024, flags: 0), NBDExtent(lengthBytes: 512, flags: 3)])
        #expect(Self.extents([(0, 512, 0)], offset: 0, length: 1024) == [NBDExtent(lengthBytes: 1024, flags: 0)],
                "a run of flags 0 and the gap after it are one extent")
    }

    @Test func ordersRunsAddedOutOfOrder() {
        let shuffled = Self.extents([(2048, 512, 1), (0, 512, 1), (1024, 512, 2)], offset: 0, length: 4096)
        let sorted = Self.extents([(0, 512, 1), (1024, 512, 2), (2048, 512, 1)], offset: 0, length: 4096)
        #expect(shuffled == sorted)
        #expect(sorted == [
            NBDExtent(lengthBytes: 512, flags: 1), NBDExtent(lengthBytes: 512, flags: 0), NBDExtent(lengthBytes: 512, flags: 2),
            NBDExtent(lengthBytes: 512, flags: 0), NBDExtent(lengthBytes: 512, flags: 1), NBDExtent(lengthBytes: 1536, flags: 0),
        ])
    }

    @Test func overlappingRunsKeepTheFlagsOfTheRunStartingFirst() {
        // 0..<1024 dirty, 512..<2048 flags 2: the overlap keeps 1, the rest of the second run is 2.
        #expect(Self.extents([(512, 1536, 2), (0, 1024, 1)], offset: 0, length: 2048)
                    == [NBDExtent(lengthBytes: 1024, flags: 1), NBDExtent(lengthBytes: 1024, flags: 2)])
        // Same start: the one added first wins; a run inside another adds nothing.
        #expect(Self.extents([(0, 1024, 1), (0, 512, 2), (256, 256, 3)], offset: 0, length: 1024) == [NBDExtent(lengthBytes: 1024, flags: 1)])
        // Duplicates count once.
        #expect(Self.extents([(0, 512, 1), (0, 512, 1)], offset: 0, length: 1024)
                    == [NBDExtent(lengthBytes: 512, flags: 1), NBDExtent(lengthBytes: 512, flags: 0)])
    }

    @Test func cappedAtTheLimitFromTheWindowStart() {
        let dirty = (0..<1000).map { (UInt64($0) * 8192, UInt64(4096), nbdStateDirty) }
        let three = Self.extents(dirty, offset: 0, length: 8192 * 1000, limit: 3)
        #expect(three == [NBDExtent(lengthBytes: 4096, flags: 1), NBDExtent(lengthBytes: 4096, flags: 0), NBDExtent(lengthBytes: 4096, flags: 1)])
        #expect(Self.extents(dirty, offset: 0, length: 8192 * 1000, limit: 1) == [NBDExtent(lengthBytes: 4096, flags: 1)])
        #expect(Self.extents(Array(dirty.reversed()), offset: 0, length: 8192 * 1000, limit: 3) == three, "out of order, same cap")
        // The last descriptor kept is whole: it takes the runs merged into it.
        #expect(Self.extents([(0, 512, 1), (512, 512, 1), (1024, 512, 2)], offset: 0, length: 1536, limit: 1) == [NBDExtent(lengthBytes: 1024, flags: 1)])
    }

    @Test func isFullOnceTheFirstDescriptorsAreFinal() {
        var builder = NBDExtentBuilder(offsetBytes: 0, lengthBytes: 4096, limit: 1)
        builder.add(offsetBytes: 0, lengthBytes: 512, flags: 1)
        builder.add(offsetBytes: 512, lengthBytes: 512, flags: 1)
        #expect(!builder.isFull, "the first descriptor may still grow")
        builder.add(offsetBytes: 1024, lengthBytes: 512, flags: 0)
        #expect(builder.isFull)
        var gap = NBDExtentBuilder(offsetBytes: 0, lengthBytes: 4096, limit: 1)
        gap.add(offsetBytes: 1024, lengthBytes: 512, flags: 1)
        #expect(gap.isFull, "the gap before the first run is the first descriptor")
        #expect(gap.extents() == [NBDExtent(lengthBytes: 1024, flags: 0)])
        var unordered = NBDExtentBuilder(offsetBytes: 0, lengthBytes: 4096, limit: 1)
        unordered.add(offsetBytes: 2048, lengthBytes: 512, flags: 1)
        unordered.add(offsetBytes: 0, lengthBytes: 512, flags: 2)
        #expect(!unordered.isFull, "out of order, nothing is final before the end")
        #expect(unordered.extents() == [NBDExtent(lengthBytes: 512, flags: 2)])
    }
}
