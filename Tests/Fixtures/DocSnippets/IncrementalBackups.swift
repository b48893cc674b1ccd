// The code of the article "Incremental backups with CBT"
// (Sources/BlksnapKit/BlksnapKit.docc/IncrementalBackupsWithCBT.md). Each region between
// `// DOC-BEGIN name` and `// DOC-END name` is one ```swift block of the article, in order;
// DocCArticleTests checks that they are identical, and main.swift runs this code on the simulator.

// DOC-BEGIN backup-point
import BlksnapKit

/// What a backup records so that the next one can copy only the changes.
struct BackupPoint: Codable, Hashable {
    /// The CBT generation (``CBTInfo/generationID``, as text): a new one means "start over".
    var generation: String
    /// The changes number right after this backup's take.
    var changesNumber: UInt8
    /// The device's capacity and CBT block size when it was taken.
    var capacityBytes: UInt64
    var blockSizeBytes: UInt32
}
// DOC-END backup-point

// DOC-BEGIN ranges-to-copy
/// The parts of the image of `device` (a member of a snapshot just taken) a backup must
/// copy: the blocks changed since `last`, or the whole device when there is no usable
/// `last`. Returns them with the point to record once the copy is safely stored.
func rangesToCopy(of device: BlockDevice, since last: BackupPoint?) throws(BlksnapError)
    -> (ranges: [SectorRange], point: BackupPoint) {
    let (info, map) = try device.readCBT()  // the read map: copied at this snapshot's take
    let point = BackupPoint(generation: info.generationID.description, changesNumber: info.changesNumber,
                            capacityBytes: info.capacityBytes, blockSizeBytes: info.blockSizeBytes)
    guard let last, last.generation == point.generation, last.capacityBytes == point.capacityBytes,
          last.blockSizeBytes == point.blockSizeBytes, last.changesNumber < point.changesNumber else {
        // First backup, tracker re-attached or reset, device resized: the changes are unknown.
        return ([SectorRange(offsetSectors: 0, countSectors: info.capacitySectors)], point)
    }
    let changed = ChangedBlocks(map: map, since: last.changesNumber,
                                blockSizeBytes: info.blockSizeBytes, capacitySectors: info.capacitySectors)
    return (changed.ranges, point)
}
// DOC-END ranges-to-copy

// DOC-BEGIN copy-changes
/// Copies what changed on `device` since `last` out of its snapshot image, handing each
/// block to `store` with its offset; returns the point the next backup starts from.
func copyChanges(of device: BlockDevice, since last: BackupPoint?,
                 to store: (_ offsetBytes: UInt64, _ bytes: UnsafeRawBufferPointer) throws -> Void) throws -> BackupPoint {
    let (ranges, point) = try rangesToCopy(of: device, since: last)
    let image = try SnapshotImageReader(imageOf: device)
    defer { try? image.close() }
    try image.forEachBlock(of: ranges) { offset, bytes in try store(offset, bytes) }
    return point
}
// DOC-END copy-changes

// DOC-BEGIN back-up-changes
/// One backup of `devicePath`: a snapshot kept by a session, the changes since `last` (or
/// everything) handed to `store`, the snapshot destroyed. Record the point it returns
/// only once the data is safely stored.
func backUpChanges(of devicePath: String, storagePath: String, since last: BackupPoint?,
                   kernel: any KernelInterface = LinuxKernel(),
                   store: (_ offsetBytes: UInt64, _ bytes: UnsafeRawBufferPointer) throws -> Void) async throws -> BackupPoint {
    try await withSnapshot(of: [devicePath], storagePath: storagePath, kernel: kernel) { images in
        let device = try BlockDevice(path: images[0].devicePath, kernel: kernel)
        return try copyChanges(of: device, since: last, to: store)
    }
}
// DOC-END back-up-changes
