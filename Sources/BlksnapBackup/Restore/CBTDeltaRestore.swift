#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit

/// `backup restore ID --to DEVICE --delta` onto the tracked original by CBT: the clusters
/// to write are those the device's CBT marks changed since a backup B of the same chain
/// (B's generation is the tracker's), plus those that differ between B and the restored
/// point P (the files between them in the chain); nothing of the target is read.
///
/// The CBT map a module returns is the copy made at its last take, so the restore takes a
/// snapshot of the device first (storage from `storage`; destroyed at once, before any
/// write) to learn the writes since B. The device is held open exclusively from before that
/// take to the end, so no mount can write behind the plan.
public struct CBTDeltaRestore {
    /// What a CBT restore did.
    public enum Outcome: Sendable {
        /// The device was restored.
        case restored(RestoreSummary)
        /// The method does not apply, for this reason (nothing was written; the caller
        /// compares instead, saying why).
        case notApplicable(reason: String)
    }

    /// Why the CBT method does not apply.
    struct NotApplicable: Error {
        var reason: String
    }

    /// The repository.
    public let repository: BackupRepository
    /// The module's ABI, over the kernel that holds the device.
    public let driver: any BlksnapDriver

    /// Creates a restore through `driver`.
    public init(repository: BackupRepository, driver: any BlksnapDriver) {
        self.repository = repository
        self.driver = driver
    }

    /// Restores backup `id` onto `devicePath`; `configuration` is the take's session
    /// (its devices are replaced by `devicePath`), `storage` its difference storage.
    ///
    /// Returns ``Outcome/notApplicable(reason:)`` when the device is not the backup's
    /// original, its tracker is in a generation no backup of the chain was taken in, or
    /// its CBT cannot be read; `progress` is then left unfinished (for the compare restore
    /// that follows). Otherwise `progress` receives the writes (bytes read: those read from
    /// the backup; total: the bytes to write) and is finished with the outcome.
    ///
    /// - Throws: ``BackupError`` for failures (nothing is written before the take
    ///   succeeded; a failure while writing leaves the device partly restored: run the
    ///   restore again).
    public func restore(id: Int64, devicePath: String, configuration: SessionConfiguration,
                        storage: any DifferenceStorageProvider,
                        progress: BackupProgressMeter? = nil) throws(BackupError) -> Outcome {
        do {
            let outcome = try restoreByCBT(id: id, devicePath: devicePath, configuration: configuration, storage: storage) { done, total, finished in
                progress?.record(BackupProgress(deviceIndex: 0, devicePath: devicePath, bytesRead: done, bytesWritten: done,
                                                bytesTotal: total, finished: finished))
            }
            if case .restored = outcome { progress?.finish() }
            return outcome
        } catch {
            progress?.finish(failure: error.message)
            throw error
        }
    }

    /// Bytes written so far, bytes to write, whether final.
    private typealias Report = (UInt64, UInt64, Bool) -> Void

    private func restoreByCBT(id: Int64, devicePath: String, configuration: SessionConfiguration,
                              storage: any DifferenceStorageProvider, report: Report) throws(BackupError) -> Outcome {
        let reader = try BackupChainReader(repository: repository, id: id)
        let point = reader.head
        let kernel = driver.kernel
        if kernel.usesHostDevices, let status = try? kernel.stat(devicePath), let mount = BackupRestorer.mountPoint(of: dev_t(status.deviceNumber.rawValue)) {
            throw BackupRestorer.mounted(devicePath, on: mount)
        }
        let device: BlockDevice
        do {
            device = try BlockDevice(path: devicePath, driver: driver, flags: O_RDWR | O_EXCL | O_SYNC)
        } catch where error.errno == .resourceBusy {
            throw BackupRestorer.heldExclusively(devicePath)
        } catch {
            throw BackupError(.io, "opening \(devicePath) failed: \(error.description)", errno: error.errno, category: error.category)
        }
        defer { try? device.close() }
        let identity: DeviceIdentity
        do {
            identity = try DeviceIdentity.read(device)
        } catch {
            throw BackupError(.io, "reading the identity of \(devicePath) failed: \(error.description)", errno: error.errno)
        }
        guard identity.key == point.deviceKey, identity.capacityBytes == UInt64(point.capacityBytes) else {
            return .notApplicable(reason: "\(devicePath) (\(identity.key), \(identity.capacityBytes) bytes) is not the device backup \(id) was taken of (\(point.deviceKey), \(point.capacityBytes) bytes)")
        }
        let cbt: CBTInfo, map: [UInt8]
        switch try readCBTAfterTake(devicePath: devicePath, configuration: configuration, storage: storage) {
        case .success(let read): (cbt, map) = read
        case .failure(let why): return .notApplicable(reason: why.reason)
        }
        let base: BackupRecord
        switch try baseBackup(for: point, generation: cbt.generationID.description, changesNumber: cbt.changesNumber,
                              blockSizeBytes: cbt.blockSizeBytes) {
        case .success(let found): base = found
        case .failure(let why): return .notApplicable(reason: why.reason)
        }
        // Clusters to write: changed on the device since the base, and differing between
        // the base and the point.
        let clusterSize = reader.clusterSize
        let changed = ChangedBlocks(map: map, since: UInt8(base.cbtChangesNumber), blockSizeBytes: cbt.blockSizeBytes,
                                    capacitySectors: identity.capacityBytes / SectorRange.sectorSizeBytes)
        var clusters = Set<UInt64>()
        for range in BackupPlan.clusterAligned(changed.ranges, clusterSize: clusterSize, capacityBytes: identity.capacityBytes) {
            let first = range.offsetBytes / UInt64(clusterSize)
            let end = (range.offsetBytes + range.countBytes + UInt64(clusterSize) - 1) / UInt64(clusterSize)
            for index in first..<end { clusters.insert(index) }
        }
        let differing = try clustersBetween(base: base, point: point)
        clusters.formUnion(differing)
        let written = try write(clusters.sorted(), from: reader, to: device, report: report)
        return .restored(RestoreSummary(backupID: id, target: devicePath, isBlockDevice: true, virtualSize: reader.sizeBytes,
                                        bytesWritten: written, chainFiles: reader.chain.files.map(\.path), method: "cbt",
                                        targetBytesRead: 0, cbtBase: base.id,
                                        cbtChangedBytes: changed.ranges.reduce(0) { $0 + $1.countBytes },
                                        chainDifferingClusters: differing.count))
    }

    /// Takes a snapshot of the device (a session with `storage`), reads its CBT while the
    /// snapshot holds, and ends the session.
    private func readCBTAfterTake(devicePath: String, configuration: SessionConfiguration,
                                  storage: any DifferenceStorageProvider) throws(BackupError) -> Result<(CBTInfo, [UInt8]), NotApplicable> {
        var take = configuration
        take.devices = [devicePath]
        let session = Session(driver: driver, configuration: take, storage: storage)
        do {
            try session.start()
        } catch {
            throw BackupError(.io, "the snapshot that switches the CBT of \(devicePath) failed: \(error.description)",
                              errno: error.errno, category: error.category)
        }
        let result: Result<(CBTInfo, [UInt8]), BlksnapError>
        do {
            let reading = try BlockDevice(path: devicePath, driver: driver)
            defer { try? reading.close() }
            result = .success(try reading.readCBT())
        } catch {
            result = .failure(error)
        }
        do {
            try session.teardown()
        } catch {
            throw BackupError(.io, "ending the snapshot of \(devicePath) failed: \(error.description)", errno: error.errno, category: error.category)
        }
        return result.mapError { NotApplicable(reason: "the CBT of \(devicePath) cannot be read (\($0.description))") }
    }

    /// The newest backup of the point's chain (an ancestor or descendant of it, or itself)
    /// taken in the tracker's generation before its current changes number.
    private func baseBackup(for point: BackupRecord, generation: String, changesNumber: UInt8,
                            blockSizeBytes: UInt32) throws(BackupError) -> Result<BackupRecord, NotApplicable> {
        let pointID = point.id ?? 0
        let ancestors = Set(try repository.chain(endingAt: pointID).compactMap(\.id))
        var best: BackupRecord?
        for record in try repository.catalog.all() where record.deviceKey == point.deviceKey && record.cbtGeneration == generation {
            guard record.status != .corrupt, UInt64(record.cbtBlockSize) == UInt64(blockSizeBytes),
                  record.cbtChangesNumber < Int64(changesNumber), let id = record.id else { continue }
            var related = ancestors.contains(id)
            if !related { related = try repository.chain(endingAt: id).contains { $0.id == pointID } }
            if related, record.cbtChangesNumber > best?.cbtChangesNumber ?? -1 { best = record }
        }
        guard let best else {
            return .failure(NotApplicable(reason: "no backup of the chain of backup \(pointID) was taken in the tracker's CBT generation \(generation) (the tracker was re-attached or reset since, or the machine rebooted)"))
        }
        return .success(best)
    }

    /// Guest clusters stored in the files strictly between `base` and `point` on the
    /// chain that holds both, plus the later one's own file (every cluster one of them
    /// holds may differ between the two points).
    private func clustersBetween(base: BackupRecord, point: BackupRecord) throws(BackupError) -> Set<UInt64> {
        guard base.id != point.id else { return [] }
        let (later, earlier) = base.takenAt > point.takenAt ? (base, point) : (point, base)
        var clusters = Set<UInt64>()
        for record in try repository.chain(endingAt: later.id ?? 0) {
            if record.id == earlier.id { break }
            let file = try QCOW2Reader(input: try repository.storage.openForReading(record.fileName))
            let count = (file.virtualSize + UInt64(file.clusterSize) - 1) / UInt64(file.clusterSize)
            for index in 0..<count where try file.mapping(ofGuestCluster: index) != .unallocated {
                clusters.insert(index)
            }
        }
        return clusters
    }

    /// Writes `clusters` (sorted) of the point to the device, consecutive ones together.
    private func write(_ clusters: [UInt64], from reader: BackupChainReader, to device: BlockDevice,
                       report: Report) throws(BackupError) -> UInt64 {
        let total = UInt64(clusters.count) * UInt64(reader.clusterSize)
        let batch = ClusterBatch(reader: reader)
        func writeRun(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BackupError) {
            do throws(BlksnapError) {
                try device.write(bytes, at: offset)
            } catch {
                throw BackupError(.io, "writing \(device.path) at byte \(offset) failed: \(error.description); the device is partly restored, run the restore again",
                                  errno: error.errno, category: error.category)
            }
            report(batch.written + UInt64(bytes.count), total, false)
        }
        report(0, total, false)
        for index in clusters { try batch.add(index, write: writeRun) }
        try batch.flush(write: writeRun)
        report(batch.written, batch.written, true)
        return batch.written
    }
}
