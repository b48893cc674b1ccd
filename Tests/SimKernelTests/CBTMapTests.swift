#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
@testable import SimKernel
import Testing

/// §3: the CBT map — block size, marking, numbering, wraparound, corruption.
@Suite("§3 CBT map")
struct CBTMapTests {
    static let GiB: UInt64 = 1 << 21  // sectors
    static let table: [(sectors: UInt64, blockBytes: UInt32, count: UInt32)] = [
        (GiB, 65_536, 16_384),
        (100 * GiB, 65_536, 1_638_400),
        (128 * GiB, 65_536, 2_097_152),
        (128 * GiB + 1, 131_072, 1_048_577),
        (1024 * GiB, 524_288, 2_097_152),
        (2048 * GiB, 1 << 20, 2_097_152),
        (16_384 * GiB, 8 << 20, 2_097_152),
        (131_072 * GiB, 64 << 20, 2_097_152),
        (1_048_576 * GiB, 64 << 20, 16_777_216),
    ]

    @Test("§3.1 block-size table through cbtinfo on sparse memory devices (1 GiB … 1 PiB)",
          arguments: table.indices)
    func blockSizeTable(index: Int) {
        let row = Self.table[index]
        let sim = Sim(params: Params())
        let fd = sim.device("big", sectors: row.sectors)
        #expect(sim.attach(fd) == 0)
        let info = sim.cbtInfo(fd)
        #expect(info.block_size == row.blockBytes)
        #expect(info.block_count == row.count)
        #expect(info.device_capacity == row.sectors * 512)
        #expect(sim.kernel.cbtState(device: "big")?.mapMemoryBytes == 2 * UInt64(row.count))
        #expect(sim.detach(fd) == 0)
    }

    @Test("Write path marks the write map with active, partial last block, reads and empty writes pass")
    func writePathMarking() throws {
        let sim = Sim()
        let fd = sim.device("sda", sectors: 16_384 + 3)  // 129 blocks, the last partial
        #expect(sim.attach(fd) == 0)
        let tracker = try #require(sim.kernel.blockLayer.disk(named: "sda")?.filter)
        #expect(tracker.cbt.blockCount == 129)
        _ = sim.read(fd, offset: 0, count: 4096)
        #expect(sim.write(fd, offset: 0, count: 0, byte: 1) == 0)
        #expect(tracker.cbt.writeMapSnapshot().allSatisfy { $0 == 0 })
        // Unaligned 2-byte write across the boundary of blocks 2 and 3.
        #expect(sim.write(fd, offset: 3 * 65_536 - 1, count: 2, byte: 1) == 2)
        #expect(sim.write(fd, offset: (16_384 + 2) * 512, count: 512, byte: 1) == 512)
        let write = tracker.cbt.writeMapSnapshot()
        #expect(write.indices.filter { write[$0] != 0 } == [2, 3, 128])
        // The read map is only refreshed by a take.
        #expect(sim.cbtMap(fd).allSatisfy { $0 == 0 })
    }

    @Test("§3.5 a write past the map's end (device grew) corrupts: cbtmap EFAULT (before optlen), cbtdirty EINVAL, cbtinfo stale")
    func corruptionByGrowth() throws {
        let sim = Sim()
        let fd = sim.device("sda", sectors: 16_384)
        #expect(sim.attach(fd) == 0)
        try sim.kernel.resizeDevice(name: "sda", capacitySectors: 32_768)
        #expect(sim.cbtInfo(fd).device_capacity == 16_384 * 512)
        #expect(sim.write(fd, offset: 20_000 * 512, count: 512, byte: 1) == 512)
        #expect(sim.kernel.cbtState(device: "sda")?.isCorrupted == true)
        #expect(sim.ctl(fd, cmd: 1, opt: sim.user.zeros(16), optlen: 0) == -EFAULT)
        #expect(sim.cbtDirty(fd, [(0, 1)]) == -EINVAL)
        let info = sim.cbtInfo(fd)
        #expect(info.device_capacity == 16_384 * 512 && info.block_count == 128)
        // Later writes inside the old range no longer mark anything.
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == 512)
        #expect(sim.kernel.blockLayer.disk(named: "sda")?.filter?.cbt.writeMapSnapshot()[0] == 0)
    }

    @Test("A shrink never corrupts the map")
    func shrinkDoesNotCorrupt() throws {
        let sim = Sim()
        let fd = sim.device("sda", sectors: 16_384)
        #expect(sim.attach(fd) == 0)
        try sim.kernel.resizeDevice(name: "sda", capacitySectors: 8192)
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == 512)
        #expect(sim.kernel.cbtState(device: "sda")?.isCorrupted == false)
        #expect(sim.cbtInfo(fd).device_capacity == 16_384 * 512)
    }

    @Test("§3.3 numbering: switch copies the write map; writes after take k carry k+1")
    func numberingUnit() throws {
        let cbt = try CBTMap(capacitySectors: 16_384, params: LiveParams(smallParams()))
        #expect(cbt.markWrite(sector: 0, count: 1) == 0)
        cbt.switchNumbers()  // take 1
        #expect(cbt.info().changes_number == 1 && cbt.readMapSnapshot()[0] == 1)
        #expect(cbt.markWrite(sector: 128, count: 1) == 0)
        #expect(cbt.markBoth(sector: 256, count: 1) == 0)
        cbt.switchNumbers()  // take 2
        let read = cbt.readMapSnapshot()
        #expect(read[0] == 1 && read[1] == 2 && read[2] == 2 && cbt.info().changes_number == 2)
        // markBoth after take 2: write map 3, read map 2.
        #expect(cbt.markBoth(sector: 384, count: 1) == 0)
        #expect(cbt.writeMapSnapshot()[3] == 3 && cbt.readMapSnapshot()[3] == 2)
        // Raise-only.
        #expect(cbt.markBoth(sector: 0, count: 1) == 0)
        #expect(cbt.readMapSnapshot()[0] == 2)
    }

    @Test("§3.3 the 255th take: number 255, new generation, write map zeroed, read map stale; 256th reports 1")
    func wraparoundUnit() throws {
        let cbt = try CBTMap(capacitySectors: 16_384, params: LiveParams(smallParams()))
        let generation0 = cbt.generationID
        for take in 1...254 {
            #expect(cbt.markWrite(sector: UInt64(take % 128) * 128, count: 1) == 0)
            cbt.switchNumbers()
        }
        #expect(cbt.info().changes_number == 254 && cbt.generationID == generation0)
        let readAt254 = cbt.readMapSnapshot()
        #expect(cbt.markWrite(sector: 0, count: 1) == 0)  // carries 255
        cbt.switchNumbers()  // take 255
        #expect(cbt.info().changes_number == 255 && cbt.generationID != generation0)
        #expect(cbt.readMapSnapshot() == readAt254)
        #expect(cbt.writeMapSnapshot().allSatisfy { $0 == 0 } && cbt.activeNumber == 1)
        #expect(cbt.markWrite(sector: 5 * 128, count: 1) == 0)
        cbt.switchNumbers()  // take 256
        #expect(cbt.info().changes_number == 1)
        let read = cbt.readMapSnapshot()
        #expect(read[5] == 1 && read.enumerated().allSatisfy { $0.offset == 5 || $0.element == 0 })
    }

    @Test("VAL-6.3.1 (field spec §1.6.3): the switch copies the read map first, so the 255th take refreshes it")
    func wraparoundRefreshesReadMapOnVAL6() throws {
        let cbt = try CBTMap(capacitySectors: 16_384, params: LiveParams(smallParams()))
        for take in 1...254 {
            #expect(cbt.markWrite(sector: UInt64(take % 128) * 128, count: 1) == 0)
            cbt.switchNumbers(copyingReadMapFirst: true)
        }
        let readAt254 = cbt.readMapSnapshot()
        #expect(cbt.markWrite(sector: 0, count: 1) == 0)  // carries 255
        let writeBefore = cbt.writeMapSnapshot()
        cbt.switchNumbers(copyingReadMapFirst: true)  // take 255
        #expect(cbt.info().changes_number == 255)
        #expect(cbt.readMapSnapshot() == writeBefore && cbt.readMapSnapshot() != readAt254)
        #expect(cbt.readMapSnapshot()[0] == 255)
        #expect(cbt.writeMapSnapshot().allSatisfy { $0 == 0 } && cbt.activeNumber == 1)
        #expect(CowPolicy.of(.val6).cbtSwitchCopiesReadMapFirst && !CowPolicy.of(.v5).cbtSwitchCopiesReadMapFirst)
    }

    @Test("§3.5 reset: new maps for the new size, number 0/1, new generation, corruption cleared")
    func resetUnit() throws {
        let cbt = try CBTMap(capacitySectors: 16_384, params: LiveParams(smallParams()))
        #expect(cbt.markWrite(sector: 16_384, count: 1) == -EINVAL)
        #expect(cbt.isCorrupted)
        let generation = cbt.generationID
        #expect(cbt.reset(capacitySectors: 32_768) == 0)
        #expect(!cbt.isCorrupted && cbt.blockCount == 256 && cbt.generationID != generation)
        #expect(cbt.activeNumber == 1 && cbt.previousNumber == 0)
        #expect(cbt.reset(capacitySectors: 0) == -ENOMEM)
        #expect(cbt.blockCount == 256)
    }
}
