#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import SimKernel
import SystemPackage
import Testing

@Suite("Conformance §2.1–§2.2: tracker and snapshot state machines")
struct ConformanceLifecycleTests {
    @Test("§2.2 table, CREATED column: add links, append ok, take runs, wait ok, listed, destroy ok")
    func created() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 2048)
        let id = try sim.control.createSnapshot()
        try device.addToSnapshot(id)
        try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath, ranges: [SectorRange(offsetSectors: 0, countSectors: 4096)])
        #expect(try sim.control.waitEvent(id, timeoutTicks: 0) != nil)
        #expect(try sim.control.collectSnapshots() == [id])
        #expect(sim.kernel.isTaken(snapshot: id.simUUID) == false)
        try sim.control.destroySnapshot(id)
    }

    @Test("§2.2 table, TAKEN column: snapshotadd accepted but useless (no image, no COW, device busy); append ok; take EALREADY")
    func taken() throws {
        let sim = try ConformanceSim()
        let member = try sim.addDevice("sda", sectors: 2048)
        let late = try sim.addDevice("sdb", sectors: 2048)
        let id = try sim.snapshot([member])
        try sim.control.takeSnapshot(id)
        #expect(sim.kernel.isTaken(snapshot: id.simUUID) == true)
        try late.addToSnapshot(id)
        #expect(try late.snapshotInfo() == SnapshotInfo(errorCode: nil, imageName: nil))
        let latePath = try sim.imagePath(of: late)
        #expect(errnoOf { _ = try sim.backend.stat(latePath) } == ENOENT)
        let other = try sim.control.createSnapshot()
        #expect(errnoOf { try late.addToSnapshot(other) } == EBUSY)
        #expect(errnoOf { try late.addToSnapshot(id) } == EALREADY)
        try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath, ranges: [SectorRange(offsetSectors: 1 << 20, countSectors: 128)])
        #expect(errnoOf { try sim.control.takeSnapshot(id) } == EALREADY)
        #expect(try sim.control.waitEvent(id, timeoutTicks: 0) != nil)
        #expect(try sim.control.collectSnapshots() == [id, other])
        try sim.control.destroySnapshot(id)
        try late.addToSnapshot(other)
    }

    @Test("§2.2 table, BROKEN column: a take failing at image creation (duplicate image name after detach + re-attach) → BROKEN")
    func broken() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 2048)
        let first = try sim.snapshot([device])
        // The old tracker stays in `first`; the new one can join another snapshot.
        try device.detach()
        try device.attachUnchecked()
        let second = try sim.snapshot([device], storageOffset: 1 << 20)
        try sim.control.takeSnapshot(first)
        // Step 9: add_disk of the same name fails; the CBT switch (step 4) is not undone.
        #expect(errnoOf { try sim.control.takeSnapshot(second) } == EEXIST)
        #expect(sim.kernel.isTaken(snapshot: second.simUUID) == true)
        #expect(try device.cbtInfo().changesNumber == 1)
        #expect(try device.snapshotInfo() == SnapshotInfo(errorCode: nil, imageName: nil))
        // BROKEN column: take EALREADY, append ok, wait ok, listed, snapshotadd accepted but useless, destroy ok.
        #expect(errnoOf { try sim.control.takeSnapshot(second) } == EALREADY)
        try sim.control.appendStorageUnchecked(second, devicePath: sim.storagePath, ranges: [])
        #expect(try sim.control.waitEvent(second, timeoutTicks: 0) != nil)
        #expect(try sim.control.collectSnapshots() == [first, second])
        let other = try sim.addDevice("sdb", sectors: 2048)
        try other.addToSnapshot(second)
        #expect(try other.snapshotInfo().imageName == nil)
        // The first snapshot's image still works (it belongs to the old tracker).
        #expect(try sim.read(try sim.imagePath(of: device), atByte: 0, count: 512).get() == [UInt8](repeating: 0, count: 512))
        try sim.control.destroySnapshot(second)
        try sim.control.destroySnapshot(first)
        #expect(try sim.control.collectSnapshots().isEmpty)
    }

    @Test("§2.2 table, destroyed column: add/append/take/wait → ESRCH, destroy → ENODEV, not listed")
    func destroyed() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 2048)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        try sim.control.destroySnapshot(id)
        #expect(errnoOf { try device.addToSnapshot(id) } == ESRCH)
        #expect(errnoOf { try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath, ranges: []) } == ESRCH)
        #expect(errnoOf { try sim.control.takeSnapshot(id) } == ESRCH)
        #expect(errnoOf { _ = try sim.control.waitEvent(id, timeoutTicks: 0) } == ESRCH)
        #expect(errnoOf { try sim.control.destroySnapshot(id) } == ENODEV)
        #expect(try sim.control.collectSnapshots().isEmpty)
    }

    @Test("§2.1: DETACH of a member of a taken snapshot is never refused; the image stays but stops being point-in-time")
    func detachWhileTaken() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 2048)
        let before = DataPattern(seed: 1).bytes(atByte: 0, count: 2048 * 512)
        #expect(sim.write("/dev/sda", atByte: 0, before) == 0)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        let image = try sim.imagePath(of: device)
        let generation = try device.cbtInfo().generationID
        try device.detach()
        #expect(errnoOf { _ = try device.cbtInfo() } == ENOENT)
        let after = DataPattern(seed: 2).bytes(atByte: 0, count: 4096)
        #expect(sim.write("/dev/sda", atByte: 0, after) == 0)
        // Silent: the image shows the new data, no event, error_code 0 (after re-attach).
        #expect(try sim.read(image, atByte: 0, count: 4096).get() == after)
        #expect(try sim.drainEvents(id).count == 1)  // only the creation event
        try device.attachUnchecked()
        #expect(try device.cbtInfo().generationID != generation)
        #expect(try device.cbtInfo().changesNumber == 0)
        #expect(errnoOf { try device.addToSnapshot(id) } == EALREADY)
        #expect(try device.snapshotInfo() == SnapshotInfo(errorCode: nil, imageName: nil))
    }

    @Test("§2.1: a member detached before take gets an image but is never COW-protected")
    func detachedBeforeTake() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 2048)
        let id = try sim.snapshot([device])
        try device.detach()
        try sim.control.takeSnapshot(id)
        let image = try sim.imagePath(of: device)
        let data = DataPattern(seed: 5).bytes(atByte: 0, count: 8192)
        #expect(sim.write("/dev/sda", atByte: 65_536, data) == 0)
        #expect(try sim.read(image, atByte: 65_536, count: 8192).get() == data)
    }

    @Test("§2.1: reads and writes of an untracked device pass; attach does not depend on snapshots")
    func untrackedIO() throws {
        let sim = try ConformanceSim()
        try sim.addDevice("sda", sectors: 2048, attach: false)
        let data = DataPattern(seed: 3).bytes(atByte: 0, count: 1000)
        #expect(sim.write("/dev/sda", atByte: 777, data) == 0)
        #expect(try sim.read("/dev/sda", atByte: 777, count: 1000).get() == data)
    }
}

@Suite("Conformance §2.3: take")
struct ConformanceTakeTests {
    @Test("failed take (no storage → EFAULT) stays CREATED, consumes no CBT number, and can be retried")
    func failedTakeRetry() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 2048)
        let id = try sim.snapshot([device], storageSectors: 0)
        #expect(errnoOf { try sim.control.takeSnapshot(id) } == EFAULT)
        #expect(sim.kernel.isTaken(snapshot: id.simUUID) == false)
        #expect(try device.cbtInfo().changesNumber == 0)
        #expect(try device.snapshotInfo().imageName == nil)
        // A zero-length range adds no capacity: still EFAULT.
        try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath, ranges: [SectorRange(offsetSectors: 0, countSectors: 0)])
        #expect(errnoOf { try sim.control.takeSnapshot(id) } == EFAULT)
        try sim.control.appendStorageUnchecked(id, devicePath: sim.storagePath, ranges: [SectorRange(offsetSectors: 0, countSectors: 1)])
        try sim.control.takeSnapshot(id)
        #expect(try device.cbtInfo().changesNumber == 1)
        #expect(try device.snapshotInfo().imageName != nil)
    }

    @Test("chunk would exceed chunk_maximum_shift (io_min 128 KiB, max shift 16) → EFAULT; retry after the parameter is raised")
    func chunkMaximumShift() throws {
        let sim = try ConformanceSim { $0.chunkMaximumShift = 16 }
        let device = try sim.addDevice("sda", sectors: 4096, ioMin: 131_072)
        let id = try sim.snapshot([device])
        #expect(errnoOf { try sim.control.takeSnapshot(id) } == EFAULT)
        #expect(try device.cbtInfo().changesNumber == 0)
        sim.kernel.params.update { $0.chunkMaximumShift = 26 }
        try sim.control.takeSnapshot(id)
        #expect(try device.cbtInfo().changesNumber == 1)
    }

    @Test("second member failing at step 2 releases the first member's diff area: no image for anyone, retry works")
    func failureReleasesEarlierMembers() throws {
        let sim = try ConformanceSim { $0.chunkMaximumShift = 16 }
        let a = try sim.addDevice("sda", sectors: 4096)
        let b = try sim.addDevice("sdb", sectors: 4096, ioMin: 131_072)
        let id = try sim.snapshot([a, b])
        #expect(errnoOf { try sim.control.takeSnapshot(id) } == EFAULT)
        #expect(try a.snapshotInfo().imageName == nil)
        #expect(try a.cbtInfo().changesNumber == 0)
        // COW is not active on a: a write goes through and stores nothing.
        #expect(sim.write("/dev/sda", atByte: 0, DataPattern(seed: 1).bytes(atByte: 0, count: 512)) == 0)
        sim.kernel.params.update { $0.chunkMaximumShift = 26 }
        try sim.control.takeSnapshot(id)
        #expect(try a.snapshotInfo().imageName != nil && b.snapshotInfo().imageName != nil)
    }

    @Test("take of a member whose device was removed fails (open by dev_t → ENXIO) and leaves the snapshot CREATED")
    func removedMember() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 2048)
        let id = try sim.snapshot([device])
        try sim.kernel.removeDevice(name: "sda")
        #expect(errnoOf { try sim.control.takeSnapshot(id) } == ENXIO)
        #expect(sim.kernel.isTaken(snapshot: id.simUUID) == false)
        try sim.control.destroySnapshot(id)
    }

    @Test("image capacity and block sizes come from the original (§4.4); images are named blksnap-image_M:m (§1.1)")
    func imageGeometry() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 8192 + 8, logicalBlockSize: 4096)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        let number = try device.deviceNumber()
        let path = try sim.imagePath(of: device)
        #expect(path == "/dev/blksnap-image_\(number.major):\(number.minor)")
        let image = try BlockDevice(path: path, kernel: sim.backend)
        #expect(try image.capacityBytes() == (8192 + 8) * 512)
        #expect(try image.logicalBlockSize() == 4096)
        #expect(try image.deviceNumber().major == 259)
    }
}

@Suite("Conformance §2.4–§2.5: destroy and what survives")
struct ConformanceDestroyTests {
    @Test("destroy removes images at once (open descriptors then fail EIO)")
    func imagesGone() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 2048)
        let id = try sim.snapshot([device])
        try sim.control.takeSnapshot(id)
        let path = try sim.imagePath(of: device)
        let fd = try sim.open(path)
        try sim.control.destroySnapshot(id)
        #expect(errnoOf { _ = try sim.backend.stat(path) } == ENOENT)
        var buffer = [UInt8](repeating: 0, count: 512)
        #expect(errnoOf { _ = try buffer.withUnsafeMutableBytes { try sim.backend.pread(fd, into: $0, at: 0) } } == EIO)
        #expect(errnoOf { _ = try buffer.withUnsafeBytes { try sim.backend.pwrite(fd, from: $0, at: 0) } } == EIO)
        #expect(try device.snapshotInfo() == SnapshotInfo(errorCode: nil, imageName: nil))
    }

    @Test("the filter stays and keeps tracking; CBT numbers, generation and read map survive; next take continues the numbering")
    func cbtSurvives() throws {
        let sim = try ConformanceSim()
        let device = try sim.addDevice("sda", sectors: 8 * 128)
        #expect(sim.write("/dev/sda", atByte: 0, [1]) == 0)
        let first = try sim.snapshot([device])
        try sim.control.takeSnapshot(first)
        let (info, map) = try device.readCBT()
        #expect(info.changesNumber == 1)
        #expect(map == [1, 0, 0, 0, 0, 0, 0, 0])
        try sim.control.destroySnapshot(first)
        #expect(sim.kernel.listDevices().first { $0.name == "sda" }?.filter == "blksnap")
        let (after, mapAfter) = try device.readCBT()
        #expect(after == info)
        #expect(mapAfter == map)
        // Writes after destroy carry active = 2.
        #expect(sim.write("/dev/sda", atByte: 3 * 65_536, [2]) == 0)
        let second = try sim.snapshot([device])
        try sim.control.takeSnapshot(second)
        let (next, nextMap) = try device.readCBT()
        #expect(next.changesNumber == 2)
        #expect(next.generationID == info.generationID)
        #expect(nextMap == [1, 0, 0, 2, 0, 0, 0, 0])
    }

    @Test("error_code is cleared at destroy (§10.4): corrupted → −28, after destroy → 0")
    func errorClearedAtDestroy() throws {
        let sim = try ConformanceSim { $0.chunkMaximumInQueue = 0 }
        let device = try sim.addDevice("sda", sectors: 4 * 128)
        let id = try sim.snapshot([device], storageSectors: 128)
        try sim.control.takeSnapshot(id)
        #expect(sim.write("/dev/sda", atByte: 0, [1]) == 0)
        #expect(try device.snapshotInfo().errorCode == nil)
        #expect(sim.write("/dev/sda", atByte: 65_536, [1]) == 0)
        #expect(try device.snapshotInfo().errorCode == Errno.noSpace)
        // Raw: the stored code is negative.
        let fd = try sim.open("/dev/sda")
        var info = blksnap_snapshotinfo()
        _ = withUnsafeMutableBytes(of: &info) { sim.rawFilterControl(fd, cmd: 4, optlen: 36, opt: address($0.baseAddress)) }
        #expect(info.error_code == -ENOSPC)
        try sim.control.destroySnapshot(id)
        #expect(try device.snapshotInfo().errorCode == nil)
    }
}
