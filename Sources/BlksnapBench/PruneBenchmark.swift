#if canImport(Glibc)
import Glibc
#endif
import BlksnapBackup
import Foundation

/// Figure 11: a prune merge against what it cannot avoid — copying the bytes it merges.
///
/// Each repetition writes a repository of two points through the package's own qcow2
/// writer and catalog: a full backup with random data in half of its clusters (runs of 16)
/// and an increment on it with 1 % of the clusters. Then, from the page cache alike, a
/// plain copy (4 MiB `pread`s of the full backup's data, `pwrite`s to a new file, `fsync`)
/// of exactly the bytes the merge will copy, and `backup prune --keep-last 1`, which merges
/// the full backup into the increment (read, SHA-256 check, append, tables, refcounts,
/// header switch, catalog commits, fsyncs).
struct PruneBenchmark {
    /// One repetition's outcome.
    struct Sample {
        /// Seconds of the prune (the one merge and its commits).
        var mergeSeconds: Double
        /// Seconds of the plain copy of the same bytes.
        var copySeconds: Double
        /// Data bytes the merge copied (and the copy copied).
        var bytesCopied: UInt64
        /// Bytes the merge wrote (data, tables, refcounts, header).
        var bytesWritten: UInt64
    }

    static let runBytes = 4 << 20
    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    func run() throws(BenchError) -> [Sample] {
        var samples: [Sample] = []
        for repetition in 0..<max(1, configuration.repetitions) {
            let repoPath = scratch.file("prune-repo-\(repetition)")
            defer { try? FileManager.default.removeItem(atPath: repoPath) }
            do throws(BackupError) {
                let repository = try BackupRepository(directory: repoPath, create: true)
                let (full, expected) = try makeChain(repository, seed: UInt64(repetition) + 110)
                let copySeconds = try plainCopy(from: repository.path(of: full), bytes: expected)
                let start = BenchClock.nanoseconds()
                let result = try BackupPruner(repository: repository).prune(policy: RetentionPolicy(keepLast: 1))
                let mergeSeconds = Double(BenchClock.nanoseconds() - start) / 1e9
                guard let merge = result.merges.first, result.merges.count == 1, UInt64(merge.bytesCopied) == expected else {
                    throw BackupError(.refused, "the prune did not merge the full backup's \(expected) bytes: \(result.merges)")
                }
                samples.append(Sample(mergeSeconds: mergeSeconds, copySeconds: copySeconds, bytesCopied: UInt64(merge.bytesCopied),
                                      bytesWritten: UInt64(merge.bytesWritten)))
            } catch {
                throw BenchError("prune benchmark: \(error.message)")
            }
        }
        return samples
    }

    /// Writes the full backup and the increment; returns the full backup and the data bytes
    /// of it the increment lacks (what the merge copies).
    private func makeChain(_ repository: BackupRepository, seed: UInt64) throws(BackupError) -> (BackupRecord, UInt64) {
        let size = configuration.backupDeviceBytes
        let cluster = UInt64(QCOW2Format.clusterSize)
        let clusters = size / cluster
        var random = BenchRandom(seed: seed)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * Int(cluster), alignment: 4096)
        defer { buffer.deallocate() }
        func fill(_ count: Int) {
            let words = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]).bindMemory(to: UInt64.self)
            for index in words.indices { words[index] = random.next() | 1 }
        }
        // The full backup: random data in every other run of 16 clusters.
        let fullName = "blksnap-bench-full.qcow2"
        let fullWriter = try QCOW2Writer(path: repository.path(of: fullName), virtualSize: size)
        for start in stride(from: UInt64(0), to: clusters, by: 32) {
            let count = Int(min(16, clusters - start))
            fill(count * Int(cluster))
            try fullWriter.write(guestOffset: start * cluster, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<(count * Int(cluster))]))
        }
        let fullSummary = try fullWriter.finish()
        let full = try repository.catalog.insert(record(fullName, fullSummary, parent: nil, at: Date(timeIntervalSince1970: 1_767_225_600)),
                                                 clusters: fullSummary.clusters)
        // The increment: 1 % of the clusters, at random.
        var chosen = Set<UInt64>()
        while UInt64(chosen.count) < max(1, clusters / 100) { chosen.insert(random.next() % clusters) }
        let incrementName = "blksnap-bench-increment.qcow2"
        let writer = try QCOW2Writer(path: repository.path(of: incrementName), virtualSize: size, backingFile: fullName)
        for guest in chosen.sorted() {
            fill(Int(cluster))
            try writer.write(guestOffset: guest * cluster, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<Int(cluster)]))
        }
        let summary = try writer.finish()
        _ = try repository.catalog.insert(record(incrementName, summary, parent: full.id, at: Date(timeIntervalSince1970: 1_767_229_200)),
                                          clusters: summary.clusters)
        let shadowed = chosen.filter { ($0 / 16) % 2 == 0 }.count
        return (full, (UInt64(fullSummary.dataClusters) - UInt64(shadowed)) * cluster)
    }

    private func record(_ name: String, _ summary: QCOW2WriteSummary, parent: Int64?, at date: Date) -> BackupRecord {
        BackupRecord(takenAt: date, devicePath: "/dev/bench", deviceKey: "path:/dev/bench", capacityBytes: Int64(configuration.backupDeviceBytes),
                     logicalBlockSize: 512, serial: nil, wwn: nil, cbtGeneration: "bench", cbtChangesNumber: parent == nil ? 1 : 2,
                     cbtBlockSize: 65536, type: parent == nil ? .full : .incremental, parentId: parent, fullReason: nil, fileName: name,
                     fileSize: Int64(summary.fileSize), bytesRead: 0, bytesWritten: Int64(summary.fileSize), changedBytes: 0,
                     dataClusters: Int64(summary.dataClusters), zeroClusters: Int64(summary.zeroClusters), snapshotId: "bench",
                     status: .complete)
    }

    /// Seconds of copying `bytes` of `path` from its first data cluster into a new file
    /// (4 MiB reads and writes, then fsync).
    private func plainCopy(from path: String, bytes: UInt64) throws(BackupError) -> Double {
        let target = scratch.file("prune-copy.raw")
        defer { scratch.unlink(["prune-copy.raw"]) }
        let input: HostFile, output: HostFile
        do {
            input = try HostFile.baseline(path)
            output = try HostFile.baseline(target)
        } catch {
            throw BackupError(.io, error.description)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.runBytes, alignment: 4096)
        defer { buffer.deallocate() }
        let start = BenchClock.nanoseconds()
        var done: UInt64 = 0
        while done < bytes {
            let length = Int(min(UInt64(Self.runBytes), bytes - done))
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
            input.read(into: slice, atByte: UInt64(QCOW2Format.clusterSize) + done)
            output.write(UnsafeRawBufferPointer(slice), atByte: done)
            done += UInt64(length)
        }
        try output.sync()
        return Double(BenchClock.nanoseconds() - start) / 1e9
    }
}
