@testable import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A chain of 1 full + `increments` increments of a 4 MiB simulated device, one backup a
/// simulated day (03:00 UTC from Monday 2026-01-05), random writes between them; the
/// image at each take is kept to compare against.
final class PruneChain: @unchecked Sendable {
    static let deviceBytes = 4 << 20
    static let firstDay = Date(timeIntervalSince1970: 1_767_582_000)  // 2026-01-05T03:00:00Z, a Monday

    let directory: TemporaryDirectory
    let repositoryPath: String
    /// The image at each take, by backup id.
    var images: [Int64: [UInt8]] = [:]
    /// The raw files of those images, by backup id.
    var raws: [Int64: String] = [:]

    /// `compression` chooses each day's storing (nil: the repository default, none);
    /// `compressible` writes bytes of 3 random bits each, which the codecs shrink.
    init(increments: Int = 30, seed: UInt64 = 0x5EED, compressible: Bool = false,
         compression: (Int) -> BackupCompression? = { _ in nil }) throws {
        directory = try TemporaryDirectory()
        repositoryPath = directory.path + "/repo"
        let fixture = try BackupRunTests.Fixture(deviceBytes: Self.deviceBytes)
        let repository = try BackupRepository(directory: repositoryPath, create: true)
        var random = TestRandom(seed: seed)
        var first = [UInt8](repeating: 0, count: Self.deviceBytes / 2)
        random.fill(&first)
        if compressible { first = first.map { $0 & 0x07 } }
        try fixture.write(first, at: Self.deviceBytes / 4)
        for day in 0...increments {
            if day > 0 {
                for _ in 0..<Int(random.next(below: 6) + 2) {
                    let length = Int(random.next(below: 48) + 1) * 4096
                    let offset = Int(random.next(below: UInt64((Self.deviceBytes - length) / 4096))) * 4096
                    var bytes = [UInt8](repeating: 0, count: length)
                    if random.next(below: 8) != 0 { random.fill(&bytes) }  // now and then a run of zeroes
                    if compressible { bytes = bytes.map { $0 & 0x07 } }
                    try fixture.write(bytes, at: offset)
                }
            }
            let taken = Self.firstDay.addingTimeInterval(Double(day) * 86_400 + Double(random.next(below: 3_600)))
            let result = try fixture.run(repository, compression: compression(day), takenAt: taken)
            let record = try #require(result.records.first)
            let id = try #require(record.id)
            #expect(record.type == (day == 0 ? .full : .incremental))
            let image = try fixture.contents()
            images[id] = image
            let raw = directory.path + "/point-\(id).raw"
            try Data(image).write(to: URL(fileURLWithPath: raw))
            raws[id] = raw
        }
    }

    /// A copy of the repository in a new directory under this one.
    func copy(_ name: String) throws -> BackupRepository {
        let path = directory.path + "/" + name
        try FileManager.default.copyItem(atPath: repositoryPath, toPath: path)
        return try BackupRepository(directory: path)
    }

    /// Reads backup `id` through the chain reader (hash-checked), whole.
    static func read(_ repository: BackupRepository, id: Int64) throws -> [UInt8] {
        try read(BackupChainReader(repository: repository, id: id))
    }

    /// Reads all of an open chain reader.
    static func read(_ reader: BackupChainReader) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(reader.sizeBytes))
        try bytes.withUnsafeMutableBytes { raw in
            for index in 0..<reader.clusterCount {
                let start = Int(index) * reader.clusterSize
                try reader.readCluster(index, into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + reader.clusterSize)]))
            }
        }
        return bytes
    }

    /// Every listed point reads as at its take (reader and `qemu-img compare`), every file
    /// is `qemu-img check` clean, and verify finds nothing.
    func expectValid(_ repository: BackupRepository, qemu: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for record in try repository.catalog.all() {
            let id = try #require(record.id, sourceLocation: sourceLocation)
            let expected = try #require(images[id], sourceLocation: sourceLocation)
            #expect(try Self.read(repository, id: id) == expected, "backup \(id) no longer reads as at its take", sourceLocation: sourceLocation)
            if qemu && QEMUImg.available {
                try QEMUImg.checkClean(repository.path(of: record), sourceLocation: sourceLocation)
                try QEMUImg.expectIdentical(repository.path(of: record), raw: raws[id]!, sourceLocation: sourceLocation)
            }
        }
        let report = try BackupVerifier(repository: repository).verify(id: nil)
        #expect(report.findings.isEmpty, "\(report.findings)", sourceLocation: sourceLocation)
    }
}
