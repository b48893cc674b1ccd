import BlksnapKit
import Foundation

/// A device's backup written and synced under its temporary name, not yet in the catalog.
public struct PreparedBackup: Sendable, Hashable {
    /// The plan it followed.
    public var plan: BackupPlan
    /// The name it will have in the repository.
    public var fileName: String
    /// Where it was written, to publish as ``fileName`` (a `.tmp-` path of a directory
    /// repository; the object's key on object storage).
    public var temporaryName: String
    /// What the writer wrote.
    public var summary: QCOW2WriteSummary
    /// Bytes read from the image.
    public var bytesRead: UInt64
    /// When the snapshot was taken.
    public var takenAt: Date
    /// The snapshot's id.
    public var snapshotID: String
    /// How its data clusters are stored.
    public var compression: BackupCompression
}

/// Copies snapshot images into qcow2 files of a repository and commits them: the
/// per-device steps of `backup create` (``BackupRun`` runs them inside a ``Session``).
public struct BackupCreator {
    /// The repository.
    public let repository: BackupRepository
    /// Bytes per image read.
    public var blockBytes: Int
    /// Blocks read ahead of the qcow2 writer by a thread of their own (0: read and write
    /// in turn on the calling thread).
    public var readAhead: Int
    /// How the data clusters of the files are stored.
    public var compression: BackupCompression

    /// Creates a creator for `repository`.
    public init(repository: BackupRepository, blockBytes: Int = 4 << 20, readAhead: Int = 2,
                compression: BackupCompression = .none) {
        self.repository = repository
        self.blockBytes = blockBytes
        self.readAhead = readAhead
        self.compression = compression
    }

    /// Plans the backup of `device` (which must be tracked and in a taken snapshot).
    public func plan(device: BlockDevice, identity: DeviceIdentity, forceFull: Bool) throws(BackupError) -> BackupPlan {
        func failure(_ error: BlksnapError) -> BackupError {
            BackupError(.io, "reading the CBT of \(device.path) failed: \(error.description)", errno: error.errno)
        }
        let cbt: CBTInfo
        do {
            cbt = try device.cbtInfo()
        } catch {
            throw failure(error)
        }
        var latest = try repository.catalog.latest(deviceKey: identity.key)
        var exists = latest != nil
        if let head = latest?.id {
            // An increment is only as good as its whole chain.
            for member in try repository.chain(endingAt: head) {
                if member.status == .corrupt, latest?.status != .corrupt {
                    latest?.status = .corrupt
                    latest?.fullReason = "backup \(member.id ?? 0) in its chain failed verification"
                }
                if try !repository.storage.exists(member.fileName) { exists = false }
            }
        }
        do {
            return try BackupPlan.make(identity: identity, cbt: cbt, latest: latest, latestFileExists: exists,
                                       forceFull: forceFull) { () throws(BlksnapError) in try device.readWholeCBTMap() }
        } catch {
            throw failure(error)
        }
    }

    /// Copies what `plan` lists from `image` into a new file of the repository's storage,
    /// made durable but not yet published; calls `progress` before the first block (0 bytes), after each block, and
    /// once more with the final counts (``BackupProgress/finished``, the file's size as
    /// bytes written); stops (deleting the file) when `shouldStop` turns true.
    public func prepare(plan: BackupPlan, image: SnapshotImageReader, snapshotID: String, takenAt: Date,
                        deviceIndex: Int = 0, progress: (BackupProgress) -> Void = { _ in },
                        shouldStop: () -> Bool = { false }) throws(BackupError) -> PreparedBackup {
        guard image.capacityBytes == plan.identity.capacityBytes else {
            throw BackupError(.refused, "the image \(image.path) holds \(image.capacityBytes) bytes, the device \(plan.identity.devicePath) \(plan.identity.capacityBytes): the device was resized; take the backup again")
        }
        let fileName = repository.storage.newFileFolder
            + BackupRepository.newFileName(devicePath: plan.identity.devicePath, at: takenAt)
        let output = try repository.storage.create(fileName,
                                                   maximumBytes: QCOW2Format.maximumFileBytes(virtualSize: plan.identity.capacityBytes))
        let writer: QCOW2Writer
        do {
            writer = try QCOW2Writer(output: output, virtualSize: plan.identity.capacityBytes,
                                     backingFile: try plan.parent.map { (parent) throws(BackupError) in try BackupRepository.backingName(of: parent.fileName, from: fileName) },
                                     compression: compression)
        } catch {
            output.discard()
            throw error
        }
        var bytesRead: UInt64 = 0
        var differing: UInt64 = 0
        let total = plan.bytesToRead
        let index = try plan.resyncReason == nil ? nil : plan.parent.map { (parent) throws(BackupError) in
            try ChainClusterIndex(repository: repository, record: parent)
        }
        let padded = UnsafeMutableRawBufferPointer.allocate(byteCount: QCOW2Format.clusterSize, alignment: 4096)
        defer { padded.deallocate() }
        func report(finished: Bool = false, written: UInt64) {
            progress(BackupProgress(deviceIndex: deviceIndex, devicePath: plan.identity.devicePath, bytesRead: bytesRead,
                                    bytesWritten: written, bytesTotal: total, finished: finished))
        }
        report(written: writer.fileBytes)
        do {
            try image.forEachBlock(of: plan.ranges, blockBytes: blockBytes, readAhead: readAhead) { (offset, bytes) throws(BackupError) in
                if shouldStop() {
                    throw BackupError(.refused, "the backup of \(plan.identity.devicePath) was interrupted (EINTR); nothing was committed", errno: .interrupted)
                }
                if let index {
                    differing += try Self.writeDiffering(bytes, at: offset, against: index, writer: writer, padded: padded)
                } else {
                    try writer.write(guestOffset: offset, bytes: bytes)
                }
                bytesRead += UInt64(bytes.count)
                report(written: writer.fileBytes)
            }
        } catch {
            output.discard()
            switch error {
            case .read(let read):
                let kind: BackupError.Kind = read.isCorruption ? .snapshotCorrupted : .io
                throw BackupError(kind, "backup of \(plan.identity.devicePath): \(read.description)", errno: read.errno)
            case .body(let body):
                throw body
            }
        }
        let summary: QCOW2WriteSummary
        do {
            summary = try writer.finish()
        } catch {
            output.discard()
            throw error
        }
        report(finished: true, written: summary.fileSize)
        var finalPlan = plan
        if index != nil { finalPlan.changedBytes = differing }
        return PreparedBackup(plan: finalPlan, fileName: fileName, temporaryName: output.name, summary: summary,
                              bytesRead: bytesRead, takenAt: takenAt, snapshotID: snapshotID, compression: compression)
    }

    /// A resync's step: hashes each cluster of `bytes` (guest offset `offset`), compares it
    /// with the parent chain's (zeroes with zeroes) and writes only the runs of clusters
    /// that differ; returns their bytes.
    static func writeDiffering(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, against index: ChainClusterIndex,
                               writer: QCOW2Writer, padded: UnsafeMutableRawBufferPointer) throws(BackupError) -> UInt64 {
        let cluster = QCOW2Format.clusterSize
        let digests = ClusterHashing.sha256(ofClustersIn: bytes, clusterBytes: cluster)
        var runStart: Int?
        var written: UInt64 = 0
        func flush(_ end: Int) throws(BackupError) {
            guard let start = runStart else { return }
            try writer.write(guestOffset: offset + UInt64(start), bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            written += UInt64(end - start)
            runStart = nil
        }
        for (number, digest) in digests.enumerated() {
            let start = number * cluster
            let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<min(bytes.count, start + cluster)])
            var hash = digest
            if piece.count < cluster {
                // The disk's last cluster: stored zero padded, hashed so.
                padded.initializeMemory(as: UInt8.self, repeating: 0)
                padded.copyMemory(from: piece)
                hash = QCOW2Writer.sha256(UnsafeRawBufferPointer(padded))
            }
            let expected = try index.sha256(ofGuestCluster: (offset + UInt64(start)) / UInt64(cluster))
            let same = piece.isAllZero() ? expected == nil : expected == hash
            if same {
                try flush(start)
            } else if runStart == nil {
                runStart = start
            }
        }
        try flush(bytes.count)
        return written
    }

    /// Makes a prepared backup part of the repository: publish it under its name (rename,
    /// `fsync` of the directory), let the storage commit the point (on object storage, its
    /// manifest), then commit its catalog row with the hash of every cluster. A crash
    /// before the commit leaves a file no row names (``BackupRepository/removeLeftovers()``).
    /// `consistency` says whether hooks quiesced the application for its snapshot.
    public func commit(_ prepared: PreparedBackup, consistency: BackupConsistency = .crash) throws(BackupError) -> BackupRecord {
        try repository.storage.publish(prepared.temporaryName, as: prepared.fileName)
        let plan = prepared.plan
        let record = BackupRecord(
            takenAt: prepared.takenAt, devicePath: plan.identity.devicePath, deviceKey: plan.identity.key,
            capacityBytes: Int64(plan.identity.capacityBytes), logicalBlockSize: Int64(plan.identity.logicalBlockSize),
            serial: plan.identity.serial, wwn: plan.identity.wwn, cbtGeneration: plan.cbt.generationID.description,
            cbtChangesNumber: Int64(plan.cbt.changesNumber), cbtBlockSize: Int64(plan.cbt.blockSizeBytes),
            type: plan.type, parentId: plan.parent?.id, fullReason: plan.fullReason, fileName: prepared.fileName,
            fileSize: Int64(prepared.summary.fileSize), bytesRead: Int64(prepared.bytesRead),
            bytesWritten: Int64(prepared.summary.fileSize), changedBytes: Int64(plan.changedBytes),
            dataClusters: Int64(prepared.summary.dataClusters), zeroClusters: Int64(prepared.summary.zeroClusters),
            compression: prepared.compression.description, compressedClusters: Int64(prepared.summary.compressedClusters),
            consistency: consistency,
            snapshotId: prepared.snapshotID, status: .complete, resyncReason: plan.resyncReason)
        try repository.storage.commitPoint(record, clusters: prepared.summary.clusters, parentFileName: plan.parent?.fileName)
        return try repository.catalog.insert(record, clusters: prepared.summary.clusters)
    }

    /// Deletes a prepared backup's file, which was never published.
    public func discard(_ prepared: PreparedBackup) {
        try? repository.storage.remove(prepared.temporaryName)
    }
}
