@testable import BlksnapBackup
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `backup prune` on a simulated month of daily backups: every kept point reads exactly as
/// at its take, removed points are gone, merges cost what they copy, and a merge left at
/// any of its states is finished by the next prune.
@Suite("backup prune on a simulated month of backups", .serialized)
struct PruneTests {
    /// The chain every test prunes a copy of (built once: 31 backups).
    static let chain = Result { try PruneChain() }

    static func source() throws -> PruneChain {
        try chain.get()
    }

    /// Prunes a copy of the chain with `policy`; checks the outcome against the plan and
    /// the images; returns the result.
    @discardableResult
    static func pruneAndCheck(_ policy: RetentionPolicy, name: String) throws -> PruneResult {
        let chain = try source()
        let repository = try chain.copy(name)
        let before = try repository.catalog.all()
        let data = Dictionary(uniqueKeysWithValues: before.map { ($0.id!, $0.dataClusters * 65536) })
        let result = try BackupPruner(repository: repository).prune(policy: policy)
        let kept = Set(result.plan.points.filter(\.keep).compactMap(\.record.id))
        let after = try repository.catalog.all()
        #expect(Set(after.compactMap(\.id)) == kept, "\(policy.description): exactly the kept points stay listed")
        #expect(kept.count < before.count, "\(policy.description) removes something")
        for record in before where !kept.contains(record.id!) {
            #expect(!FileManager.default.fileExists(atPath: repository.path(of: record)), "the file of removed backup \(record.id!) is gone")
        }
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: repository.directory).filter { $0.hasSuffix(".qcow2") })
        #expect(names == Set(after.map(\.fileName)), "no file but the kept points' is left")
        try chain.expectValid(repository)
        // Each merge writes about what it copies: the source's data it lacked plus a few
        // clusters' worth of tables, never the target's data.
        var written: Int64 = 0, copied: Int64 = 0
        for merge in result.merges {
            let sourceData = try #require(data[merge.sourceId])
            #expect(merge.bytesCopied <= sourceData)
            #expect(merge.bytesWritten >= merge.bytesCopied)
            #expect(merge.bytesWritten <= merge.bytesCopied + 3 * 65536, "merge \(merge.sourceId) into \(merge.targetId): \(merge.bytesWritten) written for \(merge.bytesCopied) copied")
            written += merge.bytesWritten
            copied += merge.bytesCopied
        }
        let sourceData = result.merges.reduce(Int64(0)) { $0 + data[$1.sourceId]! }
        print(String(format: "prune %@: %d kept, %d merges (%d full), %d deleted; written/copied %.3f, written/merged files' data %.3f",
                     policy.description, kept.count, result.merges.count, result.merges.filter { $0.kind == .full }.count,
                     result.deleted.count, Double(written) / Double(max(copied, 1)), Double(written) / Double(max(sourceData, 1))))
        // The history: every merge is done and names a target that is listed or merged on.
        let history = try repository.catalog.merges()
        #expect(history.count == result.merges.count)
        #expect(history.allSatisfy { $0.state == .done && $0.finishedAt != nil && $0.newHeader == nil })
        return result
    }

    @Test("--keep-last 5: 26 merges into one point, the last one the full backup")
    func keepLast() throws {
        let result = try Self.pruneAndCheck(RetentionPolicy(keepLast: 5), name: "last")
        #expect(result.merges.count == 26)
        #expect(result.merges.last?.kind == .full)
        #expect(result.deleted.isEmpty)
        let ids = result.plan.points.filter(\.keep).compactMap(\.record.id).sorted()
        #expect(ids.count == 5)
    }

    @Test("--keep-daily 7 --keep-weekly 4: merges into several points, full merged")
    func dailyWeekly() throws {
        let result = try Self.pruneAndCheck(RetentionPolicy(keepDaily: 7, keepWeekly: 4), name: "daily-weekly")
        let targets = Set(result.merges.map(\.targetId))
        #expect(targets.count >= 3, "\(targets)")
        #expect(result.merges.contains { $0.kind == .full })
        // 31 days from a Monday: the last 7 days (the newest of 2 weeks among them) plus the newest of the 2 weeks before.
        #expect(result.plan.points.filter(\.keep).count == 9)
    }

    @Test("--keep-within 10d --keep-monthly 3 and --keep-weekly -1: the full stays where a rule keeps it")
    func withinAndUnlimited() throws {
        try Self.pruneAndCheck(RetentionPolicy(keepMonthly: 3, keepWithin: RetentionDuration(days: 10)), name: "within")
        let weekly = try Self.pruneAndCheck(RetentionPolicy(keepWeekly: -1), name: "weekly")
        #expect(weekly.merges.contains { $0.kind == .full })
        #expect(weekly.plan.points.filter(\.keep).count == 5, "5 ISO weeks hold the 31 days")
    }

    @Test("a second prune with the same policy changes nothing; a dry run changes nothing")
    func idempotentAndDryRun() throws {
        let chain = try Self.source()
        let repository = try chain.copy("again")
        let dry = try BackupPruner(repository: repository).prune(policy: RetentionPolicy(keepLast: 3), dryRun: true)
        #expect(dry.plan.steps.count == 28)
        #expect(try repository.catalog.all().count == 31)
        #expect(try repository.catalog.merges().isEmpty)
        let first = try BackupPruner(repository: repository).prune(policy: RetentionPolicy(keepLast: 3))
        #expect(first.merges.count == 28)
        let second = try BackupPruner(repository: repository).prune(policy: RetentionPolicy(keepLast: 3))
        #expect(second.plan.steps.isEmpty)
        try chain.expectValid(repository, qemu: false)
    }

    @Test("a merge left planned, with bytes appended, or prepared with or without its header switched is finished by the next prune")
    func resumeEveryState() throws {
        let chain = try Self.source()
        for stop in ["planned", "appended", "prepared", "switched"] {
            let repository = try chain.copy("resume-\(stop)")
            let records = try repository.catalog.all()
            let source = records[29], target = records[30]
            var merge = try repository.catalog.beginMerge(MergeRecord(kind: .increment, source: source, targetId: target.id!,
                                                                      targetOldSize: target.fileSize, startedAt: Date()))
            if stop != "planned" {
                var hashes: [UInt64: [UInt8]] = [:]
                for cluster in try repository.catalog.clusters(of: source.id!) where cluster.kind == .data { hashes[cluster.fileOffset] = cluster.sha256 }
                let appended = try QCOW2MergeAppender.append(targetPath: repository.path(of: target), targetOldSize: UInt64(target.fileSize),
                                                             sourcePath: repository.path(of: source), sourceHashes: hashes,
                                                             newBackingFile: records[28].fileName)
                if stop != "appended" {
                    merge.targetNewSize = Int64(appended.newSize)
                    merge.newHeader = Data(appended.header)
                    merge.deadOffsets = appended.deadOffsets.map(String.init).joined(separator: ",")
                    try repository.catalog.prepareMerge(merge, appended: appended.appended)
                    merge.state = .prepared
                }
                if stop == "switched" {
                    try QCOW2MergeAppender.switchHeader(of: repository.path(of: target), to: appended.header, usedBytes: 65536)
                }
            }
            // Meanwhile every listed point reads as at its take, and verify accepts the target.
            try chain.expectValid(repository, qemu: stop != "planned")
            #expect(try repository.catalog.all().count == 31, "\(stop): the source stays listed until the merge is done")
            let result = try BackupPruner(repository: repository).prune(policy: RetentionPolicy(keepLast: 30))
            #expect(result.resumed.count == 1, "\(stop)")
            #expect(result.merges.isEmpty && result.deleted.isEmpty, "\(stop): only the unfinished merge was left to do")
            #expect(try repository.catalog.all().map(\.id) == records.filter { $0.id != source.id }.map(\.id))
            #expect(try repository.record(id: target.id!).parentId == records[28].id)
            try chain.expectValid(repository)
        }
    }

    @Test("readers see consistent data: one opened before the prune reads the old layout to the end, restores during it read the new")
    func readersDuringPrune() throws {
        let chain = try Self.source()
        let repository = try chain.copy("readers")
        let records = try repository.catalog.all()
        let kept = records.suffix(2).map { $0.id! }
        let open = try BackupChainReader(repository: repository, id: kept[0])
        #expect(open.records.count == 30)
        let stop = SharedValue(false)
        let restores = SharedValue<[String]>([])
        let path = repository.directory
        let images = chain.images
        let thread = Thread {
            while !stop.withLock({ $0 }) {
                do {
                    let second = try BackupRepository(directory: path)
                    for id in kept {
                        let bytes = try PruneChain.read(second, id: id)
                        restores.withLock { $0.append(bytes == images[id] ? "ok" : "backup \(id) differs") }
                    }
                } catch {
                    restores.withLock { $0.append("\(error)") }
                }
            }
        }
        thread.start()
        let result = try BackupPruner(repository: repository).prune(policy: RetentionPolicy(keepLast: 2))
        stop.withLock { $0 = true }
        while !thread.isFinished { usleep(1000) }
        #expect(result.merges.count == 29)
        let outcomes = restores.withLock { $0 }
        #expect(!outcomes.isEmpty)
        #expect(outcomes.allSatisfy { $0 == "ok" }, "\(outcomes.filter { $0 != "ok" }.prefix(3))")
        print("prune readers: \(outcomes.count) whole-disk reads during the prune, all equal to their point")
        // The reader opened before the prune still reads the point (its files' old layout).
        #expect(try PruneChain.read(open) == chain.images[kept[0]])
        #expect(try BackupChainReader(repository: repository, id: kept[0]).records.count == 1)
    }

    @Test("a chain stored as none, zstd and zlib by turns merges: compressed clusters copied as they are or decompressed, every point as at its take, qemu-img check clean")
    func compressedChain() throws {
        let chain = try PruneChain(increments: 11, seed: 0xC0DE, compressible: true) { day in
            [BackupCompression.none, .zstd(level: 3), .zlib][day % 3]
        }
        let records = try chain.copy("before").catalog.all()
        #expect(records.filter { $0.compressedClusters > 0 }.count >= 6, "most backups hold compressed clusters")
        for (name, check) in [("compressed-checked", true), ("compressed", false)] {
            let repository = try chain.copy(name)
            let result = try BackupPruner(repository: repository).prune(policy: RetentionPolicy(keepLast: 4), checkSources: check)
            #expect(result.merges.count == 8)
            try chain.expectValid(repository)
            // The full (stored as none, zlib by its header) took the zlib sources' clusters
            // compressed and the zstd ones decompressed.
            let full = try #require(try repository.catalog.all().first)
            #expect(full.type == .full)
            let reader = try QCOW2Reader(path: repository.path(of: full))
            var compressed = 0
            for index in 0..<(reader.virtualSize / UInt64(reader.clusterSize)) {
                if case .compressed = try reader.mapping(ofGuestCluster: index) { compressed += 1 }
            }
            #expect(compressed > 0, "clusters of the zlib backups stay compressed in the merged full")
        }
    }

    @Test("an empty policy is refused; with source checks a corrupt cluster stops the merge before any switch, without it stays detected")
    func refusals() throws {
        let chain = try Self.source()
        let repository = try chain.copy("refusals")
        #expect(throws: BackupError.self) { try BackupPruner(repository: repository).prune(policy: RetentionPolicy()) }
        let records = try repository.catalog.all()
        let victim = records[29]
        let target = records[30]
        // A cluster of 30 that 31 lacks: 31 reads it from 30, and the merge copies it.
        let targetReader = try QCOW2Reader(path: repository.path(of: target))
        let data = try #require(try repository.catalog.clusters(of: victim.id!).first { cluster in
            try cluster.kind == .data && targetReader.mapping(ofGuestCluster: cluster.guestOffset! / 65536) == .unallocated
        })
        let headerBefore = try Data(contentsOf: URL(fileURLWithPath: repository.path(of: target))).prefix(65536)
        let file = try HostFile(path: repository.path(of: victim), flags: O_WRONLY)
        try file.write([0xFF, 0xEE], at: data.fileOffset + 100)
        file.close()
        do {
            _ = try BackupPruner(repository: repository).prune(policy: RetentionPolicy(keepLast: 1), checkSources: true)
            Issue.record("a merge of a corrupt cluster went through")
        } catch {
            #expect(error.kind == .corrupted)
            #expect(error.message.contains(victim.fileName) && error.message.contains("does not match its SHA-256"), "\(error.message)")
        }
        // The merge of 30 into 31 stopped at "planned", before any switch: 31's header is
        // untouched and the catalog still chains 31 on 30.
        let merges = try repository.catalog.merges()
        #expect(merges.count == 1 && merges.first?.state == .planned)
        let headerAfter = try Data(contentsOf: URL(fileURLWithPath: repository.path(of: target))).prefix(65536)
        #expect(headerAfter == headerBefore)
        #expect(try repository.record(id: target.id!).parentId == victim.id)
        #expect(try PruneChain.read(repository, id: records[28].id!) == chain.images[records[28].id!])
        // Without the check the merge carries the catalog's hash with the damaged cluster:
        // 31 (now holding it) fails its read and verify as it failed before through 30.
        let carried = try chain.copy("carried")
        let file2 = try HostFile(path: carried.path(of: victim), flags: O_WRONLY)
        try file2.write([0xFF, 0xEE], at: data.fileOffset + 100)
        file2.close()
        #expect(throws: BackupError.self) { try PruneChain.read(carried, id: target.id!) }
        let result = try BackupPruner(repository: carried).prune(policy: RetentionPolicy(keepLast: 1))
        #expect(result.merges.count == 30)
        do {
            _ = try BackupChainReader(repository: carried, id: target.id!).readAll()
            Issue.record("the damaged cluster was read without a mismatch")
        } catch {
            #expect(error.message.contains(target.fileName) && error.message.contains("does not match its SHA-256"), "\(error.message)")
        }
        let findings = try BackupVerifier(repository: carried).verify(id: nil).findings
        #expect(findings.count == 1 && findings.first?.backupID == target.id, "\(findings)")
    }
}

extension BackupChainReader {
    /// Reads every cluster (typed throws, for the error's message).
    func readAll() throws(BackupError) {
        let slot = UnsafeMutableRawBufferPointer.allocate(byteCount: clusterSize, alignment: 4096)
        defer { slot.deallocate() }
        for index in 0..<clusterCount { try readCluster(index, into: slot) }
    }
}

/// A value shared with a thread, behind a lock.
final class SharedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
