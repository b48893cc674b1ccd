#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import SimKernel
import SystemPackage
import Testing

@Suite("Conformance §4: COW and image semantics")
struct ConformanceCOWTests {
    static let sectors: UInt64 = 10 * 128 + 7  // 10 full chunks and a 7-sector last chunk

    @Test("image = content at take after straddling writes, partial last chunk, many rewrites; original = all writes")
    func pointInTime() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: Self.sectors)
        let size = Int(Self.sectors * 512)
        let atTake = DataPattern(seed: 1).bytes(atByte: 0, count: size)
        #expect(sim.write("/dev/sda", atByte: 0, atTake) == 0)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        let image = try sim.imagePath(of: device)
        var current = atTake
        let writes: [(Int, Int)] = [(65_536 - 300, 600), (5 * 65_536 + 1, 3 * 65_536), (size - 1000, 1000),
                                    (0, 1), (65_536 - 300, 70_000), (size - 3584, 3584), (12_345, 54_321)]
        for (index, (offset, count)) in writes.enumerated() {
            let data = DataPattern(seed: UInt8(10 + index)).bytes(atByte: offset, count: count)
            #expect(sim.write("/dev/sda", atByte: UInt64(offset), data) == 0)
            overwrite(&current, atByte: offset, with: data)
            #expect(sameBytes(try sim.readAll(image), atTake), "after write \(index)")
        }
        #expect(sameBytes(try sim.readAll("/dev/sda"), current))
        // Unaligned image reads too.
        #expect(try sim.read(image, atByte: 65_535, count: 3).get() == Array(atTake[65_535..<65_538]))
    }

    @Test("image writes land in the image only (never the original), across chunk borders, in NEW/IN_MEMORY/STORED chunks")
    func imageWrites() throws {
        // The intended v5 behaviour: the §12.1 item 9 overrun (HazardTests) turned off.
        let sim = try ConformanceSim { $0.chunkMaximumInQueue = 1; $0.fixMultichunkImageWrite = 1 }
        let device = try sim.addDevice("sda", sectors: Self.sectors)
        let size = Int(Self.sectors * 512)
        let base = DataPattern(seed: 1).bytes(atByte: 0, count: size)
        #expect(sim.write("/dev/sda", atByte: 0, base) == 0)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        let image = try sim.imagePath(of: device)
        var expectedImage = base
        var expectedDevice = base
        // Make chunks 0, 1 IN_MEMORY/STORED through COW (queue limit 1: the second stores both).
        for chunk in 0..<2 {
            let data = DataPattern(seed: 2).bytes(atByte: chunk * 65_536, count: 10)
            #expect(sim.write("/dev/sda", atByte: UInt64(chunk * 65_536), data) == 0)
            overwrite(&expectedDevice, atByte: chunk * 65_536, with: data)
        }
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.filledSectors == 256)
        for (offset, count) in [(65_536 - 512, 1024), (3 * 65_536 - 7, 65_536 + 14), (size - 100, 100), (0, 513)] {
            let data = DataPattern(seed: 3).bytes(atByte: offset, count: count)
            #expect(sim.write(image, atByte: UInt64(offset), data) == 0)
            overwrite(&expectedImage, atByte: offset, with: data)
            #expect(sameBytes(try sim.readAll(image), expectedImage))
            #expect(sameBytes(try sim.readAll("/dev/sda"), expectedDevice))
        }
        // A later COW of an image-written chunk does not overwrite the image data.
        let late = DataPattern(seed: 4).bytes(atByte: 3 * 65_536, count: 65_536)
        #expect(sim.write("/dev/sda", atByte: 3 * 65_536, late) == 0)
        #expect(sameBytes(try sim.readAll(image), expectedImage))
    }

    @Test("§4.1 chunk size: raised by chunk_maximum_count_shift and by io_min; regions are always full chunks")
    func chunkSizeRules() throws {
        let sim = try ConformanceSim { $0.chunkMaximumInQueue = 0; $0.chunkMaximumCountShift = 2 }
        // 10 chunks of 64 KiB > 2^2 → 128 KiB (5) → 256 KiB (3 chunks).
        let wide = try sim.addDevice("sda", sectors: 10 * 128)
        let a = try sim.snapshot([wide])
        try sim.control.takeSnapshot(a)
        #expect(sim.write("/dev/sda", atByte: 0, [1]) == 0)
        #expect(sim.kernel.storageCounters(snapshot: a.simUUID)?.filledSectors == 512)
        // The last chunk (sectors 1024…1279, 256 sectors real) still takes a full region.
        #expect(sim.write("/dev/sda", atByte: 9 * 65_536, [1]) == 0)
        #expect(sim.kernel.storageCounters(snapshot: a.simUUID)?.filledSectors == 1024)
        sim.kernel.params.update { $0.chunkMaximumCountShift = 40 }
        // io_min 128 KiB → 128 KiB chunks.
        let coarse = try sim.addDevice("sdb", sectors: 10 * 128, ioMin: 131_072)
        let b = try sim.snapshot([coarse], storageOffset: 1 << 20)
        try sim.control.takeSnapshot(b)
        #expect(sim.write("/dev/sdb", atByte: 0, [1]) == 0)
        #expect(sim.kernel.storageCounters(snapshot: b.simUUID)?.filledSectors == 256)
    }

    @Test("raw (SimKernel pwrite nowait): REQ_NOWAIT write to a not-yet-copied chunk → EAGAIN; to a copied one → ok")
    func nowait() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: Self.sectors)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        let fd = sim.kernel.open("/dev/sda", flags: O_RDWR)
        let bytes: [UInt8] = [1, 2, 3]
        #expect(bytes.withUnsafeBytes { sim.kernel.pwrite(fd, from: $0, at: 0, nowait: true) } == -Int(EAGAIN))
        #expect(try sim.read("/dev/sda", atByte: 0, count: 3).get() == [0, 0, 0])
        #expect(bytes.withUnsafeBytes { sim.kernel.pwrite(fd, from: $0, at: 0, nowait: false) } == 3)
        #expect(bytes.withUnsafeBytes { sim.kernel.pwrite(fd, from: $0, at: 10, nowait: true) } == 3)
        _ = sim.kernel.close(fd)
    }

    @Test("each chunk is copied once; ≤16 queued chunks never reach storage, the 17th stores all 17 (full chunks)")
    func storeBatching() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 20 * 128 + 7)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        for chunk in 0..<16 {
            #expect(sim.write("/dev/sda", atByte: UInt64(chunk * 65_536), [1]) == 0)
            #expect(sim.write("/dev/sda", atByte: UInt64(chunk * 65_536 + 1), [1]) == 0)
        }
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.filledSectors == 0)
        #expect(sim.write("/dev/sda", atByte: 20 * 65_536, [1]) == 0)  // the 7-sector last chunk
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.filledSectors == 17 * 128)
        #expect(try sim.read(try sim.imagePath(of: device), atByte: 20 * 65_536, count: 3584).get()
                == [UInt8](repeating: 0, count: 3584))
    }
}

@Suite("Conformance §5: difference storage, low space, re-arm, overflow")
struct ConformanceStorageTests {
    @Test("§5.3 creation event: requested = diff_storage_minimum, immediate; then nothing until the threshold")
    func creationEvent() throws {
        let sim = try ConformanceSim()
        let id = try sim.control.createSnapshot()
        let event = try #require(try sim.control.waitEvent(id, timeoutTicks: 0))
        guard case .lowFreeSpace(let requested, _) = event else {
            Issue.record("expected low_free_space, got \(event)")
            return
        }
        #expect(requested == 8192)
        #expect(try sim.control.waitEvent(id, timeoutTicks: 0) == nil)
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.requestedSectors == 8192)
    }

    @Test("§5.3 threshold event at the 32nd stored chunk (after the 34th copy), not re-armed until an append makes capacity ≥ requested")
    func thresholdAndRearm() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 130 * 128)
        let id = try sim.snapshot([device], storageSectors: 20_000)
        _ = try sim.drainEvents(id)
        try sim.control.takeSnapshot(id)
        for chunk in 0..<34 {
            #expect(sim.write("/dev/sda", atByte: UInt64(chunk * 65_536), [1]) == 0)
            let events = try sim.drainEvents(id)
            #expect(events.count == (chunk == 33 ? 1 : 0), "after copy \(chunk + 1)")
            if let event = events.first { #expect(event.code == 0) }
        }
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.requestedSectors == 16_384)
        for chunk in 34..<102 { #expect(sim.write("/dev/sda", atByte: UInt64(chunk * 65_536), [1]) == 0) }
        #expect(try sim.drainEvents(id).isEmpty, "flag still set: no event at filled ≥ 12288")
        // A count == 0 append re-arms because capacity 20000 ≥ requested 16384 (§12 fact 2).
        try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath, ranges: [])
        for chunk in 102..<118 { #expect(sim.write("/dev/sda", atByte: UInt64(chunk * 65_536), [1]) == 0) }
        #expect(try sim.drainEvents(id).isEmpty)
        #expect(sim.write("/dev/sda", atByte: 118 * 65_536, [1]) == 0)
        #expect(try sim.drainEvents(id).map(\.code) == [0])
    }

    @Test("§12 fact 2: once filled overtakes requested, left wraps and threshold events stop even after a re-arming append")
    func leftWraps() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 300 * 128)
        let id = try sim.snapshot([device], storageSectors: 60_000)
        try sim.control.takeSnapshot(id)
        #expect(try sim.drainEvents(id).map(\.code) == [0])
        for chunk in 0..<136 { #expect(sim.write("/dev/sda", atByte: UInt64(chunk * 65_536), [1]) == 0) }
        // One threshold event (at the 32nd store); filled 17408 > requested 16384 now.
        #expect(try sim.drainEvents(id).map(\.code) == [0])
        let counters = try #require(sim.kernel.storageCounters(snapshot: id.simUUID))
        #expect(counters.filledSectors == 17_408 && counters.requestedSectors == 16_384)
        try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath, ranges: [])  // re-arms: 60000 ≥ 16384
        for chunk in 136..<300 { #expect(sim.write("/dev/sda", atByte: UInt64(chunk * 65_536), [1]) == 0) }
        #expect(try sim.drainEvents(id).isEmpty)
        #expect(try device.snapshotInfo().errorCode == nil)
    }

    @Test("§5.2 range tails that cannot hold a full chunk are wasted (filled counts them)")
    func wastedTails() throws {
        let sim = try ConformanceSim { $0.chunkMaximumInQueue = 0 }
        let device = try sim.addDevice("sda", sectors: 4 * 128)
        let id = try sim.control.createSnapshot()
        try device.addToSnapshot(id)
        try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath,
                                      ranges: [SectorRange(offsetSectors: 0, countSectors: 200),
                                               SectorRange(offsetSectors: 1000, countSectors: 100),
                                               SectorRange(offsetSectors: 2000, countSectors: 128)])
        try sim.control.takeSnapshot(id)
        #expect(sim.write("/dev/sda", atByte: 0, [1]) == 0)
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.filledSectors == 128)
        #expect(sim.write("/dev/sda", atByte: 65_536, [1]) == 0)
        #expect(sim.kernel.storageCounters(snapshot: id.simUUID)?.filledSectors == 128 + 72 + 100 + 128)
        #expect(try device.snapshotInfo().errorCode == nil)
        #expect(sim.write("/dev/sda", atByte: 2 * 65_536, [1]) == 0)
        #expect(try device.snapshotInfo().errorCode == Errno.noSpace)
    }

    @Test("§4.7 storage with a larger logical block than the original → corrupted ENOTBLK at the first store, not at append")
    func largerStorageBlocks() throws {
        let sim = try ConformanceSim { $0.chunkMaximumInQueue = 0 }
        let device = try sim.addDevice("sda", sectors: 4 * 128)
        _ = try sim.kernel.addDevice(name: "store4k", capacitySectors: 8192, logicalBlockSize: 4096)
        let id = try sim.control.createSnapshot()
        try device.addToSnapshot(id)
        try sim.control.appendStorageUnchecked(id, devicePath: "/dev/store4k", ranges: [SectorRange(offsetSectors: 0, countSectors: 4096)])
        try sim.control.takeSnapshot(id)
        _ = try sim.drainEvents(id)
        #expect(sim.write("/dev/sda", atByte: 0, [1]) == 0)
        #expect(try device.snapshotInfo().errorCode == Errno.notBlockDevice)
        let events = try sim.drainEvents(id)
        #expect(events.count == 1)
        if case .corrupted(_, let errno, _)? = events.first { #expect(errno == .notBlockDevice) }
    }
}
