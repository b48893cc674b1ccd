#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import SimKernel
import SystemPackage
import Testing

/// §4.5, §4.7, §1.2: storage on a tracked device, out-of-range or misaligned ranges, and a
/// storage device with larger logical blocks — all accepted by v5, all failing later.
@Suite("Guard: difference storage placement and ranges")
struct GuardStorageTests {
    let chunk = GuardFixture.chunkBytes

    /// Writes `count` distinct chunks of `path` after take (17 trigger a store).
    func dirtyChunks(_ f: GuardFixture, _ path: String, count: Int, seed: UInt8 = 2) {
        for index in 0..<count { f.write(path, atByte: UInt64(index * chunk), pattern: seed, count: chunk) }
    }

    @Test("raw ioctls: storage on the snapshotted device is accepted and its stores show through in the image")
    func storageOnMemberSilent() throws {
        let f = try GuardFixture()
        // sda: pattern 1 in the first MiB, pattern 5 in its second half (where storage will be).
        f.write("/dev/sda", atByte: 0, pattern: 1, count: 1 << 20)
        f.write("/dev/sda", atByte: 4 << 20, pattern: 5, count: 4 << 20)
        let id = f.rawCreate()
        #expect(f.rawAttach("/dev/sda") == 0)
        #expect(f.rawAdd("/dev/sda", to: id) == 0)
        #expect(f.rawAppend(id, path: "/dev/sda", ranges: [(8192, 8192)]) == 0, "accepted")
        #expect(f.rawTake(id) == 0)
        _ = f.rawPollEvent(id)
        dirtyChunks(f, "/dev/sda", count: 17)  // the 17th stores 17 chunks into sda's second half
        let image = f.read("/dev/blksnap-image_240:0", atByte: 4 << 20, count: chunk)
        #expect(image != DataPattern(seed: 5).bytes(atByte: 4 << 20, count: chunk), "the image's second half changed after take")
        #expect(image == DataPattern(seed: 1).bytes(atByte: 0, count: chunk), "it now holds the stored chunk 0")
        #expect(f.rawSnapshotInfo("/dev/sda").1 == 0 && f.rawPollEvent(id) == nil, "no error, no event")
    }

    @Test("StorageGuard refuses a tracked device (and says whether it is in a taken snapshot); allowed with a warning")
    func storageOnMemberGuarded() throws {
        let f = try GuardFixture()
        let id = f.rawCreate()
        #expect(f.rawAttach("/dev/sda") == 0)
        #expect(f.rawAdd("/dev/sda", to: id) == 0)
        let before = f.state
        let error = try #require(throws: BlksnapError.self) {
            try f.control.appendStorage(id, devicePath: "/dev/sda", ranges: [SectorRange(offsetSectors: 8192, countSectors: 8192)])
        }
        #expect(error.hazard == .storageOnTrackedDevice && error.category == .refused && error.errno == .resourceBusy)
        #expect(error.description.contains("storage /dev/sda: it is tracked by blksnap (possibly a member of a snapshot not taken yet: v5 cannot tell)"))
        #expect(f.state == before, "nothing appended")
        let member = try #require(throws: BlksnapError.self) {
            try f.control.appendStorage(id, devicePath: "/dev/sda", ranges: [SectorRange(offsetSectors: 8192, countSectors: 8192)],
                                    knownMembers: ["/dev/sda"])
        }
        #expect(member.description.contains("it is a member of this snapshot"))
        let warnings = try f.control.appendStorage(id, devicePath: "/dev/sda",
                                               ranges: [SectorRange(offsetSectors: 8192, countSectors: 8192)], allowSameDevice: true)
        #expect(warnings.count == 1 && warnings[0].hasSuffix("(allowed)"))
        #expect(f.sim.storageCounters(snapshot: f.sim.snapshotIDs[0])?.capacitySectors == 8192)

        // In a taken snapshot: said so.
        let g = try GuardFixture()
        let taken = g.rawTakenSnapshot()
        let inImage = try #require(throws: BlksnapError.self) {
            try g.control.appendStorage(taken, devicePath: "/dev/sda", ranges: [SectorRange(offsetSectors: 8192, countSectors: 128)])
        }
        #expect(inImage.description.contains("it is in a taken snapshot (image /dev/blksnap-image_240:0)"))
        // An untracked device is fine.
        #expect(try g.control.appendStorage(taken, devicePath: "/dev/sdb", ranges: [SectorRange(offsetSectors: 0, countSectors: 128)]).isEmpty)
    }

    @Test("raw ioctls: a range past the end is accepted and its stores corrupt the snapshot with EIO later")
    func outOfRangeSilent() throws {
        let f = try GuardFixture()
        f.write("/dev/sda", atByte: 0, pattern: 1, count: 2 << 20)
        let id = f.rawCreate()
        #expect(f.rawAttach("/dev/sda") == 0)
        #expect(f.rawAdd("/dev/sda", to: id) == 0)
        #expect(f.rawAppend(id, path: "/dev/store", ranges: [(65_536, 32_768)]) == 0, "past the end: accepted")
        #expect(f.rawTake(id) == 0)
        _ = f.rawPollEvent(id)
        dirtyChunks(f, "/dev/sda", count: 17)
        #expect(f.rawSnapshotInfo("/dev/sda").1 == -EIO, "corrupted only when a store runs")
    }

    @Test("StorageGuard refuses ranges past the end, misaligned or overlapping, and changes nothing")
    func rangesGuarded() throws {
        let f = try GuardFixture(storageLogicalBlockSize: 4096)
        let id = f.rawCreate()
        let before = f.state
        func refusal(_ ranges: [SectorRange]) throws -> BlksnapError {
            try #require(throws: BlksnapError.self) {
                try f.control.appendStorage(id, devicePath: "/dev/store", ranges: ranges)
            }
        }
        let past = try refusal([SectorRange(offsetSectors: 65_528, countSectors: 16)])
        #expect(past.hazard == .storageRange && past.errnoName == "ERANGE")
        #expect(past.description.contains("range 65528:16 of /dev/store ends past the device's last sector (65536 sectors)"))
        let misaligned = try refusal([SectorRange(offsetSectors: 1, countSectors: 8)])
        #expect(misaligned.errno == .invalidArgument)
        #expect(misaligned.description.contains("is not aligned to its 4096-byte logical blocks (offset and count must be multiples of 8 sectors)"))
        #expect(try refusal([SectorRange(offsetSectors: 0, countSectors: 12)]).hazard == .storageRange)
        let overlap = try refusal([SectorRange(offsetSectors: 0, countSectors: 64), SectorRange(offsetSectors: 32, countSectors: 64)])
        #expect(overlap.description.contains("ranges 0:64 and 32:64 of /dev/store overlap"))
        let wrapped = try refusal([SectorRange(offsetSectors: UInt64.max - 7, countSectors: 16)])
        #expect(wrapped.hazard == .storageRange)
        #expect(f.state == before)
        #expect(try f.control.appendStorage(id, devicePath: "/dev/store",
                                        ranges: [SectorRange(offsetSectors: 0, countSectors: 64), SectorRange(offsetSectors: 64, countSectors: 0)])
                == ["range 64:0 of /dev/store is empty: it adds nothing"])
    }

    @Test("raw ioctls: storage with larger logical blocks than a member fails every store with ENOTBLK")
    func blockSizeSilent() throws {
        let f = try GuardFixture(storageLogicalBlockSize: 4096)
        f.write("/dev/sda", atByte: 0, pattern: 1, count: 2 << 20)
        let id = f.rawCreate()
        #expect(f.rawAttach("/dev/sda") == 0)
        #expect(f.rawAdd("/dev/sda", to: id) == 0)
        #expect(f.rawAppend(id, path: "/dev/store", ranges: [(0, 32_768)]) == 0, "accepted")
        #expect(f.rawTake(id) == 0)
        _ = f.rawPollEvent(id)
        dirtyChunks(f, "/dev/sda", count: 17)
        #expect(f.rawSnapshotInfo("/dev/sda").1 == -ENOTBLK)
    }

    @Test("StorageGuard refuses larger logical blocks than a known member, warns for a tracked device")
    func blockSizeGuarded() throws {
        let f = try GuardFixture(storageLogicalBlockSize: 4096)
        let id = f.rawCreate()
        #expect(f.rawAttach("/dev/sda") == 0)
        #expect(f.rawAdd("/dev/sda", to: id) == 0)
        let before = f.state
        let error = try #require(throws: BlksnapError.self) {
            try f.control.appendStorage(id, devicePath: "/dev/store", ranges: [SectorRange(offsetSectors: 0, countSectors: 32_768)],
                                    knownMembers: ["/dev/sda"])
        }
        #expect(error.hazard == .storageBlockSize && error.errno == .notBlockDevice)
        #expect(error.description.contains("storage /dev/store has 4096-byte logical blocks, larger than the 512-byte blocks of /dev/sda: v5 fails every store with ENOTBLK"))
        #expect(f.state == before)
        let warnings = try f.control.appendStorage(id, devicePath: "/dev/store",
                                               ranges: [SectorRange(offsetSectors: 0, countSectors: 32_768)])
        #expect(warnings.count == 1 && warnings[0].hasSuffix("if /dev/sda is a member of this snapshot"))
    }
}
