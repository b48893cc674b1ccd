#if canImport(Glibc)
import Glibc
#endif
import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel

/// Figure 8: `backup create` against what it cannot avoid — reading the image — and
/// against the tool a user would reach for (`qemu-img convert -O qcow2` of the same bytes
/// from a raw file); and an incremental with 1 % of the CBT blocks changed.
struct BackupBenchmark {
    /// One repetition's outcome.
    struct Sample {
        /// Seconds of the full backup's copy (plan, read, hash, write, fsync).
        var fullSeconds: Double
        /// Seconds of a sequential 4 MiB read of the whole image, in a snapshot of its own.
        var readSeconds: Double
        /// Seconds of the SHA-256 of every 64 KiB cluster of as many bytes as the image, in
        /// memory (one 1 MiB block of random data hashed over and over) on all cores: what hashing alone costs
        /// a full backup.
        var hashSeconds: Double
        /// Seconds of `qemu-img convert -O qcow2` of the raw backing file (nil: no qemu-img).
        var qemuImgSeconds: Double?
        /// Seconds of the incremental's copy.
        var incrementalSeconds: Double
        /// Bytes the incremental read, and the CBT's changed bytes.
        var incrementalBytesRead: UInt64
        var changedBytes: UInt64
        /// Metadata clusters of the incremental (header, tables, refcounts) in bytes.
        var incrementalMetadataBytes: UInt64
    }

    static let blockBytes = 4 << 20

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    func run() throws(BenchError) -> [Sample] {
        let deviceBytes = configuration.backupDeviceBytes
        // Random data in the whole original, written on the host before any tracker.
        var fill = BenchRandom(seed: 8)
        let disk = try BackupBenchDevice(scratch: scratch, tag: "backup", bytes: deviceBytes) { $0.fillRandomWords(&fill) }
        defer {
            disk.remove()
            scratch.unlink(["backup-convert.qcow2"])
        }
        let kernel = disk.kernel
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var samples: [Sample] = []
        for repetition in 0..<max(1, configuration.repetitions) {
            let repoPath = scratch.file("backup-repo-\(repetition)")
            defer { try? FileManager.default.removeItem(atPath: repoPath) }
            do throws(BackupError) {
                let repository = try BackupRepository(directory: repoPath, create: true)
                let readSeconds = try readImage(disk)
                let full = try disk.backup(repository, full: true)
                // 1 % of the CBT blocks, each rewritten whole at a random block.
                let device = try disk.open()
                let info = try cbt(device)
                let blocks = Int(info.blockCount)
                var chosen = Set<Int>()
                var random = BenchRandom(seed: UInt64(repetition) + 80)
                while chosen.count < max(1, blocks / 100) { chosen.insert(Int(random.next() % UInt64(blocks))) }
                let data = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(info.blockSizeBytes), alignment: 4096)
                defer { data.deallocate() }
                let fd = kernel.open(disk.path, flags: O_RDWR)
                for block in chosen {
                    let words = data.bindMemory(to: UInt64.self)
                    for index in words.indices { words[index] = random.next() }
                    let offset = UInt64(block) * UInt64(info.blockSizeBytes)
                    let length = Int(min(UInt64(info.blockSizeBytes), deviceBytes - offset))
                    precondition(kernel.pwrite(fd, from: UnsafeRawBufferPointer(rebasing: data[..<length]), at: offset) == length)
                }
                _ = kernel.close(fd)
                try? device.close()
                let incremental = try disk.backup(repository, full: false)
                guard let record = incremental.records.first, record.type == .incremental else {
                    throw BackupError(.refused, "the second backup was not incremental: \(incremental.plans.first?.fullReason ?? "?")")
                }
                let metadata = try repository.catalog.clusters(of: record.id ?? 0).filter { $0.kind == .metadata }.count
                samples.append(Sample(fullSeconds: full.copySeconds, readSeconds: readSeconds, hashSeconds: hashOnly(buffer),
                                      qemuImgSeconds: try convert(disk.originalFile),
                                      incrementalSeconds: incremental.copySeconds,
                                      incrementalBytesRead: UInt64(record.bytesRead), changedBytes: UInt64(record.changedBytes),
                                      incrementalMetadataBytes: UInt64(metadata * QCOW2Format.clusterSize)))
            } catch {
                throw BenchError("backup benchmark: \(error.message)")
            }
        }
        return samples
    }

    private func cbt(_ device: BlockDevice) throws(BackupError) -> CBTInfo {
        do {
            return try device.cbtInfo()
        } catch {
            throw BackupError(.io, error.description)
        }
    }

    /// Seconds of reading the whole image in 4 MiB blocks (the copy loop with nothing to do).
    private func readImage(_ disk: BackupBenchDevice) throws(BackupError) -> Double {
        let backend = disk.backend
        let session = Session(kernel: backend, configuration: disk.sessionConfiguration, storage: try disk.storage())
        do {
            try session.start()
        } catch {
            throw BackupError(.io, error.description)
        }
        defer { try? session.teardown() }
        do {
            let reader = try SnapshotImageReader(path: session.images[0].imagePath, kernel: backend)
            defer { try? reader.close() }
            var sink: UInt8 = 0
            let start = BenchClock.nanoseconds()
            try reader.forEachBlock(of: reader.wholeImage, blockBytes: Self.blockBytes) { (_, bytes) in
                sink &+= bytes[bytes.count - 1]
            }
            let nanoseconds = BenchClock.nanoseconds() - start
            withExtendedLifetime(sink) {}
            return Double(nanoseconds) / 1e9
        } catch let error as BlksnapError {
            throw BackupError(.io, error.description)
        } catch {
            throw BackupError(.io, "reading the image failed: \(error)")
        }
    }

    /// Seconds of hashing as many bytes as the image holds, cluster by cluster on all cores
    /// (``ClusterHashing``, as the qcow2 writer does), `block` after block from memory.
    private func hashOnly(_ block: UnsafeMutableRawBufferPointer) -> Double {
        let start = BenchClock.nanoseconds()
        var sink: UInt8 = 0
        for _ in stride(from: UInt64(0), to: configuration.backupDeviceBytes, by: UInt64.Stride(block.count)) {
            let digests = ClusterHashing.sha256(ofClustersIn: UnsafeRawBufferPointer(block), clusterBytes: QCOW2Format.clusterSize)
            sink &+= digests[0][0]
        }
        withExtendedLifetime(sink) {}
        return Double(BenchClock.nanoseconds() - start) / 1e9
    }

    /// Seconds of `qemu-img convert -O qcow2` of `raw` (64 KiB clusters, as the backup), nil without qemu-img.
    private func convert(_ raw: String) throws(BackupError) -> Double? {
        try QemuImgConvert.run(["-f", "raw", "-O", "qcow2", "-o", "cluster_size=65536"], raw: raw,
                               output: scratch.file("backup-convert.qcow2"))?.seconds
    }
}
