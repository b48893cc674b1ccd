import BlksnapDrivers
import BlksnapKit
import BlksnapSimulator
@testable import BlksnapVAL7
import BlksnapVAL6
import SimKernel
import SystemPackage
import Testing

/// The drivers' own logic, without a module: what each refuses before any request, how
/// VAL-7.0's low-space events are reported, how image names are read. Their requests are
/// proven on the real modules by scripts/field-lane.sh.
@Suite("Field-module drivers")
struct FieldDriverTests {
    @Test("VAL-7.0 reports a low-space event with the kernel's real increase: twice the payload")
    func val7LowSpaceIsDoubled() {
        #expect(VAL7Driver.actualRequest(.lowFreeSpace(requestedSectors: 8192, timeLabelNanoseconds: 7))
                == .lowFreeSpace(requestedSectors: 16384, timeLabelNanoseconds: 7))
        #expect(VAL7Driver.actualRequest(.lowFreeSpace(requestedSectors: .max, timeLabelNanoseconds: 1))
                == .lowFreeSpace(requestedSectors: .max, timeLabelNanoseconds: 1))
        let corrupted = SnapshotEvent.corrupted(device: DeviceNumber(major: 7, minor: 0), errno: .noSpace, timeLabelNanoseconds: 2)
        #expect(VAL7Driver.actualRequest(corrupted) == corrupted)
    }

    @Test("each ABI's driver, its capabilities and image names")
    func driversAndImageNames() {
        let kernel = SimKernel().kernelInterface
        let v5 = BlksnapDrivers.driver(for: .v5, kernel: kernel)
        let val6 = BlksnapDrivers.driver(for: .val6, kernel: kernel)
        let val7 = BlksnapDrivers.driver(for: .val7, kernel: kernel)
        #expect([v5.abi, val6.abi, val7.abi] == [.v5, .val6, .val7])
        #expect(v5.capabilities == .v5 && val6.capabilities == .val6 && val7.capabilities == .val7)
        #expect([v5.controlPath, val6.controlPath, val7.controlPath] == ["/dev/blksnap-control", "/dev/veeamblksnap", "/dev/veeamblksnap"])
        #expect(val6.capabilities.devicesFixedAtCreate && !val6.capabilities.tracksWithoutSnapshot)
        #expect(val6.capabilities.storageRangeAlignmentSectors == 8)
        #expect(val7.capabilities.storageForms.contains(.kernelGrownFile))
        let original = DeviceNumber(major: 8, minor: 16)
        #expect(v5.imageOriginal(ofNodeName: "blksnap-image_8:16") == ImageNodeName(original: original))
        #expect(val7.imageOriginal(ofNodeName: "veeamblksnapimg_8:16") == ImageNodeName(original: original))
        #expect(val6.imageOriginal(ofNodeName: "veeamblksnapimg3") == ImageNodeName(original: nil))
        #expect(v5.imageOriginal(ofNodeName: "veeamblksnapimg_8:16") == nil)
        #expect(val7.imageOriginal(ofNodeName: "blksnap-image_8:16") == nil)
        #expect(val6.imageOriginal(ofNodeName: "sda") == nil)
    }

    @Test("requests an ABI cannot express are refused before any ioctl, naming the ABI")
    func refusedBeforeTheKernel() {
        let counter = CountingKernel(SimKernel().kernelInterface)
        let fileStorage = SnapshotCreation(devices: ["/dev/x"], storage: .kernelGrown(path: "/var/tmp/diff", limitSectors: 1 << 20))
        for abi in [BlksnapABI.v5, .val6] {
            let driver = BlksnapDrivers.driver(for: abi, kernel: counter)
            #expect {
                _ = try driver.createSnapshot(fileStorage)
            } throws: { error in
                let error = error as! BlksnapError
                return error.errno == .notSupported && error.category == .usage
                    && error.description.contains("not possible on the \(abi.displayName) module")
                    && error.description.contains("VAL-7.0 feature")
            }
        }
        let val7 = BlksnapDrivers.driver(for: .val7, kernel: counter)
        #expect(throws: BlksnapError.self) { _ = try val7.createSnapshot(SnapshotCreation(storage: .sectorRanges(limitSectors: 0))) }
        #expect(throws: BlksnapError.self) {
            _ = try val7.createSnapshot(SnapshotCreation(storage: .kernelGrown(path: "/var/tmp/diff", limitSectors: 0)))
        }
        let val6 = BlksnapDrivers.driver(for: .val6, kernel: counter)
        #expect {
            _ = try val6.createSnapshot(SnapshotCreation(devices: []))
        } throws: { error in
            (error as! BlksnapError).description.contains("name at least one")
        }
        #expect(counter.requests.isEmpty, "no request reached the kernel")
    }
}
