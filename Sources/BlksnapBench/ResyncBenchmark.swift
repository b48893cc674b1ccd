#if canImport(Glibc)
import Glibc
#endif
import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel

/// Figure 12: `backup create` after CBT loss (resync) against a full backup of the same
/// image: a full backup of a file-backed simulated device of random data, the tracker
/// detached (new CBT generation), 1 % of the clusters rewritten, then the resync (reads and
/// hashes everything, stores what differs) and a `--full` backup of the same image.
struct ResyncBenchmark {
    /// One repetition's outcome.
    struct Sample {
        /// Seconds of the resync's copy.
        var resyncSeconds: Double
        /// Seconds of the full backup's copy of the same image.
        var fullSeconds: Double
        /// Data bytes the resync stored.
        var storedBytes: UInt64
        /// Bytes that differ from the last backup.
        var changedBytes: UInt64
    }

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    func run() throws(BenchError) -> [Sample] {
        let deviceBytes = configuration.backupDeviceBytes
        var fill = BenchRandom(seed: 12)
        let disk = try BackupBenchDevice(scratch: scratch, tag: "resync", bytes: deviceBytes) { $0.fillRandomWords(&fill) }
        defer { disk.remove() }
        let raw = try HostFile.baseline(disk.originalFile)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var samples: [Sample] = []
        let cluster = UInt64(QCOW2Format.clusterSize)
        for repetition in 0..<max(1, configuration.repetitions) {
            let repoPath = scratch.file("resync-repo-\(repetition)")
            defer { try? FileManager.default.removeItem(atPath: repoPath) }
            do throws(BackupError) {
                let repository = try BackupRepository(directory: repoPath, create: true)
                _ = try disk.backup(repository, full: true)
                let device = try disk.open()
                do {
                    try device.detach()
                } catch {
                    throw BackupError(.io, "detaching the tracker failed: \(error.description)")
                }
                try? device.close()
                // 1 % of the clusters rewritten on the host file while no tracker watches.
                var random = BenchRandom(seed: UInt64(repetition) + 120)
                var chosen = Set<UInt64>()
                let clusters = deviceBytes / cluster
                while UInt64(chosen.count) < max(1, clusters / 100) { chosen.insert(random.next() % clusters) }
                let data = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(cluster)])
                for index in chosen {
                    let words = data.bindMemory(to: UInt64.self)
                    for word in words.indices { words[word] = random.next() | 1 }
                    raw.write(UnsafeRawBufferPointer(data), atByte: index * cluster)
                }
                let resync = try disk.backup(repository, full: false)
                guard let record = resync.records.first, resync.plans.first?.resyncReason != nil else {
                    throw BackupError(.refused, "the backup after CBT loss was not a resync: \(resync.plans.first?.fullReason ?? "?")")
                }
                let full = try disk.backup(repository, full: true)
                samples.append(Sample(resyncSeconds: resync.copySeconds, fullSeconds: full.copySeconds,
                                      storedBytes: UInt64(record.dataClusters) * cluster, changedBytes: UInt64(chosen.count) * cluster))
            } catch {
                throw BenchError("resync benchmark: \(error.message)")
            }
        }
        return samples
    }
}
