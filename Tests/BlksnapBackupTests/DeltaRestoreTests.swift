@testable import BlksnapBackup
import BlksnapSimulator
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `backup restore --delta`: the target is read, only the clusters that differ are written.
@Suite("delta restore")
struct DeltaRestoreTests {
    static let deviceBytes = 16 << 20
    static let cluster = 65536

    @Test("a target that differs in 1 % of its clusters: bytes written = differing bytes, result equal to the point")
    func onePercent() throws {
        let fixture = try BackupRunTests.Fixture(deviceBytes: Self.deviceBytes)
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        try fixture.write(DataPattern(seed: 41).bytes(atByte: 0, count: Self.deviceBytes), at: 0)
        let record = try #require(try fixture.run(repository).records.first)
        let expected = try fixture.contents()
        let target = directory.path + "/target.raw"
        _ = try BackupRestorer(repository: repository).restore(id: record.id!, to: target)
        // 1 % of the clusters changed (one partly, one zeroed), plus a few bytes in another.
        var random = TestRandom(seed: 42)
        var chosen = Set<Int>()
        let clusters = Self.deviceBytes / Self.cluster
        while chosen.count < clusters / 100 { chosen.insert(Int(random.next(below: UInt64(clusters)))) }
        let file = try HostFile(path: target, flags: O_WRONLY)
        for (number, index) in chosen.sorted().enumerated() {
            let bytes = number == 0 ? [UInt8](repeating: 0, count: Self.cluster) : DataPattern(seed: UInt64(index)).bytes(atByte: 0, count: number == 1 ? 100 : Self.cluster)
            try file.write(bytes, at: UInt64(index * Self.cluster + (number == 1 ? 1000 : 0)))
        }
        file.close()
        let summary = try BackupRestorer(repository: repository).restore(id: record.id!, to: target, delta: true)
        #expect(summary.method == "compare")
        let differing = UInt64(chosen.count * Self.cluster)
        #expect(summary.bytesWritten == differing, "wrote \(summary.bytesWritten) for \(differing) differing")
        #expect(summary.targetBytesRead == UInt64(Self.deviceBytes))
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(expected))
        // Again: nothing differs, nothing is written.
        let again = try BackupRestorer(repository: repository).restore(id: record.id!, to: target, delta: true)
        #expect(again.bytesWritten == 0)
        // A shorter target is grown; a missing one is restored in full.
        try FileManager.default.removeItem(atPath: target)
        let fresh = try BackupRestorer(repository: repository).restore(id: record.id!, to: target, delta: true)
        #expect(fresh.method == "full")
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(expected))
        let short = directory.path + "/short.raw"
        try Data(expected.prefix(Self.deviceBytes / 2)).write(to: URL(fileURLWithPath: short))
        let grown = try BackupRestorer(repository: repository).restore(id: record.id!, to: short, delta: true)
        #expect(grown.bytesWritten <= UInt64(Self.deviceBytes / 2))
        #expect(try Data(contentsOf: URL(fileURLWithPath: short)) == Data(expected))
        // A damaged backup cluster that is to be written is caught by its hash check.
        let damaged = try #require(try repository.catalog.clusters(of: record.id!).first { $0.kind == .data && $0.guestOffset == 0 })
        let qcow2 = try HostFile(path: repository.path(of: record), flags: O_WRONLY)
        try qcow2.write([0x5A], at: damaged.fileOffset + 7)
        qcow2.close()
        let scribbled = try HostFile(path: target, flags: O_WRONLY)
        try scribbled.write([UInt8](repeating: 0xA5, count: 512), at: 0)
        scribbled.close()
        #expect(throws: BackupError.self) { try BackupRestorer(repository: repository).restore(id: record.id!, to: target, delta: true) }
        print("delta restore: wrote \(summary.bytesWritten) for \(differing) differing bytes (ratio \(Double(summary.bytesWritten) / Double(differing))), read \(summary.targetBytesRead)")
    }
}
