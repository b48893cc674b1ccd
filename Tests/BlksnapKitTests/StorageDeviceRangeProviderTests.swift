import SystemPackage
import Testing
@testable import BlksnapKit
import BlksnapSimulator
import SimKernel

@Suite("Device-range storage provider (checked through the simulator's BLKGETSIZE64/BLKSSZGET)")
struct StorageDeviceRangeProviderTests {
    private func kernel() throws -> (SimKernelBackend, String, String) {
        let kernel = SimKernel()
        let small = try kernel.addDevice(name: "store", capacitySectors: 10_000).path
        let big = try kernel.addDevice(name: "store4k", capacitySectors: 10_000, logicalBlockSize: 4096).path
        return (SimKernelBackend(kernel), small, big)
    }

    @Test("whole device, handed out front to back, then nil")
    func wholeDevice() throws {
        let (backend, path, _) = try kernel()
        let provider = try DeviceRangeProvider(kernel: backend, devicePath: path)
        #expect(provider.deviceCapacitySectors == 10_000)
        #expect(provider.remainingSectors == 10_000)
        #expect(try provider.nextPortion(minimumSectors: 4000) == StoragePortion(devicePath: path, ranges: [SectorRange(offsetSectors: 0, countSectors: 4000)]))
        #expect(try provider.nextPortion(minimumSectors: 4000)?.ranges == [SectorRange(offsetSectors: 4000, countSectors: 4000)])
        #expect(try provider.nextPortion(minimumSectors: 4000)?.ranges == [SectorRange(offsetSectors: 8000, countSectors: 2000)])
        #expect(try provider.nextPortion(minimumSectors: 1) == nil)
        try provider.release()
    }

    @Test("a portion spans several ranges in order")
    func severalRanges() throws {
        let (backend, path, _) = try kernel()
        let provider = try DeviceRangeProvider(kernel: backend, devicePath: path, ranges: [
            SectorRange(offsetSectors: 100, countSectors: 50), SectorRange(offsetSectors: 1000, countSectors: 500)])
        #expect(try provider.nextPortion(minimumSectors: 80)?.ranges == [
            SectorRange(offsetSectors: 100, countSectors: 50), SectorRange(offsetSectors: 1000, countSectors: 30)])
        #expect(provider.remainingSectors == 470)
    }

    @Test("4 KiB logical blocks: requests rounded up, unaligned ranges refused")
    func blockSize() throws {
        let (backend, _, path) = try kernel()
        let provider = try DeviceRangeProvider(kernel: backend, devicePath: path)
        #expect(provider.logicalBlockSizeBytes == 4096)
        #expect(provider.remainingSectors == 10_000)
        #expect(try provider.nextPortion(minimumSectors: 9)?.countSectors == 16)
        #expect {
            _ = try DeviceRangeProvider(kernel: backend, devicePath: path, ranges: [SectorRange(offsetSectors: 4, countSectors: 8)])
        } throws: { ($0 as? StorageError)?.kind == .badRange }
    }

    @Test("ranges past the end, empty or overlapping are refused; a missing device too")
    func refusals() throws {
        let (backend, path, _) = try kernel()
        let cases: [([SectorRange], StorageError.Kind)] = [
            ([SectorRange(offsetSectors: 9_000, countSectors: 1_001)], .rangeOutsideDevice),
            ([SectorRange(offsetSectors: .max, countSectors: 2)], .rangeOutsideDevice),
            ([SectorRange(offsetSectors: 0, countSectors: 0)], .badRange),
            ([SectorRange(offsetSectors: 0, countSectors: 100), SectorRange(offsetSectors: 99, countSectors: 10)], .badRange),
        ]
        for (ranges, kind) in cases {
            #expect {
                _ = try DeviceRangeProvider(kernel: backend, devicePath: path, ranges: ranges)
            } throws: { ($0 as? StorageError)?.kind == kind }
        }
        #expect {
            _ = try DeviceRangeProvider(kernel: backend, devicePath: "/dev/nothere")
        } throws: { error in
            guard let error = error as? StorageError else { return false }
            return error.kind == .deviceQuery && error.errno == .noSuchFileOrDirectory
        }
    }
}
