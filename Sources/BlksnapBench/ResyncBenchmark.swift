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
        var params = Params()
        params.chunkMinimumShift = 16
        let kernel = SimKernel(params: params)
        let original = "resync-orig.img", store = "resync-store.img"
        defer { scratch.unlink([original, store]) }
        do throws(SimErrno) {
            _ = try kernel.addDevice(name: "orig0", capacitySectors: deviceBytes / 512, backing: .file(path: scratch.file(original)))
            _ = try kernel.addDevice(name: "store", capacitySectors: deviceBytes / 512 + 65_536, backing: .file(path: scratch.file(store)))
        } catch {
            throw BenchError("cannot add a simulated device in \(scratch.path)", errno: error.code)
        }
        let backend = SimKernelBackend(kernel)
        let raw = try HostFile(path: scratch.file(original))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var fill = BenchRandom(seed: 12)
        for offset in stride(from: UInt64(0), to: deviceBytes, by: 1 << 20) {
            let words = buffer.bindMemory(to: UInt64.self)
            for index in words.indices { words[index] = fill.next() }
            raw.write(UnsafeRawBufferPointer(buffer), atByte: offset)
        }
        var samples: [Sample] = []
        let cluster = UInt64(QCOW2Format.clusterSize)
        for repetition in 0..<max(1, configuration.repetitions) {
            let repoPath = scratch.file("resync-repo-\(repetition)")
            defer { try? FileManager.default.removeItem(atPath: repoPath) }
            do throws(BackupError) {
                let repository = try BackupRepository(directory: repoPath, create: true)
                _ = try backup(repository, backend: backend, full: true)
                do {
                    let device = try BlockDevice(path: "/dev/orig0", kernel: backend)
                    try device.detach()
                    try? device.close()
                } catch {
                    throw BackupError(.io, "detaching the tracker failed: \(error.description)")
                }
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
                let resync = try backup(repository, backend: backend, full: false)
                guard let record = resync.records.first, resync.plans.first?.resyncReason != nil else {
                    throw BackupError(.refused, "the backup after CBT loss was not a resync: \(resync.plans.first?.fullReason ?? "?")")
                }
                let full = try backup(repository, backend: backend, full: true)
                samples.append(Sample(resyncSeconds: resync.copySeconds, fullSeconds: full.copySeconds,
                                      storedBytes: UInt64(record.dataClusters) * cluster, changedBytes: UInt64(chosen.count) * cluster))
            } catch {
                throw BenchError("resync benchmark: \(error.message)")
            }
        }
        return samples
    }

    private func backup(_ repository: BackupRepository, backend: SimKernelBackend, full: Bool) throws(BackupError) -> BackupRunResult {
        let storage: DeviceRangeProvider
        do {
            storage = try DeviceRangeProvider(kernel: backend, devicePath: "/dev/store")
        } catch {
            throw BackupError(.io, "\(error)")
        }
        let run = BackupRun(repository: repository, kernel: backend,
                            configuration: SessionConfiguration(devices: ["/dev/orig0"], pollMilliseconds: 10, hz: 1000),
                            storage: storage, forceFull: full, blockBytes: BackupBenchmark.blockBytes)
        return try run.run()
    }
}
