@testable import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `BackupRun` on an in-process simulator: the backup is the image at take even while
/// the original is overwritten during the copy, and increments chain correctly.
@Suite("backup run on the in-process simulator")
struct BackupRunTests {
    static let deviceBytes = 8 << 20

    /// A ``SimMachine`` with one original and one storage device.
    struct Fixture: Sendable {
        let machine: SimMachine
        let device: String
        let storage: String
        let deviceBytes: Int
        var backend: SimKernelBackend { machine.backend }

        init(deviceBytes: Int = BackupRunTests.deviceBytes) throws {
            self.deviceBytes = deviceBytes
            machine = SimMachine(params: SimMachine.smallParams())
            device = try machine.addDevice("orig0", sectors: UInt64(deviceBytes / 512)).path
            storage = try machine.addDevice("store", sectors: 1 << 18).path
        }

        func write(_ bytes: [UInt8], at offset: Int) throws {
            try machine.write(bytes, to: device, atByte: UInt64(offset))
        }

        func contents() throws -> [UInt8] { try machine.readAll(device) }

        func run(_ repository: BackupRepository, compression: BackupCompression? = nil, takenAt: Date? = nil,
                 onFirstBlock: (@Sendable () -> Void)? = nil) throws -> BackupRunResult {
            let provider = try DeviceRangeProvider(kernel: backend, devicePath: storage)
            let fired = Mutex(false)
            let run = BackupRun(repository: repository, kernel: backend,
                                configuration: SessionConfiguration(devices: [device], pollMilliseconds: 10, hz: 1000),
                                storage: provider, blockBytes: 1 << 20, compression: compression, takenAt: takenAt) { event in
                if case .progress = event, let onFirstBlock, fired.withLock({ let was = $0; $0 = true; return !was }) {
                    onFirstBlock()
                }
            }
            return try run.run()
        }
    }

    static func readChain(_ path: String) throws -> [UInt8] {
        try QCOW2WriterTests.readBack(path)
    }

    @Test("writes during the copy do not reach the backup; the next increment holds exactly them")
    func pointInTime() throws {
        let fixture = try Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        let before = DataPattern(seed: 1).bytes(atByte: 0, count: Self.deviceBytes)
        try fixture.write(before, at: 0)
        // Overwrite 3 MiB from 4 MiB on while the first block is being copied.
        let overwrite = DataPattern(seed: 2).bytes(atByte: 0, count: 3 << 20)
        let full = try fixture.run(repository, onFirstBlock: { try? fixture.write(overwrite, at: 4 << 20) })
        let record = try #require(full.records.first)
        #expect(record.type == .full)
        let fullPath = repository.path(of: record)
        try QEMUImg.checkClean(fullPath)
        #expect(try Self.readChain(fullPath) == before, "the full backup is the image at take, not the device after the writes")
        let after = try fixture.contents()
        #expect(after[(4 << 20)..<(7 << 20)].elementsEqual(overwrite))

        let increment = try fixture.run(repository)
        let next = try #require(increment.records.first)
        #expect(next.type == .incremental)
        #expect(next.parentId == record.id)
        #expect(next.changedBytes == 3 << 20, "exactly the overwritten range changed (CBT blocks of 64 KiB)")
        #expect(next.bytesRead == 3 << 20)
        #expect(next.dataClusters == 48)
        let nextPath = repository.path(of: next)
        try QEMUImg.checkClean(nextPath)
        #expect(try Self.readChain(nextPath) == after)
        let raw = directory.path + "/after.raw"
        try Data(after).write(to: URL(fileURLWithPath: raw))
        try QEMUImg.expectIdentical(nextPath, raw: raw)
        // Every cluster the catalog holds for it matches what verify re-reads.
        let report = try BackupVerifier(repository: repository).verify(id: nil)
        #expect(report.findings.isEmpty, "\(report.findings)")
        #expect(report.backupIDs.count == 2)
    }

    @Test("an increment that zeroes clusters hides the parent's data; restore gives the point in time")
    func zeroedClusters() throws {
        let fixture = try Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        try fixture.write(DataPattern(seed: 3).bytes(atByte: 0, count: Self.deviceBytes), at: 0)
        _ = try fixture.run(repository)
        try fixture.write([UInt8](repeating: 0, count: 1 << 20), at: 2 << 20)
        let increment = try #require(try fixture.run(repository).records.first)
        #expect(increment.zeroClusters == 16)
        #expect(increment.dataClusters == 0)
        let expected = try fixture.contents()
        #expect(try Self.readChain(repository.path(of: increment)) == expected)
        let target = directory.path + "/restored.raw"
        let summary = try BackupRestorer(repository: repository).restore(id: increment.id!, to: target)
        #expect(summary.virtualSize == UInt64(Self.deviceBytes))
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(expected))
        // A second restore onto the existing file is refused without overwrite.
        #expect(throws: BackupError.self) { try BackupRestorer(repository: repository).restore(id: increment.id!, to: target) }
    }
}
