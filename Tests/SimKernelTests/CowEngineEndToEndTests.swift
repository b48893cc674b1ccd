#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import SystemPackage
import Testing
@testable import SimKernel

/// The COW engine driven through the whole simulator with raw v5 requests (via
/// BlksnapKit's typed calls): the §12 probe facts that depend on the engine.
@Suite("COW engine end to end (§12 facts 1 and 4)")
struct CowEngineEndToEndTests {
    private static let chunkBytes = 65_536

    private struct Rig {
        let kernel: SimKernel
        let backend: SimKernelBackend
        let control: BlksnapKit.Control
        let id: SnapshotID
        let devices: [SimDeviceInfo]
        let fds: [Int32]
    }

    /// Two 64 MiB devices in one snapshot, storage of `storageSectors` sectors, taken.
    private static func rig(storageSectors: UInt64) throws -> Rig {
        var params = Params()
        params.chunkMinimumShift = 16
        params.diffStorageMinimum = 8192
        let kernel = SimKernel(params: params)
        let backend = SimKernelBackend(kernel)
        let devices = try ["cowa", "cowb"].map { try kernel.addDevice(name: $0, capacitySectors: 131_072) }
        _ = try kernel.addDevice(name: "cowst", capacitySectors: storageSectors)
        let control = try BlksnapKit.Control(kernel: backend)
        let id = try control.createSnapshot()
        for device in devices {
            let block = try BlockDevice(path: device.path, kernel: backend)
            try block.attachUnchecked()
            try block.addToSnapshot(id)
            try block.close()
        }
        try control.appendStorageUnchecked(id, devicePath: "/dev/cowst",
                                  ranges: [SectorRange(offsetSectors: 0, countSectors: storageSectors)])
        try control.takeSnapshot(id)
        let fds = devices.map { kernel.open($0.path, flags: O_RDWR) }
        #expect(fds.allSatisfy { $0 >= 0 })
        return Rig(kernel: kernel, backend: backend, control: control, id: id, devices: devices, fds: fds)
    }

    private static func writeChunk(_ rig: Rig, device: Int, chunk: Int) -> Int {
        let bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: chunk + 1), count: 4096)
        return bytes.withUnsafeBytes { rig.kernel.pwrite(rig.fds[device], from: $0, at: UInt64(chunk * chunkBytes)) }
    }

    @Test("fact 1: after CREATE's event, the first threshold event arrives only after the 34th copied chunk")
    func lowSpaceAfterBatches() throws {
        let rig = try Self.rig(storageSectors: 1 << 16)
        let creation = try rig.control.waitEvent(rig.id, timeoutTicks: 0)
        guard case .lowFreeSpace(let requested, _) = creation else {
            Issue.record("expected the creation event, got \(String(describing: creation))")
            return
        }
        #expect(requested == 8192)
        for chunk in 0..<33 {
            #expect(Self.writeChunk(rig, device: 0, chunk: chunk) == 4096)
            #expect(try rig.control.waitEvent(rig.id, timeoutTicks: 0) == nil, "event after copy \(chunk + 1)")
        }
        #expect(Self.writeChunk(rig, device: 0, chunk: 33) == 4096)
        let event = try rig.control.waitEvent(rig.id, timeoutTicks: 0)
        guard case .lowFreeSpace(let second, _) = event else {
            Issue.record("expected a low-space event, got \(String(describing: event))")
            return
        }
        #expect(second == 8192)
        // The image still shows the data of take time (zeros) for a copied chunk.
        let image = rig.kernel.open("/dev/blksnap-image_\(rig.devices[0].major):\(rig.devices[0].minor)", flags: O_RDONLY)
        #expect(image >= 0)
        var bytes = [UInt8](repeating: 0xEE, count: 4096)
        let read = bytes.withUnsafeMutableBytes { rig.kernel.pread(image, into: $0, at: UInt64(5 * Self.chunkBytes)) }
        #expect(read == 4096)
        #expect(bytes.allSatisfy { $0 == 0 })
        try rig.control.destroySnapshot(rig.id)
    }

    @Test("fact 4: after overflow the second device works from RAM for 16 chunks, then fails with its own event")
    func sharedStorageOverflow() throws {
        // Room for 20 chunks.
        let rig = try Self.rig(storageSectors: 20 * 128)
        _ = try rig.control.waitEvent(rig.id, timeoutTicks: 0)  // creation event
        for chunk in 0..<34 { _ = Self.writeChunk(rig, device: 0, chunk: chunk) }
        let first = try rig.control.waitEvent(rig.id, timeoutTicks: 0)
        guard case .corrupted(let device, let errno, _) = first else {
            Issue.record("expected a corrupted event, got \(String(describing: first))")
            return
        }
        #expect(device == DeviceNumber(major: rig.devices[0].major, minor: rig.devices[0].minor))
        #expect(errno == .noSpace)
        let infoA = try BlockDevice(path: rig.devices[0].path, kernel: rig.backend).snapshotInfo()
        #expect(infoA.errorCode == .noSpace)
        // Device B: 16 chunks stay in RAM, no event, image fine.
        for chunk in 0..<16 { #expect(Self.writeChunk(rig, device: 1, chunk: chunk) == 4096) }
        #expect(try rig.control.waitEvent(rig.id, timeoutTicks: 0) == nil)
        let imageB = rig.kernel.open("/dev/blksnap-image_\(rig.devices[1].major):\(rig.devices[1].minor)", flags: O_RDONLY)
        var bytes = [UInt8](repeating: 0xEE, count: 512)
        #expect(bytes.withUnsafeMutableBytes { rig.kernel.pread(imageB, into: $0, at: 0) } == 512)
        #expect(bytes.allSatisfy { $0 == 0 })
        // The 17th chunk of B triggers its first store, which fails.
        _ = Self.writeChunk(rig, device: 1, chunk: 16)
        let second = try rig.control.waitEvent(rig.id, timeoutTicks: 0)
        guard case .corrupted(let deviceB, let errnoB, _) = second else {
            Issue.record("expected a corrupted event, got \(String(describing: second))")
            return
        }
        #expect(deviceB == DeviceNumber(major: rig.devices[1].major, minor: rig.devices[1].minor))
        #expect(errnoB == .noSpace)
        #expect(bytes.withUnsafeMutableBytes { rig.kernel.pread(imageB, into: $0, at: 0) } == -Int(EIO))
        #expect(try rig.control.waitEvent(rig.id, timeoutTicks: 0) == nil)
        try rig.control.destroySnapshot(rig.id)
    }
}
