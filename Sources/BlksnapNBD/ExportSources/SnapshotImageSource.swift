import BlksnapKit
import SystemPackage

/// A blksnap snapshot image as an NBD export: reads through ``SnapshotImageReader``
/// (the image node on the kernel, the same request on a simulator), and, when asked,
/// the CBT blocks changed after a changes number (``ChangedBlocks``, the same blocks
/// `blksnapctl cbt read --since N` lists) as the dirty bitmap `qemu:dirty-bitmap:cbt`.
///
/// The CBT map is the copy the kernel made at take, read once: it belongs to the image.
/// The comparison with N is only meaningful in the generation N was recorded in; the
/// generation id is in the export's description, and checking it is the caller's job.
public final class SnapshotImageSource: NBDExportSource {
    /// The dirty bitmap's name: the context is `qemu:dirty-bitmap:cbt`.
    public static let bitmapName = "cbt"

    public let name: String
    public let sizeBytes: UInt64
    public let description: String
    public let preferredBlockBytes: UInt32
    public let metaContexts: [NBDMetaContext]

    /// The original device.
    public let original: BlockDevice
    /// The image reader.
    public let reader: SnapshotImageReader
    /// The CBT table of the original at take.
    public let cbtInfo: CBTInfo
    /// The changes number the dirty bitmap is relative to, if one is offered.
    public let cbtSince: UInt8?
    /// The blocks changed after ``cbtSince``.
    public let changed: ChangedBlocks?

    /// Opens the image of `original` (which must be in a taken snapshot) and, when
    /// `cbtSince` is given, reads its CBT map.
    ///
    /// - Parameters:
    ///   - name: the export's name; by default the device's base name (`/dev/sda` → `sda`).
    ///   - cbtSince: offer `qemu:dirty-bitmap:cbt` with the blocks whose changes number is
    ///     greater than this.
    /// - Throws: ``BlksnapError``: `ENODEV` when the device has no image, the errno of the
    ///   CBT requests otherwise.
    public init(original: BlockDevice, name: String? = nil, cbtSince: UInt8? = nil) throws(BlksnapError) {
        self.original = original
        self.name = name ?? Self.exportName(of: original.path)
        reader = try SnapshotImageReader(imageOf: original)
        sizeBytes = reader.capacityBytes
        let info: CBTInfo
        if let cbtSince {
            let (cbt, map) = try original.readCBT()
            info = cbt
            changed = ChangedBlocks(map: map, since: cbtSince, blockSizeBytes: cbt.blockSizeBytes,
                                    capacitySectors: min(cbt.capacitySectors, reader.capacityBytes / SectorRange.sectorSizeBytes))
            metaContexts = [.allocation, .dirtyBitmap(Self.bitmapName)]
        } else {
            info = try original.cbtInfo()
            changed = nil
            metaContexts = [.allocation]
        }
        cbtInfo = info
        self.cbtSince = cbtSince
        let block = info.blockSizeBytes
        preferredBlockBytes = block >= 512 && block <= NBDLimits.maximumPayloadBytes && block & (block - 1) == 0 ? block : 4096
        var text = "blksnap image of \(original.path) (\(reader.path)), \(reader.capacityBytes) bytes;"
            + " CBT generation \(info.generationID), changes number \(info.changesNumber), block \(info.blockSizeBytes) bytes"
        if let cbtSince, let changed {
            text += "; qemu:dirty-bitmap:cbt = \(changed.blockCount) blocks changed after number \(cbtSince)"
        }
        description = text
    }

    /// The export name of a device path: its base name (`/dev/sda` → `sda`, `8:0` → `8:0`).
    public static func exportName(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(NBDSourceError) {
        let count: Int
        do {
            count = try reader.read(into: buffer, at: offsetBytes)
        } catch {
            // The snapshot's state names the cause better than the read's errno (a
            // destroyed snapshot's image also answers EIO).
            if let gone = healthCheck() { throw gone }
            throw Self.sourceError(error, original: original.path)
        }
        if count < buffer.count {
            throw NBDSourceError(errno: .ioError, message: "read of \(reader.path) at byte \(offsetBytes) ended after \(count) of \(buffer.count) bytes: the image shrank (its snapshot is gone)", isFatal: true)
        }
    }

    /// `base:allocation`: the whole image is data (nothing added). The dirty bitmap: the
    /// CBT blocks changed after ``cbtSince``.
    public func blockStatus(_ context: NBDMetaContext, into extents: inout NBDExtentBuilder) throws(NBDSourceError) {
        guard case .dirtyBitmap(Self.bitmapName) = context, let changed else { return }
        for range in changed.ranges(overlappingBytes: extents.offsetBytes, length: extents.lengthBytes) {
            extents.add(offsetBytes: range.offsetBytes, lengthBytes: range.countBytes, flags: nbdStateDirty)
            if extents.isFull { return }
        }
    }

    public func healthCheck() -> NBDSourceError? {
        let info: SnapshotInfo
        do {
            info = try original.snapshotInfo()
        } catch {
            return NBDSourceError(errno: .ioError, message: "the snapshot of \(original.path) cannot be queried: \(error); its image is no longer served", isFatal: true)
        }
        if let code = info.errorCode {
            return NBDSourceError(errno: .ioError, message: "the snapshot of \(original.path) is corrupted (\(ErrnoName.name(of: code))): difference storage overflow or an I/O error on it; its image cannot be trusted. Destroy it and take a new one with more storage", isFatal: true)
        }
        if info.imagePath != reader.path {
            return NBDSourceError(errno: .ioError, message: "the snapshot of \(original.path) was destroyed: \(reader.path) is gone", isFatal: true)
        }
        return nil
    }

    /// A failed read of the image is `EIO` to the client whatever `pread(2)` answered
    /// (VAL-6.x answers a corrupted image's reads with `ENOSPC`, which is no full disk);
    /// the read's errno is in the message.
    static func sourceError(_ error: ImageReadError, original: String) -> NBDSourceError {
        NBDSourceError(errno: .ioError, message: error.description, isFatal: error.isCorruption
            || [.noSuchFileOrDirectory, .noSuchAddressOrDevice, .operationNotSupportedByDevice, .badFileDescriptor].contains(error.errno))
    }
}
