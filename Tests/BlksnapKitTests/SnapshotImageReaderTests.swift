import BlksnapKit
import BlksnapSimulator
#if canImport(Glibc)
import Glibc
#endif
import SimKernel
import SystemPackage
import Testing

/// The image-reading core: ``ChangedBlocks`` queries and ``SnapshotImageReader`` on the
/// in-process simulator.
@Suite("Snapshot image reader")
struct SnapshotImageReaderTests {
    @Test("ranges overlapping a byte window are found by binary search and clipped")
    func overlapping() {
        // Blocks of 8 sectors: changed 1-2, 5, 9 (of 0-9); capacity 76 sectors clips block 9.
        var map = [UInt8](repeating: 0, count: 10)
        map[1] = 3; map[2] = 2; map[5] = 4; map[9] = 7
        let changed = ChangedBlocks(map: map, since: 1, blockSizeBytes: 4096, capacitySectors: 76)
        #expect(changed.ranges == [SectorRange(offsetSectors: 8, countSectors: 16),
                                   SectorRange(offsetSectors: 40, countSectors: 8),
                                   SectorRange(offsetSectors: 72, countSectors: 4)])
        #expect(changed.ranges(overlappingBytes: 0, length: 4096).isEmpty)
        #expect(changed.ranges(overlappingBytes: 0, length: 4097) == [SectorRange(offsetSectors: 8, countSectors: 1)])
        #expect(changed.ranges(overlappingBytes: 6 * 4096, length: 20 * 4096)
                == [SectorRange(offsetSectors: 72, countSectors: 4)])
        #expect(changed.ranges(overlappingBytes: 12 * 512, length: 30 * 512)
                == [SectorRange(offsetSectors: 12, countSectors: 12), SectorRange(offsetSectors: 40, countSectors: 2)])
        #expect(changed.ranges(overlappingBytes: 0, length: .max) == changed.ranges)
        #expect(changed.ranges(overlappingBytes: 80 * 512, length: 512).isEmpty)
    }

    @Test("the image reads what the original held at take, in aligned blocks")
    func readsTheImage() throws {
        let sim = SimKernel()
        _ = try sim.addDevice(name: "sda", capacitySectors: 8192)  // 4 MiB
        _ = try sim.addDevice(name: "store", capacitySectors: 65536)
        let kernel = sim.kernelInterface
        let before = (0..<(4 << 20) as Range<Int>).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 12) }
        let fd = try kernel.open("/dev/sda", flags: O_RDWR)
        _ = try before.withUnsafeBytes { try kernel.pwrite(fd, from: $0, at: 0) }

        let original = try BlockDevice(path: "/dev/sda", kernel: kernel)
        #expect(throws: BlksnapError.self) { try SnapshotImageReader(imageOf: original) }
        try original.attachUnchecked()
        let control = try Control(kernel: kernel)
        let id = try control.createSnapshot()
        try original.addToSnapshot(id)
        #expect(throws: BlksnapError.self) { try SnapshotImageReader(imageOf: original) }
        try control.appendStorageUnchecked(id, devicePath: "/dev/store", ranges: [SectorRange(offsetSectors: 0, countSectors: 65536)])
        try control.takeSnapshot(id)

        let after = [UInt8](repeating: 0xEE, count: 300_000)
        _ = try after.withUnsafeBytes { try kernel.pwrite(fd, from: $0, at: 1_000_000) }
        try kernel.close(fd)

        let reader = try SnapshotImageReader(imageOf: original)
        #expect(reader.capacityBytes == 4 << 20)
        var copy = [UInt8]()
        var offsets: [UInt64] = []
        try reader.forEachBlock(of: reader.wholeImage, blockBytes: 1 << 20) { (offset, bytes) throws(Never) in
            offsets.append(offset)
            copy += bytes
        }
        #expect(offsets == [0, 1 << 20, 2 << 20, 3 << 20])
        #expect(copy == before)

        // A range that starts off the block grid is read up to the next block border first.
        var pieces: [(UInt64, Int)] = []
        try reader.forEachBlock(of: [SectorRange(offsetSectors: 2047, countSectors: 4)], blockBytes: 1 << 20) { (offset, bytes) throws(Never) in
            pieces.append((offset, bytes.count))
        }
        #expect(pieces.map(\.0) == [2047 * 512, 1 << 20] && pieces.map(\.1) == [512, 1536])

        // Past the end: a short read.
        var tail = [UInt8](repeating: 0, count: 4096)
        let n = try tail.withUnsafeMutableBytes { try reader.read(into: $0, at: (4 << 20) - 1000) }
        #expect(n == 1000)

        try control.destroySnapshot(id)
        let gone = try #require(throws: ImageReadError.self) {
            try tail.withUnsafeMutableBytes { try reader.read(into: $0, at: 0) }
        }
        #expect(gone.description.contains("read of \(reader.path) at byte 0 failed"))
    }

    @Test("reading ahead on a thread of its own hands over the same blocks, errors and stops as reading in turn")
    func readAhead() throws {
        struct Stop: Error {}
        let sim = SimKernel()
        _ = try sim.addDevice(name: "sda", capacitySectors: 8200)  // 4 MiB + 4 KiB: a partial last block
        _ = try sim.addDevice(name: "store", capacitySectors: 65536)
        let kernel = sim.kernelInterface
        let content = (0..<(8200 * 512) as Range<Int>).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) }
        let fd = try kernel.open("/dev/sda", flags: O_RDWR)
        _ = try content.withUnsafeBytes { try kernel.pwrite(fd, from: $0, at: 0) }
        try kernel.close(fd)
        let original = try BlockDevice(path: "/dev/sda", kernel: kernel)
        try original.attachUnchecked()
        let control = try Control(kernel: kernel)
        let id = try control.createSnapshot()
        try original.addToSnapshot(id)
        try control.appendStorageUnchecked(id, devicePath: "/dev/store", ranges: [SectorRange(offsetSectors: 0, countSectors: 65536)])
        try control.takeSnapshot(id)
        let reader = try SnapshotImageReader(imageOf: original)

        // Whole image, unaligned and overlapping-the-end ranges, out of order.
        let layouts: [[SectorRange]] = [
            reader.wholeImage,
            [SectorRange(offsetSectors: 4000, countSectors: 300), SectorRange(offsetSectors: 7, countSectors: 3000),
             SectorRange(offsetSectors: 8190, countSectors: 100)],
            [],
        ]
        for ranges in layouts {
            func blocks(readAhead: Int) throws -> [(UInt64, [UInt8])] {
                var seen: [(UInt64, [UInt8])] = []
                try reader.forEachBlock(of: ranges, blockBytes: 256 << 10, readAhead: readAhead) { (offset, bytes) throws(Never) in
                    seen.append((offset, Array(bytes)))
                }
                return seen
            }
            let inTurn = try blocks(readAhead: 0)
            for depth in [1, 2, 5] {
                let ahead = try blocks(readAhead: depth)
                #expect(ahead.map(\.0) == inTurn.map(\.0), "offsets with readAhead \(depth)")
                #expect(ahead.map(\.1) == inTurn.map(\.1), "bytes with readAhead \(depth)")
            }
            for (offset, bytes) in inTurn {
                #expect(bytes == Array(content[Int(offset)..<(Int(offset) + bytes.count)]))
            }
        }

        // The body's error stops the copy at once: no later block is handed over.
        var handed = 0
        let stopped = #expect(throws: ImageCopyError<Stop>.self) {
            try reader.forEachBlock(of: reader.wholeImage, blockBytes: 64 << 10, readAhead: 3) { (_, _) throws(Stop) in
                handed += 1
                if handed == 5 { throw Stop() }
            }
        }
        if case .body = stopped {} else { Issue.record("expected the body's error, got \(String(describing: stopped))") }
        #expect(handed == 5)

        // A failed read arrives as .read after the blocks read before it.
        try control.destroySnapshot(id)
        var after = 0
        let failed = #expect(throws: ImageCopyError<Never>.self) {
            try reader.forEachBlock(of: reader.wholeImage, blockBytes: 64 << 10, readAhead: 2) { (_, _) throws(Never) in after += 1 }
        }
        if case .read(let error) = failed {
            #expect(error.description.contains("at byte 0"))
        } else {
            Issue.record("expected a read error, got \(String(describing: failed))")
        }
        #expect(after == 0)
    }
}
