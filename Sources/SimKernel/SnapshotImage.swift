#if canImport(Glibc)
import Glibc
#endif

/// The snapshot image of one original device (kernel: snapimage.c, spec §4.4):
/// `/dev/blksnap-image_<maj>:<min>` (VAL-7.0: `veeamblksnapimg_<maj>:<min>`), a bio-based disk whose reads and writes are
/// served by the device's ``DiffArea``.
///
/// Fields:
/// - `name`, `major`, `minor`: gendisk name (from the original's `dev_t`) and its own
///   `dev_t` (major 259);
/// - `capacitySectors`: the CBT capacity at take (after a possible reset);
/// - `logicalBlockSize`, `physicalBlockSize`: copied from the original;
/// - `diffArea`: the COW state that answers the I/O;
/// - `originalCBT`: the original's CBT, marked "set both" by every image write (§3.4).
///
/// Created at take step 9, deleted at destroy (or when a take fails after step 8);
/// owned by its ``GenDisk`` and by the ``Tracker`` that it images.
final class SnapshotImage: @unchecked Sendable {
    let name: String
    let major: UInt32
    let minor: UInt32
    let capacitySectors: UInt64
    let logicalBlockSize: UInt32
    let physicalBlockSize: UInt32
    let diffArea: DiffArea
    let originalCBT: CBTMap

    init(name: String, major: UInt32, minor: UInt32, capacitySectors: UInt64, logicalBlockSize: UInt32,
         physicalBlockSize: UInt32, diffArea: DiffArea, originalCBT: CBTMap) {
        self.name = name
        self.major = major
        self.minor = minor
        self.capacitySectors = capacitySectors
        self.logicalBlockSize = logicalBlockSize
        self.physicalBlockSize = physicalBlockSize
        self.diffArea = diffArea
        self.originalCBT = originalCBT
    }

    /// The logical-block-aligned byte range covering `[offset, offset+count)`.
    private func alignedRange(offset: UInt64, count: Int) -> (start: UInt64, end: UInt64) {
        let block = UInt64(logicalBlockSize)
        let end = min((offset + UInt64(count) + block - 1) / block * block, capacitySectors * 512)
        return (offset / block * block, end)
    }

    /// Reads image bytes (the caller bounded the range to the capacity). Unaligned
    /// requests are served like the page cache would: whole logical blocks are read.
    ///
    /// - Returns: 0 or `-EIO` (corrupted diff area, or a failing chunk); VAL-6.3.1
    ///   answers a corrupted diff area with `-ENOSPC` (``CowPolicy/corruptedImageErrno``).
    func read(into buffer: UnsafeMutableRawBufferPointer, atByte offset: UInt64) -> Int32 {
        if buffer.isEmpty { return 0 }
        if diffArea.isCorrupted { return -diffArea.policy.corruptedImageErrno }
        let (start, end) = alignedRange(offset: offset, count: buffer.count)
        if start == offset && end == offset + UInt64(buffer.count) {
            return diffArea.imageRead(into: buffer, atByte: offset)
        }
        let bounce = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(end - start), alignment: 16)
        defer { bounce.deallocate() }
        let result = diffArea.imageRead(into: bounce, atByte: start)
        if result != 0 { return result }
        let from = Int(offset - start)
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bounce[from..<from + buffer.count]))
        return 0
    }

    /// Writes image bytes (the caller bounded the range to the capacity): first marks
    /// the original's CBT "set both" over the written sectors (result ignored, §3.4),
    /// then hands the data to the diff area — never to the original. Unaligned
    /// requests are read-modify-written in whole logical blocks.
    ///
    /// - Returns: 0 or `-EIO` (VAL-6.3.1: `-ENOSPC` once corrupted, and `-EIO` when the
    ///   CBT mark fails, ``CowPolicy/imageWriteFailsOnCBTError``).
    func write(_ buffer: UnsafeRawBufferPointer, atByte offset: UInt64) -> Int32 {
        if buffer.isEmpty { return 0 }
        if diffArea.isCorrupted { return -diffArea.policy.corruptedImageErrno }
        let (start, end) = alignedRange(offset: offset, count: buffer.count)
        let marked = originalCBT.markBoth(sector: start / 512, count: (end - start) / 512)
        if marked != 0 && diffArea.policy.imageWriteFailsOnCBTError { return -EIO }  // Quirk.val6ImageErrors
        if start == offset && end == offset + UInt64(buffer.count) {
            return diffArea.imageWrite(buffer, atByte: offset)
        }
        let bounce = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(end - start), alignment: 16)
        defer { bounce.deallocate() }
        let result = diffArea.imageRead(into: bounce, atByte: start)
        if result != 0 { return result }
        let from = Int(offset - start)
        UnsafeMutableRawBufferPointer(rebasing: bounce[from..<from + buffer.count]).copyMemory(from: buffer)
        return diffArea.imageWrite(UnsafeRawBufferPointer(bounce), atByte: start)
    }
}
