#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import SimKernel
import SystemPackage
import Testing

@Suite("Conformance §3: CBT numbering, read map, wraparound, reset")
struct ConformanceCBTTests {
    /// Create, add, append, take (a fresh snapshot) and destroy it right away.
    private func takeAndDestroy(_ sim: ConformanceSim, _ device: BlockDevice) throws {
        let id = try sim.snapshot([device], storageSectors: 128)
        try sim.control.takeSnapshot(id)
        try sim.control.destroySnapshot(id)
    }

    @Test("§3.1 block size table through cbtinfo (default tracking parameters)")
    func blockSizeTable() throws {
        let sim = try ConformanceSim()
        let gib: UInt64 = 1 << 21  // sectors
        let rows: [(UInt64, UInt32, UInt32)] = [
            (gib, 65_536, 16_384),
            (100 * gib, 65_536, 1_638_400),
            (128 * gib, 65_536, 2_097_152),
            (128 * gib + 1, 131_072, 1_048_577),
            (1024 * gib, 524_288, 2_097_152),
        ]
        for (index, row) in rows.enumerated() {
            let device = try sim.addDevice("big\(index)", sectors: row.0)
            let info = try device.cbtInfo()
            #expect(info.blockSizeBytes == row.1, "capacity \(row.0)")
            #expect(info.blockCount == row.2, "capacity \(row.0)")
            #expect(info.capacityBytes == row.0 * 512)
            try device.detach()
        }
    }

    @Test("§3.1 the block-size loop stops at tracking_block_maximum_shift: the count may exceed the maximum")
    func blockSizeCap() throws {
        let sim = try ConformanceSim { $0.trackingBlockMaximumCount = 4; $0.trackingBlockMaximumShift = 17 }
        let device = try sim.addDevice("sda", sectors: 2048)  // 1 MiB
        let info = try device.cbtInfo()
        #expect(info.blockSizeBytes == 131_072)
        #expect(info.blockCount == 8)
    }

    @Test("§3.3 numbering over three takes: changes_number = k, read map byte = take number during which a block was last written")
    func numberingOverTakes() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 8 * 128 + 5)
        let generation = try device.cbtInfo().generationID
        #expect(try device.readWholeCBTMap() == [UInt8](repeating: 0, count: 9))
        #expect(sim.write("/dev/sda", atByte: 0, [1]) == 0)                      // active 1
        #expect(sim.write("/dev/sda", atByte: 65_536 - 1, [1, 1]) == 0)          // blocks 0 and 1
        try takeAndDestroy(sim, device)
        var (info, map) = try device.readCBT()
        #expect(info.changesNumber == 1)
        #expect(map == [1, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(sim.write("/dev/sda", atByte: 8 * 65_536, [2]) == 0)             // the partial last block
        #expect(sim.write("/dev/sda", atByte: 0, [2]) == 0)
        try takeAndDestroy(sim, device)
        (info, map) = try device.readCBT()
        #expect(info.changesNumber == 2)
        #expect(map == [2, 1, 0, 0, 0, 0, 0, 0, 2])
        #expect(sim.write("/dev/sda", atByte: 3 * 65_536 + 100, [UInt8](repeating: 3, count: 2 * 65_536)) == 0)
        try takeAndDestroy(sim, device)
        (info, map) = try device.readCBT()
        #expect(info.changesNumber == 3)
        #expect(map == [2, 1, 0, 3, 3, 3, 0, 0, 2])
        #expect(info.generationID == generation)
        // Blocks changed since the backup at number 1: byte > 1.
        #expect(map.indices.filter { map[$0] > 1 } == [0, 3, 4, 5, 8])
        // Writes after take k carry k + 1, visible only after the next take.
        #expect(sim.write("/dev/sda", atByte: 6 * 65_536, [4]) == 0)
        #expect(try device.readWholeCBTMap() == map)
    }

    @Test("§3.3 wraparound: 255th take → 255, new generation, stale read map; 256th → 1 with the post-255 writes")
    func wraparound() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4 * 128)
        let generation = try device.cbtInfo().generationID
        for take in 1...253 {
            #expect(sim.write("/dev/sda", atByte: UInt64(take % 2) * 65_536, [UInt8(take)]) == 0)
            try takeAndDestroy(sim, device)
        }
        #expect(try device.cbtInfo().changesNumber == 253)
        // Before the 254th take: write block 2 (active 254).
        #expect(sim.write("/dev/sda", atByte: 2 * 65_536, [0]) == 0)
        try takeAndDestroy(sim, device)
        let (info254, map254) = try device.readCBT()
        #expect(info254.changesNumber == 254)
        #expect(info254.generationID == generation)
        #expect(map254 == [252, 253, 254, 0])
        // Before the 255th take: write block 3 (active 255).
        #expect(sim.write("/dev/sda", atByte: 3 * 65_536, [0]) == 0)
        try takeAndDestroy(sim, device)
        let (info255, map255) = try device.readCBT()
        #expect(info255.changesNumber == 255)
        #expect(info255.generationID != generation)
        #expect(map255 == map254, "the read map is left stale at the 255th take")
        // After the 255th take active is 1 and the write map was zeroed.
        #expect(sim.write("/dev/sda", atByte: 65_536, [0]) == 0)
        try takeAndDestroy(sim, device)
        let (info256, map256) = try device.readCBT()
        #expect(info256.changesNumber == 1)
        #expect(info256.generationID == info255.generationID)
        #expect(map256 == [0, 1, 0, 0])
        #expect(sim.kernel.cbtState(device: "sda")?.activeNumber == 2)
    }

    @Test("§3.5 reset on growth at take: changes 1, all-zero read map, new generation, new block count; image has the new capacity")
    func resetOnGrowth() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4 * 128)
        #expect(sim.write("/dev/sda", atByte: 0, [1]) == 0)
        try takeAndDestroy(sim, device)
        try takeAndDestroy(sim, device)
        let before = try device.cbtInfo()
        #expect(before.changesNumber == 2)
        try sim.kernel.resizeDevice(name: "sda", capacitySectors: 6 * 128)
        #expect(try device.cbtInfo() == before, "resize is only noticed at take")
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        let (after, map) = try device.readCBT()
        #expect(after.changesNumber == 1)
        #expect(after.generationID != before.generationID)
        #expect(after.blockCount == 6)
        #expect(after.capacityBytes == 6 * 128 * 512)
        #expect(map == [UInt8](repeating: 0, count: 6))
        let image = try BlockDevice(path: try sim.imagePath(of: device), kernel: sim.backend)
        #expect(try image.capacityBytes() == 6 * 128 * 512)
    }

    @Test("§3.5 a shrink never corrupts; it is noticed at the next take (reset)")
    func resetOnShrink() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4 * 128)
        try takeAndDestroy(sim, device)
        let before = try device.cbtInfo()
        try sim.kernel.resizeDevice(name: "sda", capacitySectors: 2 * 128)
        #expect(sim.write("/dev/sda", atByte: 0, [1]) == 0)
        #expect(sim.kernel.cbtState(device: "sda")?.isCorrupted == false)
        try takeAndDestroy(sim, device)
        let after = try device.cbtInfo()
        #expect(after.changesNumber == 1)
        #expect(after.blockCount == 2)
        #expect(after.generationID != before.generationID)
    }

    @Test("§3.5 a write past the old end corrupts the CBT: cbtmap EFAULT, cbtdirty EINVAL, cbtinfo stale, COW off silently; take resets")
    func corruptionByGrowth() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 4 * 128)
        let original = DataPattern(seed: 1).bytes(atByte: 0, count: 4 * 65_536)
        #expect(sim.write("/dev/sda", atByte: 0, original) == 0)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        let image = try sim.imagePath(of: device)
        let info = try device.cbtInfo()
        try sim.kernel.resizeDevice(name: "sda", capacitySectors: 5 * 128)
        #expect(sim.write("/dev/sda", atByte: 4 * 65_536, [9]) == 0)
        #expect(sim.kernel.cbtState(device: "sda")?.isCorrupted == true)
        #expect(errnoOf { _ = try device.cbtMap(offset: 0, length: 1) } == EFAULT)
        #expect(errnoOf { try device.markDirty([SectorRange(offsetSectors: 0, countSectors: 1)]) } == EINVAL)
        #expect(try device.cbtInfo() == info)
        // Raw: cbtmap checks corruption before optlen.
        let fd = try sim.open("/dev/sda")
        #expect(sim.rawFilterControl(fd, cmd: 1, optlen: 0, opt: 0).result == -EFAULT)
        // COW is off: a write to chunk 0 shows through in the image, no event, error 0.
        let newer = DataPattern(seed: 2).bytes(atByte: 0, count: 4096)
        #expect(sim.write("/dev/sda", atByte: 0, newer) == 0)
        #expect(try sim.read(image, atByte: 0, count: 4096).get() == newer)
        #expect(try device.snapshotInfo().errorCode == nil)
        #expect(try sim.drainEvents(id).count == 1)
        try sim.control.destroySnapshot(id)
        try takeAndDestroy(sim, device)
        let (reset, map) = try device.readCBT()
        #expect(reset.changesNumber == 1)
        #expect(reset.blockCount == 5)
        #expect(map == [0, 0, 0, 0, 0])
        #expect(sim.kernel.cbtState(device: "sda")?.isCorrupted == false)
    }

    @Test("§3.4 image writes mark the original's CBT 'set both' (read map gets previous, write map active)")
    func imageWritesMarkBoth() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 8 * 128)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        #expect(sim.write(try sim.imagePath(of: device), atByte: 2 * 65_536 + 10, [7, 7]) == 0)
        #expect(try device.readWholeCBTMap() == [0, 0, 1, 0, 0, 0, 0, 0])
        try sim.control.destroySnapshot(id)
        try takeAndDestroy(sim, device)
        #expect(try device.readWholeCBTMap() == [0, 0, 2, 0, 0, 0, 0, 0])
    }
}
