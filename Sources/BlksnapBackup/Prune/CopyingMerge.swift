import Foundation

/// A prune's merge on a ``PointReplacingStorage``: the target (the kept increment) is
/// written anew with every cluster it or its parent, the source, holds (each read through
/// ``BackupChainReader`` and checked against the catalog's SHA-256), on the source's parent
/// (none: the target becomes full), then swapped in for both.
///
/// It reads the target's and the source's data and writes the merged file whole: on object
/// storage nothing can be appended in place.
struct CopyingMerge {
    let repository: BackupRepository
    let storage: any PointReplacingStorage

    /// What a merge did.
    struct Outcome {
        var record: BackupRecord
        var clustersCopied: Int
        var bytesWritten: UInt64
    }

    /// Merges `source` into `target` (whose parent it is).
    func merge(source: BackupRecord, into target: BackupRecord) throws(BackupError) -> Outcome {
        let newParent = try source.parentId.map { (id) throws(BackupError) in try repository.record(id: id) }
        let reader = try BackupChainReader(repository: repository, id: target.id ?? 0)
        guard reader.chain.files.count >= 2, reader.records[1].id == source.id else {
            throw BackupError(.corrupted, "backup \(target.id ?? 0) should have \(source.id ?? 0) as its backing file at this step of the prune: the chain changed; run the prune again")
        }
        let compression = try BackupCompression(parsing: target.compression)
        let output = try storage.createReplacement(of: target.fileName,
                                                   maximumBytes: QCOW2Format.maximumFileBytes(virtualSize: UInt64(target.capacityBytes)))
        do {
            let writer = try QCOW2Writer(output: output, virtualSize: UInt64(target.capacityBytes),
                                         backingFile: try newParent.map { (parent) throws(BackupError) in
                                             try BackupRepository.backingName(of: parent.fileName, from: target.fileName) },
                                         compression: compression)
            let copied = try copy(from: reader, to: writer, zeroesNeedFlag: newParent != nil)
            let summary = try writer.finish()
            var record = target
            record.parentId = newParent?.id
            record.type = newParent == nil ? .full : .incremental
            record.fileSize = Int64(summary.fileSize)
            record.dataClusters = Int64(summary.dataClusters)
            record.zeroClusters = Int64(summary.zeroClusters)
            record.compressedClusters = Int64(summary.compressedClusters)
            try storage.commitReplacement(record, clusters: summary.clusters, parentFileName: newParent?.fileName, removing: source)
            try repository.catalog.replaceBackup(record, clusters: summary.clusters, deleting: source.id ?? 0)
            return Outcome(record: record, clustersCopied: copied, bytesWritten: summary.fileSize)
        } catch {
            output.discard()
            throw error
        }
    }

    /// Copies every cluster the first two files of `reader`'s chain map (data, or the zero
    /// flag where `zeroesNeedFlag`: a backing file stays under the result), in ascending
    /// order, consecutive data clusters together; returns the data clusters copied.
    private func copy(from reader: BackupChainReader, to writer: QCOW2Writer, zeroesNeedFlag: Bool) throws(BackupError) -> Int {
        let cluster = reader.clusterSize
        let batchClusters = 64
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: batchClusters * cluster, alignment: 4096)
        defer { buffer.deallocate() }
        let files = Array(reader.chain.files.prefix(2))
        var runStart: UInt64?
        var runLength = 0
        var copied = 0
        func flush() throws(BackupError) {
            guard let start = runStart else { return }
            let offset = start * UInt64(cluster)
            let bytes = min(runLength * cluster, Int(reader.sizeBytes - offset))
            try writer.write(guestOffset: offset, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<bytes]))
            runStart = nil
            runLength = 0
        }
        for index in 0..<reader.clusterCount {
            var found: QCOW2ClusterMapping = .unallocated
            for file in files {
                found = try file.mapping(ofGuestCluster: index)
                if found != .unallocated { break }
            }
            switch found {
            case .unallocated:
                try flush()
            case .zero:
                try flush()
                if zeroesNeedFlag { try writer.writeZeroes(guestCluster: index) }
            case .data, .compressed:
                if let start = runStart, start + UInt64(runLength) != index || runLength == batchClusters { try flush() }
                if runStart == nil { runStart = index }
                let slot = UnsafeMutableRawBufferPointer(rebasing: buffer[(runLength * cluster)..<((runLength + 1) * cluster)])
                try reader.readCluster(index, into: slot)
                runLength += 1
                copied += 1
            }
        }
        try flush()
        return copied
    }
}
