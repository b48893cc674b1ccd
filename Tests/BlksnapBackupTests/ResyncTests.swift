@testable import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `backup create` after CBT loss on the same device: the whole image is compared with the
/// chain head cluster by cluster, and only what differs is stored, as an increment.
@Suite("resync after CBT loss")
struct ResyncTests {
    static let deviceBytes = 32 << 20
    static let cluster = 65536

    static func detach(_ fixture: BackupRunTests.Fixture) throws {
        let device = try BlockDevice(path: fixture.device, kernel: fixture.backend)
        defer { try? device.close() }
        try device.detach()
    }

    @Test("tracker re-attached, 1 % of clusters changed: the increment stores <= 1.05 x the changed bytes and restores equal to the device")
    func onePercent() throws {
        let fixture = try BackupRunTests.Fixture(deviceBytes: Self.deviceBytes)
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        try fixture.write(DataPattern(seed: 21).bytes(atByte: 0, count: Self.deviceBytes), at: 0)
        let first = try #require(try fixture.run(repository).records.first)
        try Self.detach(fixture)
        // 1 % of the clusters rewritten while no tracker watched (one of them zeroed).
        var random = TestRandom(seed: 22)
        var chosen = Set<Int>()
        let clusters = Self.deviceBytes / Self.cluster
        while chosen.count < clusters / 100 { chosen.insert(Int(random.next(below: UInt64(clusters)))) }
        for (number, index) in chosen.sorted().enumerated() {
            let bytes = number == 0 ? [UInt8](repeating: 0, count: Self.cluster) : DataPattern(seed: 100 + UInt64(index)).bytes(atByte: 0, count: Self.cluster)
            try fixture.write(bytes, at: index * Self.cluster)
        }
        let result = try fixture.run(repository)
        let second = try #require(result.records.first)
        let plan = try #require(result.plans.first)
        #expect(plan.resyncReason?.contains("CBT generation") == true)
        #expect(second.type == .incremental && second.parentId == first.id)
        #expect(second.cbtGeneration != first.cbtGeneration)
        #expect(second.resyncReason == plan.resyncReason)
        let changed = Int64(chosen.count * Self.cluster)
        #expect(second.changedBytes == changed)
        #expect(second.bytesRead == Int64(Self.deviceBytes))
        let stored = second.dataClusters * Int64(Self.cluster)
        #expect(Double(stored) <= 1.05 * Double(changed), "stored \(stored) for \(changed) changed")
        #expect(second.zeroClusters == 1)
        let metadata = second.fileSize - stored
        #expect(metadata <= 5 * Int64(Self.cluster), "metadata \(metadata)")
        print(String(format: "resync: stored ÷ changed %.3f (+ %lld bytes of metadata), read %lld bytes", Double(stored) / Double(changed), metadata, second.bytesRead))
        let target = directory.path + "/restored.raw"
        _ = try BackupRestorer(repository: repository).restore(id: second.id!, to: target)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(try fixture.contents()))
        try QEMUImg.checkClean(repository.path(of: second))
        // The next backup follows the new generation's CBT again.
        try fixture.write(DataPattern(seed: 7).bytes(atByte: 0, count: Self.cluster), at: 3 * Self.cluster)
        let third = try #require(try fixture.run(repository).records.first)
        #expect(third.resyncReason == nil && third.type == .incremental && third.changedBytes == Int64(Self.cluster))
        // --full still forces a full backup.
        let provider = try DeviceRangeProvider(kernel: fixture.backend, devicePath: fixture.storage)
        let full = try BackupRun(repository: repository, kernel: fixture.backend,
                                 configuration: SessionConfiguration(devices: [fixture.device], pollMilliseconds: 10, hz: 1000),
                                 storage: provider, forceFull: true, blockBytes: 1 << 20).run()
        #expect(full.records.first?.type == .full && full.plans.first?.resyncReason == nil)
    }

    @Test("a different device of the same size starts a new chain")
    func otherDevice() throws {
        let fixture = try BackupRunTests.Fixture(deviceBytes: Self.deviceBytes)
        let other = try fixture.machine.addDevice("other0", sectors: UInt64(Self.deviceBytes / 512)).path
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        try fixture.write(DataPattern(seed: 31).bytes(atByte: 0, count: Self.deviceBytes), at: 0)
        _ = try fixture.run(repository)
        let provider = try DeviceRangeProvider(kernel: fixture.backend, devicePath: fixture.storage)
        let result = try BackupRun(repository: repository, kernel: fixture.backend,
                                   configuration: SessionConfiguration(devices: [other], pollMilliseconds: 10, hz: 1000),
                                   storage: provider, blockBytes: 1 << 20).run()
        #expect(result.records.first?.type == .full)
        #expect(result.plans.first?.resyncReason == nil)
        #expect(result.plans.first?.fullReason?.contains("no earlier backup of \(other)") == true)
    }
}
