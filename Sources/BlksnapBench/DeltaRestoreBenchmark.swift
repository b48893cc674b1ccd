#if canImport(Glibc)
import Glibc
#endif
import BlksnapBackup
import BlksnapKit
import Foundation
import SimKernel

/// Figure 13: `backup restore --delta` onto a target that differs from the backup in 1 %
/// of its clusters, against a full restore of the same backup to a new file. The backup is
/// a full backup of random data written through the package's writer and catalog. The CBT
/// method (``cbtRun()``) restores onto the simulated tracked original itself.
struct DeltaRestoreBenchmark {
    /// One repetition's outcome.
    struct Sample {
        /// Seconds of the full restore.
        var fullSeconds: Double
        /// Seconds of the delta restore.
        var deltaSeconds: Double
        /// Bytes the delta restore wrote, and the bytes that differed.
        var deltaWritten: UInt64
        var differingBytes: UInt64
    }

    /// One repetition of the CBT method.
    struct CBTSample {
        /// Seconds of a full restore of the backup to a new file.
        var fullSeconds: Double
        /// Seconds of the CBT restore onto the device (its take included).
        var cbtSeconds: Double
        /// Bytes it wrote, and the bytes written to the device since the backup.
        var cbtWritten: UInt64
        var changedBytes: UInt64
    }

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    func run() throws(BenchError) -> [Sample] {
        var samples: [Sample] = []
        let size = configuration.backupDeviceBytes
        let cluster = UInt64(QCOW2Format.clusterSize)
        for repetition in 0..<max(1, configuration.repetitions) {
            let repoPath = scratch.file("delta-repo-\(repetition)")
            let target = scratch.file("delta-target.raw")
            defer {
                try? FileManager.default.removeItem(atPath: repoPath)
                scratch.unlink(["delta-target.raw"])
            }
            do throws(BackupError) {
                let repository = try BackupRepository(directory: repoPath, create: true)
                var random = BenchRandom(seed: UInt64(repetition) + 130)
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 4096)
                defer { buffer.deallocate() }
                let name = "blksnap-bench-delta.qcow2"
                let writer = try QCOW2Writer(path: repository.path(of: name), virtualSize: size)
                for offset in stride(from: UInt64(0), to: size, by: buffer.count) {
                    let length = Int(min(UInt64(buffer.count), size - offset))
                    let words = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]).bindMemory(to: UInt64.self)
                    for index in words.indices { words[index] = random.next() | 1 }
                    try writer.write(guestOffset: offset, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
                }
                let summary = try writer.finish()
                let record = try repository.catalog.insert(
                    BackupRecord(takenAt: Date(timeIntervalSince1970: 1_767_225_600), devicePath: "/dev/bench", deviceKey: "path:/dev/bench",
                                 capacityBytes: Int64(size), logicalBlockSize: 512, serial: nil, wwn: nil, cbtGeneration: "bench",
                                 cbtChangesNumber: 1, cbtBlockSize: 65536, type: .full, parentId: nil, fullReason: nil, fileName: name,
                                 fileSize: Int64(summary.fileSize), bytesRead: 0, bytesWritten: Int64(summary.fileSize), changedBytes: 0,
                                 dataClusters: Int64(summary.dataClusters), zeroClusters: 0, snapshotId: "bench", status: .complete),
                    clusters: summary.clusters)
                let restorer = BackupRestorer(repository: repository)
                var start = BenchClock.nanoseconds()
                _ = try restorer.restore(id: record.id ?? 0, to: target)
                let fullSeconds = Double(BenchClock.nanoseconds() - start) / 1e9
                // 1 % of the target's clusters changed.
                var chosen = Set<UInt64>()
                let clusters = size / cluster
                while UInt64(chosen.count) < max(1, clusters / 100) { chosen.insert(random.next() % clusters) }
                let file: HostFile
                do {
                    file = try HostFile.baseline(target)
                } catch {
                    throw BackupError(.io, error.description)
                }
                let data = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(cluster)])
                for index in chosen {
                    let words = data.bindMemory(to: UInt64.self)
                    for word in words.indices { words[word] = random.next() | 1 }
                    file.write(UnsafeRawBufferPointer(data), atByte: index * cluster)
                }
                start = BenchClock.nanoseconds()
                let delta = try restorer.restore(id: record.id ?? 0, to: target, delta: true)
                let deltaSeconds = Double(BenchClock.nanoseconds() - start) / 1e9
                samples.append(Sample(fullSeconds: fullSeconds, deltaSeconds: deltaSeconds, deltaWritten: delta.bytesWritten,
                                      differingBytes: UInt64(chosen.count) * cluster))
            } catch {
                throw BenchError("delta restore benchmark: \(error.message)")
            }
        }
        return samples
    }

    /// The CBT method: a full backup of a simulated tracked device of random data, 1 % of
    /// its clusters rewritten through the simulator (the tracker sees them), then the backup
    /// restored onto the device by CBT, against a full restore of it to a new file.
    func cbtRun() throws(BenchError) -> [CBTSample] {
        let size = configuration.backupDeviceBytes
        let cluster = UInt64(QCOW2Format.clusterSize)
        var fill = BenchRandom(seed: 140)
        let disk = try BackupBenchDevice(scratch: scratch, tag: "cbt-restore", bytes: size) { $0.fillRandomWords(&fill) }
        defer { disk.remove() }
        var samples: [CBTSample] = []
        for repetition in 0..<max(1, configuration.repetitions) {
            let repoPath = scratch.file("cbt-restore-repo-\(repetition)")
            let target = scratch.file("cbt-restore-target.raw")
            defer {
                try? FileManager.default.removeItem(atPath: repoPath)
                scratch.unlink(["cbt-restore-target.raw"])
            }
            do throws(BackupError) {
                let repository = try BackupRepository(directory: repoPath, create: true)
                let full = try disk.backup(repository, full: true)
                guard let id = full.records.first?.id else { throw BackupError(.io, "the full backup committed nothing") }
                var random = BenchRandom(seed: UInt64(repetition) + 150)
                var chosen = Set<UInt64>()
                let clusters = size / cluster
                while UInt64(chosen.count) < max(1, clusters / 100) { chosen.insert(random.next() % clusters) }
                let data = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(cluster), alignment: 4096)
                defer { data.deallocate() }
                let fd = disk.kernel.open(disk.path, flags: O_RDWR)
                for index in chosen {
                    data.fillRandomWords(&random)
                    precondition(disk.kernel.pwrite(fd, from: UnsafeRawBufferPointer(data), at: index * cluster) == Int(cluster))
                }
                _ = disk.kernel.close(fd)
                var start = BenchClock.nanoseconds()
                _ = try BackupRestorer(repository: repository).restore(id: id, to: target)
                let fullSeconds = Double(BenchClock.nanoseconds() - start) / 1e9
                start = BenchClock.nanoseconds()
                let outcome = try CBTDeltaRestore(repository: repository, driver: V5Driver(kernel: disk.backend))
                    .restore(id: id, devicePath: disk.path, configuration: disk.sessionConfiguration, storage: try disk.storage())
                let cbtSeconds = Double(BenchClock.nanoseconds() - start) / 1e9
                guard case .restored(let summary) = outcome else {
                    throw BackupError(.refused, "the CBT restore did not apply: \(outcome)")
                }
                samples.append(CBTSample(fullSeconds: fullSeconds, cbtSeconds: cbtSeconds, cbtWritten: summary.bytesWritten,
                                         changedBytes: UInt64(chosen.count) * cluster))
            } catch {
                throw BenchError("CBT delta restore benchmark: \(error.message)")
            }
        }
        return samples
    }
}
