@testable import BlksnapBackup
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `backup create` with compression on the in-process simulator: the chain is what qemu
/// reads, restore and verify read it through the one reader, the repository's default is
/// recorded once, and a damaged compressed cluster is found.
@Suite("compressed backups on the in-process simulator", .enabled(if: QEMUImg.shouldRun, "\(QEMUImg.reason)"))
struct CompressedBackupTests {
    /// A compressible 8 MiB device content.
    static func content(seed: UInt64) -> [UInt8] {
        CompressionTests.disk(size: BackupRunTests.deviceBytes, seed: seed)
    }

    @Test("zstd full + two incrementals: qemu-img check clean, compare identical, convert equal; restore equal")
    func chain() throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        #expect(try repository.catalog.defaultCompression() == nil)
        var contents = Self.content(seed: 3)
        try fixture.write(contents, at: 0)
        for step in 0..<3 {
            if step > 0 {
                var random = TestRandom(seed: UInt64(step))
                for _ in 0..<6 {
                    let index = Int(random.next(below: UInt64(BackupRunTests.deviceBytes / CompressionTests.cluster)))
                    CompressionTests.fillCluster(&contents, at: index * CompressionTests.cluster, kind: Int(random.next(below: 4)),
                                                 random: &random)
                }
                try fixture.write(contents, at: 0)
            }
            // The first run records zstd:3 as the default; the later ones rely on it.
            let result = try fixture.run(repository, compression: step == 0 ? .zstd(level: 3) : nil)
            let record = try #require(result.records.first)
            #expect(result.compression == .zstd(level: 3))
            #expect(record.compression == "zstd:3")
            #expect(record.type == (step == 0 ? .full : .incremental))
            #expect(record.compressedClusters > 0)
            let path = repository.path(of: record)
            try QEMUImg.checkClean(path)
            let raw = directory.path + "/contents\(step).raw"
            try Data(contents).write(to: URL(fileURLWithPath: raw))
            try QEMUImg.expectIdentical(path, raw: raw)
            #expect(try CompressionTests.convertedToRaw(path, in: directory) == contents)
            let restored = directory.path + "/restored\(step).raw"
            _ = try BackupRestorer(repository: repository).restore(id: try #require(record.id), to: restored)
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: restored))) == contents)
        }
        #expect(try repository.catalog.defaultCompression() == .zstd(level: 3))
        let report = try BackupVerifier(repository: repository).verify(id: nil)
        #expect(report.findings.isEmpty, "\(report.findings)")
        // An explicit --compress applies to its run only; the default stays.
        let zlib = try #require(try fixture.run(repository, compression: .zlib).records.first)
        #expect(zlib.compression == "zlib")
        #expect(try repository.catalog.defaultCompression() == .zstd(level: 3))
    }

    @Test("a repository whose first backup is uncompressed records none", arguments: [false, true])
    func defaultNone(explicit: Bool) throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        try fixture.write(Self.content(seed: 9), at: 0)
        let record = try #require(try fixture.run(repository, compression: explicit ? BackupCompression.none : nil).records.first)
        #expect(record.compression == "none")
        #expect(record.compressedClusters == 0)
        #expect(try repository.catalog.defaultCompression() == BackupCompression.none)
    }

    @Test("a damaged compressed cluster fails its read and is found by verify", arguments: ["zstd", "zlib"])
    func damaged(method: String) throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        try fixture.write(Self.content(seed: 17), at: 0)
        let record = try #require(try fixture.run(repository, compression: try BackupCompression(parsing: method)).records.first)
        let id = try #require(record.id)
        let reader = try BackupChainReader(repository: repository, id: id)
        // The first text-like compressed cluster (its data fills all but the last of its
        // sectors, so a quarter and half of its span are inside it).
        var target: (index: UInt64, offset: UInt64, span: Int)?
        for index in 0..<reader.clusterCount {
            if case .compressed(let descriptor)? = try reader.chain.locate(guestCluster: index)?.mapping, descriptor.spanBytes >= 8192 {
                target = (index, descriptor.fileOffset, descriptor.spanBytes)
                break
            }
        }
        let (index, offset, span) = try #require(target)
        let file = open(repository.path(of: record), O_RDWR)
        try #require(file >= 0)
        for delta in [UInt64(span / 4), UInt64(span / 2)] {
            var byte: UInt8 = 0
            #expect(pread(file, &byte, 1, off_t(offset + delta)) == 1)
            byte ^= 0x5A
            #expect(pwrite(file, &byte, 1, off_t(offset + delta)) == 1)
        }
        close(file)
        let slot = UnsafeMutableRawBufferPointer.allocate(byteCount: reader.clusterSize, alignment: 16)
        defer { slot.deallocate() }
        #expect(throws: BackupError.self) { try reader.readCluster(index, into: slot) }
        do {
            try reader.readCluster(index, into: slot)
        } catch {
            #expect(error.kind == .corrupted)
        }
        let report = try BackupVerifier(repository: repository).verify(id: id)
        #expect(report.findings.contains { $0.fileOffset == offset }, "\(report.findings)")
        #expect(try repository.catalog.record(id: id)?.status == .corrupt)
    }
}
