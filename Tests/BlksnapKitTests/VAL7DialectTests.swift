#if canImport(Glibc)
import Glibc
#endif
import BlksnapDrivers
import BlksnapKit
import BlksnapSimulator
import BlksnapVAL7
import SimKernel
import SystemPackage
import Testing

/// SimKernel speaking VAL-7.0 (`veeam-field-modules.md` §2), driven through the library's
/// own VAL7Driver: the nodes, the request numbers and struct bytes, the swapped event
/// codes and the range-mode storage rules, each as the field spec and the real module
/// (field lane) have them.
@Suite("SimKernel VAL-7.0 dialect")
struct VAL7DialectTests {
    /// A VAL-7.0 simulator with `/dev/sda` (8 MiB unless asked), `/dev/store` (128 MiB),
    /// 64 KiB chunks and a 4 MiB `diff_storage_minimum` unless asked, and its driver.
    struct Machine {
        let sim: SimKernel
        let driver: VAL7Driver
        let control: Control

        init(minimumSectors: UInt32 = 8192, originalSectors: UInt64 = 16384) throws {
            var params = Params()
            params.chunkMinimumShift = 16
            params.diffStorageMinimum = minimumSectors
            sim = SimKernel(params: params, dialect: .val7)
            _ = try sim.addDevice(name: "sda", capacitySectors: originalSectors)
            _ = try sim.addDevice(name: "store", capacitySectors: 262144)
            driver = VAL7Driver(kernel: sim.kernelInterface)
            control = try Control(driver: driver)
        }

        func device(_ name: String, flags: Int32 = O_RDONLY) throws -> BlockDevice {
            try BlockDevice(path: "/dev/\(name)", driver: driver, flags: flags)
        }

        /// `count` bytes of `path` at `offset`.
        func read(_ path: String, offset: UInt64, count: Int) throws -> [UInt8] {
            let kernel = sim.kernelInterface
            let fd = try kernel.open(path, flags: O_RDONLY)
            defer { try? kernel.close(fd) }
            var bytes = [UInt8](repeating: 0, count: count)
            let read = try bytes.withUnsafeMutableBytes { try kernel.pread(fd, into: $0, at: offset) }
            #expect(read == count)
            return bytes
        }

        func write(_ path: String, offset: UInt64, bytes: [UInt8]) throws {
            let kernel = sim.kernelInterface
            let fd = try kernel.open(path, flags: O_RDWR)
            defer { try? kernel.close(fd) }
            let written = try bytes.withUnsafeBytes { try kernel.pwrite(fd, from: $0, at: offset) }
            #expect(written == bytes.count)
        }
    }

    @Test("the namespace: /dev/veeamblksnap and /dev/bdevfilter, no v5 node; detection says VAL-7.0 7.0.0.0")
    func nodesAndDetection() throws {
        let machine = try Machine()
        let kernel = machine.sim.kernelInterface
        #expect(throws: Errno.noSuchFileOrDirectory) { _ = try kernel.stat("/dev/blksnap-control") }
        #expect(try kernel.stat("/dev/veeamblksnap").isCharacterDevice)
        #expect(try kernel.stat("/dev/bdevfilter").isCharacterDevice)
        #expect(try machine.control.version() == Version(major: 7, minor: 0, revision: 0, build: 0))
        let detected = try BlksnapDrivers.detect(kernel: kernel, override: nil)
        #expect(detected.driver.abi == .val7)
        // v5's filter ioctls on the block device do not exist on VAL-7.0's kernel.
        let sda = try machine.device("sda")
        let v5 = BlksnapDrivers.driver(for: .v5, kernel: kernel)
        #expect(throws: BlksnapError.self) { try v5.attach(try BlockDevice(path: "/dev/sda", driver: v5)) }
        try sda.close()
    }

    @Test("a range-mode snapshot end to end: creation event with code 1, append, take, COW, image, CBT, destroy")
    func rangeModeLifecycle() throws {
        let machine = try Machine()
        let sda = try machine.device("sda")
        try sda.attachUnchecked()
        #expect(try sda.cbtInfo().changesNumber == 0)
        let before = try machine.read("/dev/sda", offset: 0, count: 65536)
        let id = try machine.control.createSnapshot(SnapshotCreation(devices: [], storage: .sectorRanges(limitSectors: 1 << 20)))
        try sda.addToSnapshot(id)
        // The creation event: portion min(minimum, limit) = 8192, which raised `requested`
        // by twice that; the driver reports the real increase.
        let event = try machine.control.waitEvent(id, timeoutTicks: 0)
        guard case .lowFreeSpace(let requested, _)? = event else {
            Issue.record("expected low_free_space, got \(String(describing: event))")
            return
        }
        #expect(requested == 16384)
        #expect(machine.sim.storageCounters(snapshot: SimUUID(bytes: id.rawValue))?.requestedSectors == 16384)
        try machine.control.appendStorageUnchecked(id, devicePath: "/dev/store", ranges: [SectorRange(offsetSectors: 0, countSectors: 16384)])
        try machine.control.takeSnapshot(id)
        let info = try sda.snapshotInfo()
        #expect(info.imageName?.hasPrefix("veeamblksnapimg_") == true)
        try machine.write("/dev/sda", offset: 0, bytes: [UInt8](repeating: 0xAB, count: 65536))
        #expect(try machine.read("/dev/\(info.imageName!)", offset: 0, count: 65536) == before)
        #expect(try machine.read("/dev/sda", offset: 0, count: 4) == [0xAB, 0xAB, 0xAB, 0xAB])
        #expect(try sda.cbtInfo().changesNumber == 1)
        try machine.control.destroySnapshot(id)
        #expect(try machine.control.collectSnapshots().isEmpty)
        try sda.close()
    }

    @Test("appending only the event's payload: no further warning, the storage overflows and the corrupted event has code 0")
    func payloadOnlyOverflows() throws {
        let machine = try Machine(minimumSectors: 1024)  // 512 KiB portions, 8 chunks of 64 KiB
        let sda = try machine.device("sda")
        try sda.attachUnchecked()
        let id = try machine.control.createSnapshot(SnapshotCreation(devices: [], storage: .sectorRanges(limitSectors: 1 << 20)))
        try sda.addToSnapshot(id)
        _ = try machine.control.waitEvent(id, timeoutTicks: 0)
        // What the spec's reader would append: the payload, 1024 sectors.
        try machine.control.appendStorageUnchecked(id, devicePath: "/dev/store", ranges: [SectorRange(offsetSectors: 0, countSectors: 1024)])
        let uuid = SimUUID(bytes: id.rawValue)
        let counters = try #require(machine.sim.storageCounters(snapshot: uuid))
        #expect([counters.capacitySectors, counters.filledSectors, counters.requestedSectors] == [1024, 0, 2048])
        try machine.control.takeSnapshot(id)
        // 32 chunks of COW: 8 fit, then no range is left.
        for chunk in 0..<32 {
            try machine.write("/dev/sda", offset: UInt64(chunk) * 65536, bytes: [UInt8](repeating: 1, count: 4096))
        }
        let event = try machine.control.waitEvent(id, timeoutTicks: 250)
        guard case .corrupted(_, let errno, _)? = event else {
            Issue.record("expected corrupted, got \(String(describing: event))")
            return
        }
        #expect(errno == .noSpace)
        #expect(machine.sim.pendingEventCount(snapshot: uuid) == 0, "no low_free_space event came in between")
        #expect(try sda.snapshotInfo().errorCode == .noSpace)
        try machine.control.destroySnapshot(id)
    }

    @Test("appending what the driver reports (twice the payload) keeps the warnings coming and the snapshot healthy")
    func doubledAppendKeepsUp() throws {
        // 4 MiB portions (64 chunks): a warning comes with 32 chunks left, more than the
        // 17 chunks one store batch takes, so answering between writes keeps up.
        let machine = try Machine(minimumSectors: 8192, originalSectors: 65536)
        let sda = try machine.device("sda")
        try sda.attachUnchecked()
        let id = try machine.control.createSnapshot(SnapshotCreation(devices: [], storage: .sectorRanges(limitSectors: 1 << 20)))
        try sda.addToSnapshot(id)
        var next: UInt64 = 0
        func answer() throws {
            while let event = try machine.control.waitEvent(id, timeoutTicks: 0) {
                guard case .lowFreeSpace(let sectors, _) = event else {
                    Issue.record("unexpected \(event)")
                    return
                }
                try machine.control.appendStorageUnchecked(id, devicePath: "/dev/store",
                                                  ranges: [SectorRange(offsetSectors: next, countSectors: sectors)])
                next += sectors
            }
        }
        try answer()
        try machine.control.takeSnapshot(id)
        var warnings = 0
        for chunk in 0..<512 {
            try machine.write("/dev/sda", offset: UInt64(chunk) * 65536, bytes: [UInt8](repeating: 2, count: 4096))
            let appended = next
            try answer()
            if next > appended { warnings += 1 }
        }
        #expect(try sda.snapshotInfo().errorCode == nil)
        // requested 16384 at create, +16384 at each warning; a warning comes when at most
        // 4096 sectors are left: after 96, 224, 352 and 480 chunks stored.
        #expect(warnings == 4, "threshold warnings after the creation event")
        let counters = try #require(machine.sim.storageCounters(snapshot: SimUUID(bytes: id.rawValue)))
        // 512 chunks written, the last ones still queued in memory (stored in batches of 17).
        #expect(counters.filledSectors > 480 * 128 && counters.filledSectors <= 512 * 128)
        #expect(counters.capacitySectors >= counters.filledSectors)
        try machine.control.destroySnapshot(id)
    }

    @Test("block-device storage: used whole from sector 4096, no events, the device itself is ignored as a member")
    func blockDeviceStorage() throws {
        let machine = try Machine()
        let sda = try machine.device("sda"), store = try machine.device("store")
        try sda.attachUnchecked()
        try store.attachUnchecked()
        let id = try machine.control.createSnapshot(SnapshotCreation(devices: [], storage: .kernelGrown(path: "/dev/store", limitSectors: 65536)))
        #expect(try machine.control.waitEvent(id, timeoutTicks: 0) == nil)
        try sda.addToSnapshot(id)
        // The raw answer is 0 and nothing is added (the driver refuses it before that).
        #expect(throws: BlksnapError.self) { try store.addToSnapshot(id) }
        try machine.control.takeSnapshot(id)
        #expect(try store.snapshotInfo().imageName == nil)
        let counters = try #require(machine.sim.storageCounters(snapshot: SimUUID(bytes: id.rawValue)))
        #expect([counters.capacitySectors, counters.filledSectors, counters.requestedSectors] == [262144, 4096, 262144])
        try machine.write("/dev/sda", offset: 0, bytes: [UInt8](repeating: 3, count: 4096))
        #expect(machine.sim.storageCounters(snapshot: SimUUID(bytes: id.rawValue))?.filledSectors == 4096)
        try machine.control.destroySnapshot(id)
    }

    @Test("take without storage succeeds (no check) and the first store corrupts; a file path is ENOENT in the simulator")
    func noStorageAndFilePaths() throws {
        let machine = try Machine()
        let sda = try machine.device("sda")
        try sda.attachUnchecked()
        let id = try machine.control.createSnapshot(SnapshotCreation(devices: [], storage: .sectorRanges(limitSectors: 1 << 20)))
        try sda.addToSnapshot(id)
        try machine.control.takeSnapshot(id)
        // The first store batch (17 chunks) finds no range.
        for chunk in 0..<20 {
            try machine.write("/dev/sda", offset: UInt64(chunk) * 65536, bytes: [UInt8](repeating: 4, count: 4096))
        }
        #expect(try sda.snapshotInfo().errorCode == .noSpace)
        try machine.control.destroySnapshot(id)
        #expect {
            _ = try machine.control.createSnapshot(SnapshotCreation(devices: [], storage: .kernelGrown(path: "/var/tmp/diff", limitSectors: 1 << 20)))
        } throws: { ($0 as? BlksnapError)?.errno == .noSuchFileOrDirectory }
    }
}
