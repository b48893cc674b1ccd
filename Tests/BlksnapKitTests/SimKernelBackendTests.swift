import BlksnapKit
import BlksnapSimulator
import SimKernel
import SystemPackage
import Testing

/// BlksnapKit end to end against the in-process simulator: the same requests and
/// bytes as against the kernel, through ``SimKernelBackend``.
@Suite("BlksnapKit on SimKernel")
struct SimKernelBackendTests {
    static let gibSectors: UInt64 = 2_097_152

    /// A simulator with a 1 GiB original `/dev/sda` and a 1 GiB storage device `/dev/store`.
    func makeKernel() throws -> SimKernel {
        let sim = SimKernel()
        _ = try sim.addDevice(name: "sda", capacitySectors: Self.gibSectors)
        _ = try sim.addDevice(name: "store", capacitySectors: Self.gibSectors)
        return sim
    }

    @Test("the backend maps negative returns to Errno and stat to KernelFileStatus")
    func backendBasics() throws {
        let sim = try makeKernel()
        let backend = sim.kernelInterface
        #expect(throws: Errno.noSuchFileOrDirectory) { try backend.open("/dev/no-such-disk", flags: 0) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try backend.stat("/dev/no-such-disk") }
        let info = try #require(sim.listDevices().first { $0.name == "sda" })
        let status = try backend.stat("/dev/sda")
        #expect(status.isBlockDevice)
        #expect(status.deviceNumber == DeviceNumber(major: info.major, minor: info.minor))
        #expect(try backend.stat("/dev/blksnap-control").isCharacterDevice)
        #expect(throws: Errno.badFileDescriptor) { try backend.close(999) }
    }

    @Test("version, geometry and the tracker lifecycle")
    func trackerLifecycle() throws {
        let sim = try makeKernel()
        let control = try Control(kernel: sim.kernelInterface)
        #expect(try control.version() == .v5)

        let device = try BlockDevice(path: "/dev/sda", kernel: sim.kernelInterface)
        #expect(try device.capacityBytes() == 1 << 30)
        #expect(try device.logicalBlockSize() == 512)
        let info = try #require(sim.listDevices().first { $0.name == "sda" })
        #expect(try device.deviceNumber() == DeviceNumber(major: info.major, minor: info.minor))

        let untracked = try #require(throws: BlksnapError.self) { try device.cbtInfo() }
        #expect(untracked.description.contains("device /dev/sda is not tracked: attach it first (ENOENT)"))

        try device.attachUnchecked()
        let again = try #require(throws: BlksnapError.self) { try device.attachUnchecked() }
        #expect(again.errno == .alreadyInProcess)

        let cbt = try device.cbtInfo()
        #expect(cbt.capacityBytes == 1 << 30)
        #expect(cbt.blockSizeBytes == 65536)
        #expect(cbt.blockCount == 16384)
        #expect(cbt.changesNumber == 0)
        #expect(try device.readWholeCBTMap() == [UInt8](repeating: 0, count: 16384))

        try device.detach()
        #expect(throws: BlksnapError.self) { try device.cbtInfo() }
        let detached = try #require(throws: BlksnapError.self) { try device.detach() }
        #expect(detached.errno == .noSuchFileOrDirectory)
    }

    @Test("snapshot lifecycle with the v5 errno on each path")
    func snapshotLifecycle() throws {
        let sim = try makeKernel()
        let control = try Control(kernel: sim.kernelInterface)
        let device = try BlockDevice(path: "/dev/sda", kernel: sim.kernelInterface)
        try device.attachUnchecked()

        let id = try control.createSnapshot()
        #expect(try control.collectSnapshots() == [id])
        // v5 queues one low_free_space event at creation.
        let first = try control.waitEvent(id, timeoutTicks: 0)
        guard case .lowFreeSpace(let requested, _) = first else {
            Issue.record("expected the creation event, got \(String(describing: first))")
            return
        }
        #expect(requested == 2_097_152)
        #expect(try control.waitEvent(id, timeoutTicks: 0) == nil, "ENOENT is the timeout")

        let noDevices = try #require(throws: BlksnapError.self) { try control.takeSnapshot(id) }
        #expect(noDevices.errno == .operationNotSupportedByDevice)
        #expect(noDevices.description.contains("has no devices"))

        try device.addToSnapshot(id)
        let twice = try #require(throws: BlksnapError.self) { try device.addToSnapshot(id) }
        #expect(twice.errno == .alreadyInProcess)

        let noStorage = try #require(throws: BlksnapError.self) { try control.takeSnapshot(id) }
        #expect(noStorage.errno == .badAddress)
        #expect(noStorage.description.contains("no difference storage"))

        let missingStorage = try #require(throws: BlksnapError.self) {
            try control.appendStorageUnchecked(id, devicePath: "/dev/nothing", ranges: [SectorRange(offsetSectors: 0, countSectors: 8)])
        }
        #expect(missingStorage.errno == .noSuchFileOrDirectory)

        try control.appendStorageUnchecked(id, devicePath: "/dev/store", ranges: [SectorRange(offsetSectors: 0, countSectors: Self.gibSectors)])
        try control.takeSnapshot(id)
        let taken = try #require(throws: BlksnapError.self) { try control.takeSnapshot(id) }
        #expect(taken.errno == .alreadyInProcess)

        let info = try device.snapshotInfo()
        let sda = try #require(sim.listDevices().first { $0.name == "sda" })
        #expect(info.imageName == "blksnap-image_\(sda.major):\(sda.minor)")
        #expect(info.imagePath == "/dev/blksnap-image_\(sda.major):\(sda.minor)")
        #expect(info.errorCode == nil)
        #expect(try device.cbtInfo().changesNumber == 1)

        // Another snapshot cannot take the device.
        let other = try control.createSnapshot()
        #expect(try control.collectSnapshots() == [id, other])
        let busy = try #require(throws: BlksnapError.self) { try device.addToSnapshot(other) }
        #expect(busy.errno == .resourceBusy)
        #expect(busy.description.contains("belongs to another snapshot"))

        try control.destroySnapshot(id)
        let destroyed = try #require(throws: BlksnapError.self) { try control.destroySnapshot(id) }
        #expect(destroyed.errno == .operationNotSupportedByDevice)
        #expect(destroyed.description.contains("no such snapshot"))
        let gone = try #require(throws: BlksnapError.self) { try control.waitEvent(id, timeoutTicks: 0) }
        #expect(gone.errno == .noSuchProcess)
        #expect(try device.snapshotInfo() == SnapshotInfo(errorCode: nil, imageName: nil))
        try control.destroySnapshot(other)
        #expect(try control.collectSnapshots() == [])
    }

    @Test("markDirty marks every range, not only the first (v5's cbtdirty quirk is avoided)")
    func markDirtyAllRanges() throws {
        let sim = try makeKernel()
        let control = try Control(kernel: sim.kernelInterface)
        let device = try BlockDevice(path: "/dev/sda", kernel: sim.kernelInterface)
        try device.attachUnchecked()
        let id = try control.createSnapshot()
        try device.addToSnapshot(id)
        try control.appendStorageUnchecked(id, devicePath: "/dev/store", ranges: [SectorRange(offsetSectors: 0, countSectors: Self.gibSectors)])
        try control.takeSnapshot(id)

        // 64 KiB CBT blocks = 128 sectors: block 0, block 32 and block 16383.
        try device.markDirty([SectorRange(offsetSectors: 0, countSectors: 8),
                              SectorRange(offsetSectors: 32 * 128, countSectors: 1),
                              SectorRange(offsetSectors: 0, countSectors: 0),
                              SectorRange(offsetSectors: Self.gibSectors - 1, countSectors: 1)])
        let map = try device.readWholeCBTMap(chunkBytes: 1000)
        #expect(map.count == 16384)
        #expect(map[0] == 1 && map[32] == 1 && map[16383] == 1)
        #expect(map.filter { $0 != 0 }.count == 3)

        let beyond = try #require(throws: BlksnapError.self) {
            try device.markDirty([SectorRange(offsetSectors: Self.gibSectors, countSectors: 1)])
        }
        #expect(beyond.errno == .invalidArgument)
        let past = try #require(throws: BlksnapError.self) { try device.cbtMap(offset: 16384, length: 1) }
        #expect(past.errno == .noData)
        try control.destroySnapshot(id)
    }

    @Test("an interrupted wait throws EINTR")
    func interruptedWait() throws {
        let sim = try makeKernel()
        let control = try Control(kernel: SimKernelBackend(sim, interrupted: { true }))
        let id = try control.createSnapshot()
        _ = try control.waitEvent(id, timeoutTicks: 0)  // the creation event
        let error = try #require(throws: BlksnapError.self) { try control.waitEvent(id, timeoutTicks: 25_000) }
        #expect(error.errno == .interrupted)
        #expect(error.description.contains("interrupted by a signal (EINTR)"))
        try control.destroySnapshot(id)
    }

    @Test("closing returns the simulator's descriptor")
    func closeReturnsDescriptor() throws {
        let sim = try makeKernel()
        let control = try Control(kernel: sim.kernelInterface)
        try control.close()
        #expect(throws: BlksnapError.self) { try control.version() }
    }
}
