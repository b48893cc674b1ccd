import BlksnapKit

/// What one device's backup will be: full or incremental on a parent, why, and the byte
/// ranges of the image to read.
public struct BackupPlan: Sendable, Hashable {
    /// The device.
    public var identity: DeviceIdentity
    /// Its CBT right after take.
    public var cbt: CBTInfo
    /// Full or incremental.
    public var type: BackupType
    /// The parent (incremental only).
    public var parent: BackupRecord?
    /// Why the backup is full, when it is: `--full`, no earlier backup, or what changed.
    public var fullReason: String?
    /// The image ranges to read: the whole image, or the clusters covering the CBT
    /// blocks changed since the parent; cluster-aligned (but for the disk's end), sorted,
    /// disjoint.
    public var ranges: [SectorRange]
    /// Bytes the CBT marks changed since the parent (the capacity for a full backup).
    public var changedBytes: UInt64
    /// CBT blocks changed since the parent (all blocks for a full backup).
    public var changedBlocks: Int
    /// Set when the CBT generation changed on the same device (same capacity and CBT block
    /// size): the increment reads the whole image, compares each cluster's SHA-256 with the
    /// parent chain's and stores only the clusters that differ; says why.
    public var resyncReason: String? = nil

    /// Bytes ``ranges`` cover.
    public var bytesToRead: UInt64 { ranges.reduce(0) { $0 + $1.countBytes } }

    /// Decides full or incremental for a device whose newest backup in the repository is
    /// `latest`, and lists what to read.
    ///
    /// An incremental needs a latest backup of the same device key that is not marked
    /// corrupt (the caller marks it so when any backup of its chain is), whose chain's
    /// files exist (`latestFileExists`), with the same CBT generation, capacity and CBT block
    /// size, and a changes number before the current one; otherwise the plan is full and
    /// ``fullReason`` says which condition failed. `map` is called only for an incremental.
    public static func make(identity: DeviceIdentity, cbt: CBTInfo, latest: BackupRecord?, latestFileExists: Bool,
                            forceFull: Bool, clusterSize: Int = QCOW2Format.clusterSize,
                            map: () throws(BlksnapError) -> [UInt8]) throws(BlksnapError) -> BackupPlan {
        let capacitySectors = identity.capacityBytes / SectorRange.sectorSizeBytes
        let whole = [SectorRange(offsetSectors: 0, countSectors: capacitySectors)]
        func full(_ reason: String) -> BackupPlan {
            BackupPlan(identity: identity, cbt: cbt, type: .full, parent: nil, fullReason: reason, ranges: whole,
                       changedBytes: identity.capacityBytes, changedBlocks: Int(cbt.blockCount))
        }
        if forceFull { return full("--full was given") }
        guard let latest, let latestID = latest.id else {
            return full("no earlier backup of \(identity.devicePath) (\(identity.key)) in the repository")
        }
        if latest.status == .corrupt {
            let which = latest.fullReason.map { "the chain of the last backup \(latestID) is not whole: \($0)" }
                ?? "the last backup \(latestID) of \(identity.devicePath) failed verification"
            return full("\(which); an increment on it would be corrupt too")
        }
        if !latestFileExists {
            return full("a file of the chain of the last backup \(latestID) (\(latest.fileName) or a parent's) is missing from the repository")
        }
        if latest.cbtGeneration != cbt.generationID.description, !forceFull,
           UInt64(latest.capacityBytes) == identity.capacityBytes, UInt64(latest.cbtBlockSize) == UInt64(cbt.blockSizeBytes) {
            let reason = "the CBT generation of \(identity.devicePath) changed (backup \(latestID) was taken in \(latest.cbtGeneration), the tracker is now in \(cbt.generationID): it was re-attached or reset, or the machine rebooted) on the same device (\(identity.key), same capacity and CBT block size), so the whole image is compared with backup \(latestID) cluster by cluster and only the clusters that differ are stored"
            return BackupPlan(identity: identity, cbt: cbt, type: .incremental, parent: latest, fullReason: nil, ranges: whole,
                              changedBytes: identity.capacityBytes, changedBlocks: Int(cbt.blockCount), resyncReason: reason)
        }
        if latest.cbtGeneration != cbt.generationID.description {
            return full("the CBT generation of \(identity.devicePath) changed (backup \(latestID) was taken in \(latest.cbtGeneration), the tracker is now in \(cbt.generationID): it was re-attached or reset, or the machine rebooted), so the changes since it are unknown")
        }
        if UInt64(latest.capacityBytes) != identity.capacityBytes {
            return full("the capacity of \(identity.devicePath) changed from \(latest.capacityBytes) to \(identity.capacityBytes) bytes since backup \(latestID)")
        }
        if UInt64(latest.cbtBlockSize) != UInt64(cbt.blockSizeBytes) {
            return full("the CBT block size of \(identity.devicePath) changed from \(latest.cbtBlockSize) to \(cbt.blockSizeBytes) bytes since backup \(latestID)")
        }
        guard latest.cbtChangesNumber < Int64(cbt.changesNumber) else {
            return full("the CBT changes number of \(identity.devicePath) is \(cbt.changesNumber), not after backup \(latestID)'s \(latest.cbtChangesNumber)")
        }
        let changed = ChangedBlocks(map: try map(), since: UInt8(latest.cbtChangesNumber),
                                    blockSizeBytes: cbt.blockSizeBytes, capacitySectors: capacitySectors)
        let changedBytes = changed.ranges.reduce(UInt64(0)) { $0 + $1.countBytes }
        return BackupPlan(identity: identity, cbt: cbt, type: .incremental, parent: latest, fullReason: nil,
                          ranges: clusterAligned(changed.ranges, clusterSize: clusterSize, capacityBytes: identity.capacityBytes),
                          changedBytes: changedBytes, changedBlocks: changed.blockCount)
    }

    /// `ranges` widened to whole clusters (a cluster partly covered by a changed block is
    /// read whole) and merged; the last one clipped to the capacity.
    public static func clusterAligned(_ ranges: [SectorRange], clusterSize: Int, capacityBytes: UInt64) -> [SectorRange] {
        let cluster = UInt64(clusterSize)
        var result: [SectorRange] = []
        var current: (start: UInt64, end: UInt64)?
        for range in ranges.sorted(by: { $0.offsetSectors < $1.offsetSectors }) {
            let start = range.offsetBytes / cluster * cluster
            let end = min((range.offsetBytes + range.countBytes + cluster - 1) / cluster * cluster, capacityBytes)
            guard end > start else { continue }
            if let open = current, start <= open.end {
                current = (open.start, max(open.end, end))
            } else {
                if let open = current { result.append(Self.range(open.start, open.end)) }
                current = (start, end)
            }
        }
        if let open = current { result.append(Self.range(open.start, open.end)) }
        return result
    }

    private static func range(_ start: UInt64, _ end: UInt64) -> SectorRange {
        let sector = SectorRange.sectorSizeBytes
        return SectorRange(offsetSectors: start / sector, countSectors: (end - start + sector - 1) / sector)
    }
}
