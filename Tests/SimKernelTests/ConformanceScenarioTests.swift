#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import SimKernel
import Synchronization
import SystemPackage
import Testing

@Suite("Conformance scenarios: overflow (§4.6, §5.4, §11.9) and multi-device point in time (§2.3)")
struct ConformanceScenarioTests {
    @Test("overflow: one corrupted event (err 28) per device, snapshotinfo −28, image EIO, originals intact, appends do not revive")
    func overflow() throws {
        let sim = try ConformanceSim()
        let chunks = 40
        let devices = try ["sda", "sdb", "sdc"].map { try sim.addDevice($0, sectors: UInt64(chunks) * 128 + 3) }
        let numbers = try devices.map { try $0.deviceNumber() }
        let images = try devices.map { try sim.imagePath(of: $0) }
        // Room for 20 chunks only, shared by the three devices.
        let id = try sim.snapshot(devices, storageSectors: 20 * 128)
        var references: [[UInt8]] = []
        for (index, device) in ["sda", "sdb", "sdc"].enumerated() {
            let data = DataPattern(seed: UInt8(index + 1)).bytes(atByte: 0, count: chunks * 65_536 + 3 * 512)
            #expect(sim.write("/dev/" + device, atByte: 0, data) == 0)
            references.append(data)
        }
        let atTake = references
        try sim.control.takeSnapshot(id)
        #expect(try sim.drainEvents(id).map(\.code) == [0])

        func writeChunks(_ device: Int, _ range: Range<Int>, generation: UInt8) {
            for chunk in range {
                let data = DataPattern(seed: generation).bytes(atByte: chunk * 65_536 + 100, count: 700)
                #expect(sim.write("/dev/" + ["sda", "sdb", "sdc"][device], atByte: UInt64(chunk * 65_536 + 100), data) == 0)
                overwrite(&references[device], atByte: chunk * 65_536 + 100, with: data)
            }
        }
        // sda: the first 17 copies store fine (17 chunks), the next batch overflows after 3 more.
        writeChunks(0, 0..<34, generation: 10)
        #expect(try devices[0].snapshotInfo().errorCode == Errno.noSpace)
        #expect(try devices[1].snapshotInfo().errorCode == nil)
        // sdb keeps working from RAM for 16 chunks, fails at its first store (§12 fact 4).
        writeChunks(1, 0..<16, generation: 11)
        #expect(try devices[1].snapshotInfo().errorCode == nil)
        #expect(try sim.read(images[1], atByte: 100, count: 700).get() == Array(atTake[1][100..<800]))
        writeChunks(1, 16..<17, generation: 11)
        #expect(try devices[1].snapshotInfo().errorCode == Errno.noSpace)
        // Appending storage does not revive: sdc still fails at its first store.
        try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath,
                                      ranges: [SectorRange(offsetSectors: 1 << 20, countSectors: 1 << 16)])
        writeChunks(2, 0..<17, generation: 12)
        #expect(try devices[2].snapshotInfo().errorCode == Errno.noSpace)
        // More writes everywhere: no more events.
        writeChunks(0, 34..<40, generation: 13)
        writeChunks(1, 17..<40, generation: 13)
        writeChunks(2, 17..<40, generation: 13)

        let events = try sim.drainEvents(id)
        #expect(events.count == 3, "exactly one corrupted event per device: \(events)")
        for (index, event) in events.enumerated() {
            guard case .corrupted(let device, let errno, _) = event else {
                Issue.record("expected corrupted, got \(event)")
                continue
            }
            #expect(device == numbers[index])
            #expect(errno == .noSpace)
        }
        // Raw payload: err_code is +28; snapshotinfo.error_code is −28.
        let fd = try sim.open("/dev/sda")
        var info = blksnap_snapshotinfo()
        _ = withUnsafeMutableBytes(of: &info) { sim.rawFilterControl(fd, cmd: 4, optlen: 36, opt: address($0.baseAddress)) }
        #expect(info.error_code == -ENOSPC)
        // Image I/O fails EIO, reads and writes, for every device.
        for image in images {
            #expect(errnoOf { _ = try sim.read(image, atByte: 0, count: 512).get() } == EIO)
            #expect(sim.write(image, atByte: 0, [1]) == EIO)
        }
        // The originals hold exactly what was written.
        for (index, name) in ["sda", "sdb", "sdc"].enumerated() {
            #expect(sameBytes(try sim.readAll("/dev/" + name), references[index]), "original \(name)")
        }
    }

    @Test("multi-device: writes from 3 threads, take, more writes from 3 threads: every image shows its pre-take content")
    func multiDevicePhases() throws {
        let sim = try ConformanceSim()
        let names = ["sda", "sdb", "sdc"]
        let sizes: [UInt64] = [2053, 3073, 1252]  // 16, 24, 9 chunks plus partial last chunks
        let devices = try zip(names, sizes).map { try sim.addDevice($0, sectors: $1) }
        let id = try sim.snapshot(devices, storageSectors: 1 << 16)
        let references = Locked<[[UInt8]]>(sizes.map { [UInt8](repeating: 0, count: Int($0) * 512) })
        let failures = Locked(0)

        func runWriters(generation: UInt8) {
            let joins = names.indices.map { device in
                spawnThread {
                    let size = Int(sizes[device]) * 512
                    var random = ConformanceRandom(seed: UInt64(device) &* 1000 &+ UInt64(generation))
                    for step in 0..<60 {
                        let offset = Int(random.next() % UInt64(size))
                        let count = min(size - offset, 1 + Int(random.next() % 150_000))
                        let data = DataPattern(seed: generation &+ UInt8(step)).bytes(atByte: offset, count: count)
                        if sim.write("/dev/" + names[device], atByte: UInt64(offset), data) != 0 {
                            failures.withLock { $0 += 1 }
                        }
                        references.withLock { overwrite(&$0[device], atByte: offset, with: data) }
                    }
                }
            }
            joins.forEach { $0() }
        }

        runWriters(generation: 1)
        let atTake = references.withLock { $0 }
        try sim.control.takeSnapshot(id)
        runWriters(generation: 100)
        #expect(failures.withLock { $0 } == 0)
        for (index, device) in devices.enumerated() {
            #expect(sameBytes(try sim.readAll(try sim.imagePath(of: device)), atTake[index]), "image of \(names[index])")
            #expect(sameBytes(try sim.readAll("/dev/" + names[index]), references.withLock { $0[index] }))
            #expect(try device.snapshotInfo().errorCode == nil)
        }
    }

    @Test("multi-device: take while 3 threads keep writing whole chunks: each image is exactly the state after some prefix of its writes")
    func takeDuringWrites() throws {
        let sim = try ConformanceSim()
        let names = ["sda", "sdb", "sdc"]
        let chunkCounts = [12, 20, 7]
        let devices = try zip(names, chunkCounts).map { try sim.addDevice($0, sectors: UInt64($1) * 128) }
        let id = try sim.snapshot(devices, storageSectors: 1 << 16)
        let writesPerDevice = 400
        let started = Locked(0)
        // Writer d writes stamp i (1…N) over the whole chunk (i * 7) % count.
        let joins = names.indices.map { device in
            spawnThread {
                started.withLock { $0 += 1 }
                for stamp in 1...writesPerDevice {
                    let chunk = (stamp * 7) % chunkCounts[device]
                    let data = [UInt64](repeating: UInt64(stamp), count: 65_536 / 8)
                    let result = data.withUnsafeBytes { bytes in
                        sim.write("/dev/" + names[device], atByte: UInt64(chunk * 65_536), Array(bytes))
                    }
                    if result != 0 { return }
                }
            }
        }
        while started.withLock({ $0 }) < names.count { usleep(100) }
        usleep(2_000)
        try sim.control.takeSnapshot(id)
        joins.forEach { $0() }
        for (device, blockDevice) in devices.enumerated() {
            let image = try sim.readAll(try sim.imagePath(of: blockDevice))
            let words = image.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
            var stamps: [UInt64] = []
            for chunk in 0..<chunkCounts[device] {
                let slice = words[chunk * 8192..<(chunk + 1) * 8192]
                #expect(slice.allSatisfy { $0 == slice.first }, "torn chunk \(chunk) of \(names[device])")
                stamps.append(slice.first ?? 0)
            }
            // The point in time: the newest stamp visible; every chunk must show its last write ≤ it.
            let point = Int(stamps.max() ?? 0)
            for chunk in 0..<chunkCounts[device] {
                let last = (1...max(point, 1)).last { $0 <= point && ($0 * 7) % chunkCounts[device] == chunk } ?? 0
                #expect(stamps[chunk] == UInt64(last), "\(names[device]) chunk \(chunk) at point \(point)")
            }
            let final = try sim.readAll("/dev/" + names[device])
            #expect(final.count == chunkCounts[device] * 65_536)
        }
    }
}

/// A tiny seeded generator (ConformanceRandom) for reproducible test data.
struct ConformanceRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
