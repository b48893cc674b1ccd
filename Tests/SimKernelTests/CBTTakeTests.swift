#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
@testable import SimKernel
import Testing

/// §3 through the whole ABI: numbering over takes, wraparound, resize and corruption resets.
@Suite("§3 CBT across takes")
struct CBTTakeTests {
    /// One create/add/append/take/destroy cycle on an attached device.
    func cycle(_ sim: Sim, _ fd: Int32, storage: String = "/dev/store") {
        let id = sim.create()
        #expect(sim.add(fd, to: id) == 0)
        #expect(sim.append(id, path: storage, ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == 0)
        #expect(sim.destroy(id) == 0)
    }

    func setUp() -> (Sim, Int32) {
        let sim = Sim()
        let fd = sim.device("sda", sectors: 16_384)
        _ = try! sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        #expect(sim.attach(fd) == 0)
        return (sim, fd)
    }

    @Test("Map contents over three takes: byte = number active when the block was last written")
    func numbering() {
        let (sim, fd) = setUp()
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == 512)               // block 0 ← 1
        cycle(sim, fd)
        #expect(sim.cbtInfo(fd).changes_number == 1)
        #expect(sim.write(fd, offset: 65_536, count: 512, byte: 1) == 512)          // block 1 ← 2
        cycle(sim, fd)
        #expect(sim.write(fd, offset: 2 * 65_536, count: 65_537, byte: 1) == 65_537) // blocks 2, 3 ← 3
        #expect(sim.write(fd, offset: 0, count: 1, byte: 1) == 1)                   // block 0 ← 3
        cycle(sim, fd)
        let info = sim.cbtInfo(fd)
        #expect(info.changes_number == 3)
        let map = sim.cbtMap(fd)
        #expect(Array(map[0..<5]) == [3, 2, 3, 3, 0] && map[5...].allSatisfy { $0 == 0 })
        // Blocks changed since the backup at changes number 2: bytes > 2.
        #expect(map.indices.filter { map[$0] > 2 } == [0, 2, 3])
        // cbtdirty now: write map gets 4, read map gets 3.
        #expect(sim.cbtDirty(fd, [(10 * 128, 1)]) == 0)
        #expect(sim.cbtMap(fd)[10] == 3)
    }

    @Test("255/256-take wraparound through full snapshot cycles")
    func wraparound() {
        let (sim, fd) = setUp()
        let generation = bytes(of: sim.cbtInfo(fd).generation_id)
        for take in 1...254 {
            #expect(sim.write(fd, offset: UInt64(take % 128) * 65_536, count: 512, byte: 1) == 512)
            cycle(sim, fd)
        }
        #expect(sim.cbtInfo(fd).changes_number == 254)
        #expect(bytes(of: sim.cbtInfo(fd).generation_id) == generation)
        let map254 = sim.cbtMap(fd)
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == 512)
        cycle(sim, fd)  // 255th
        let info255 = sim.cbtInfo(fd)
        #expect(info255.changes_number == 255)
        #expect(bytes(of: info255.generation_id) != generation)
        #expect(sim.cbtMap(fd) == map254)
        #expect(sim.write(fd, offset: 7 * 65_536, count: 512, byte: 1) == 512)
        cycle(sim, fd)  // 256th
        let info256 = sim.cbtInfo(fd)
        #expect(info256.changes_number == 1)
        #expect(bytes(of: info256.generation_id) == bytes(of: info255.generation_id))
        let map = sim.cbtMap(fd)
        #expect(map.indices.filter { map[$0] != 0 } == [7] && map[7] == 1)
    }

    @Test("Resize is detected at take: reset (number 1, zero read map, new generation), image capacity = new size")
    func resizeReset() throws {
        let (sim, fd) = setUp()
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == 512)
        cycle(sim, fd)
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == 512)
        cycle(sim, fd)
        let before = sim.cbtInfo(fd)
        #expect(before.changes_number == 2)
        try sim.kernel.resizeDevice(name: "sda", capacitySectors: 32_768)
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == 512)
        let id = sim.create()
        #expect(sim.add(fd, to: id) == 0)
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == 0)
        let after = sim.cbtInfo(fd)
        #expect(after.changes_number == 1 && after.block_count == 256 && after.device_capacity == 32_768 * 512)
        #expect(bytes(of: after.generation_id) != bytes(of: before.generation_id))
        #expect(sim.cbtMap(fd).allSatisfy { $0 == 0 })
        #expect(sim.kernel.listDevices().first(where: \.isImage)?.capacitySectors == 32_768)
        #expect(sim.destroy(id) == 0)
    }

    @Test("A corrupted CBT disables COW silently, and the next take resets it")
    func corruptionThenReset() throws {
        let (sim, fd) = setUp()
        #expect(sim.write(fd, offset: 0, count: 4 * 65_536, byte: 0x11) == 4 * 65_536)
        let id = sim.create()
        #expect(sim.add(fd, to: id) == 0)
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == 0)
        try sim.kernel.resizeDevice(name: "sda", capacitySectors: 32_768)
        #expect(sim.write(fd, offset: 20_000 * 512, count: 512, byte: 0x33) == 512)  // past the old end
        #expect(sim.kernel.cbtState(device: "sda")?.isCorrupted == true)
        #expect(sim.write(fd, offset: 0, count: 512, byte: 0x22) == 512)
        let image = sim.kernel.open(sim.kernel.listDevices().first(where: \.isImage)!.path, flags: O_RDONLY)
        #expect(sim.read(image, offset: 0, count: 512).1.allSatisfy { $0 == 0x22 })  // silent loss
        #expect(sim.snapshotInfo(fd).1.error_code == 0)
        #expect(sim.destroy(id) == 0)
        cycle(sim, fd)
        #expect(sim.kernel.cbtState(device: "sda")?.isCorrupted == false)
        #expect(sim.cbtInfo(fd).changes_number == 1 && sim.cbtInfo(fd).block_count == 256)
    }

    @Test("Memory cost of a tracked 16 TiB sparse device: CBT maps 2 × 2 MiB")
    func sixteenTiB() {
        let sim = Sim(params: Params())
        let fd = sim.device("huge", sectors: 16 << 31)
        #expect(sim.attach(fd) == 0)
        let state = sim.kernel.cbtState(device: "huge")
        #expect(state?.blockCount == 2_097_152 && state?.mapMemoryBytes == 4 << 20)
    }
}
