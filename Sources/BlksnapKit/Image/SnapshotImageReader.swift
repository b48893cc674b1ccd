#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Reads a snapshot image (`/dev/blksnap-image_MAJ:MIN`) through a ``KernelInterface``:
/// the one image-reading core of the package.
///
/// The NBD export serves its READ requests with ``read(into:at:)``, and backups copy the
/// image (whole, or the ranges ``ChangedBlocks`` lists) with
/// ``forEachBlock(of:blockBytes:readAhead:_:)``. On the real kernel this is `pread(2)` of the image
/// node; on a simulator, the same request over its backend.
public final class SnapshotImageReader: Sendable {
    /// Bytes read per request by ``forEachBlock(of:blockBytes:readAhead:_:)`` unless told: 1 MiB.
    public static let defaultBlockBytes = 1 << 20

    /// The image device node.
    public var path: String { device.path }
    /// The image's size in bytes (`BLKGETSIZE64`): the original's capacity at take.
    public let capacityBytes: UInt64

    private let device: BlockDevice
    /// What a corrupted image answers (``ImageReadError/corruptedErrno``).
    private let corruptedErrno: Errno

    /// Opens an image node read-only; a corrupted image answers `EIO` (v5, VAL-7.0).
    public init(path: String, kernel: any KernelInterface = LinuxKernel()) throws(BlksnapError) {
        device = try BlockDevice(path: path, kernel: kernel, flags: O_RDONLY)
        capacityBytes = try device.capacityBytes()
        corruptedErrno = .ioError
    }

    /// Opens an image node of `driver`'s module read-only; read errors know what that
    /// module answers for a corrupted image (VAL-6.x: `ENOSPC`).
    public init(path: String, driver: any BlksnapDriver) throws(BlksnapError) {
        device = try BlockDevice(path: path, driver: driver, flags: O_RDONLY)
        capacityBytes = try device.capacityBytes()
        corruptedErrno = Errno(rawValue: driver.capabilities.corruptedImageErrno)
    }

    /// Opens the image of `original`, which must be in a taken snapshot.
    ///
    /// Throws with `ENODEV` when the device has no image (not in a snapshot, or the
    /// snapshot is not taken yet), and with the image's errno when its snapshot is corrupted.
    public convenience init(imageOf original: BlockDevice) throws(BlksnapError) {
        let info = try original.snapshotInfo()
        guard let imagePath = info.imagePath else {
            throw BlksnapError.invalidRequest(
                .snapshotInfo,
                "\(original.path) has no snapshot image: it is not in a taken snapshot (create one, add the device and take it first)",
                errno: .operationNotSupportedByDevice, devicePath: original.path)
        }
        try self.init(path: imagePath, driver: original.driver)
    }

    /// Closes the image node; reads then fail with `EBADF`.
    public func close() throws(BlksnapError) {
        try device.close()
    }

    /// Fills `buffer` from `offsetBytes`, retrying short reads; returns fewer bytes only at
    /// the end of the image.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(ImageReadError) -> Int {
        let fd: CInt
        do {
            fd = try device.descriptor.descriptor(for: .openDevice)
        } catch {
            throw ImageReadError(path: path, offsetBytes: offsetBytes, errno: error.errno, corruptedErrno: corruptedErrno)
        }
        guard offsetBytes < capacityBytes else { return 0 }
        let count = Int(min(UInt64(buffer.count), capacityBytes - offsetBytes))
        do {
            return try device.kernel.readAll(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<count]), at: offsetBytes)
        } catch {
            throw ImageReadError(path: path, offsetBytes: error.offsetBytes, errno: error.errno, corruptedErrno: corruptedErrno)
        }
    }

    /// Reads every byte of `ranges` (sorted or not; each clipped to the image) in requests of
    /// at most `blockBytes`, aligned to `blockBytes` from the start of the image, and hands
    /// each block to `body` with its offset, in order. `body` must copy what it keeps: the
    /// bytes are valid only during the call.
    ///
    /// With `readAhead` > 0 a thread of its own reads up to `readAhead` blocks ahead of
    /// `body` (into as many buffers of `blockBytes`), so reading overlaps what `body` does;
    /// with 0 (the default) one buffer is read and handed over in turn, on the calling
    /// thread. Either way the requests, their order and the errors are the same, and when
    /// this returns or throws no read is in flight.
    ///
    /// The whole image is `[SectorRange(offsetSectors: 0, countSectors: capacity / 512)]`
    /// (see ``wholeImage``).
    public func forEachBlock<E: Error>(
        of ranges: [SectorRange], blockBytes: Int = SnapshotImageReader.defaultBlockBytes, readAhead: Int = 0,
        _ body: (_ offsetBytes: UInt64, _ bytes: UnsafeRawBufferPointer) throws(E) -> Void
    ) throws(ImageCopyError<E>) {
        precondition(blockBytes > 0 && blockBytes % 512 == 0, "blockBytes must be a positive multiple of 512")
        precondition(readAhead >= 0, "readAhead must not be negative")
        var cursor = ImageBlockCursor(ranges: ranges, blockBytes: blockBytes, capacityBytes: capacityBytes)
        func deliver(_ offset: UInt64, _ bytes: UnsafeRawBufferPointer) throws(ImageCopyError<E>) {
            guard !bytes.isEmpty else { return }  // the image ended at this block's start
            do {
                try body(offset, bytes)
            } catch {
                throw .body(error)
            }
        }
        if readAhead > 0 {
            let ahead = ImageReadAhead(reader: self, cursor: cursor, blockBytes: blockBytes, depth: readAhead)
            ahead.start()
            defer { ahead.finish() }
            while true {
                let (block, bytes) = ahead.next()
                switch block {
                case .end:
                    return
                case .failed(let error):
                    throw .read(error)
                case .data(let offset, _):
                    try deliver(offset, bytes)
                    ahead.release()
                }
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockBytes, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let next: (offsetBytes: UInt64, count: Int)?
            do {
                next = try cursor.readNext(from: self, into: buffer)
            } catch {
                throw .read(error)
            }
            guard let (offset, count) = next else { return }
            try deliver(offset, UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// The whole image as one range.
    public var wholeImage: [SectorRange] {
        [SectorRange(offsetSectors: 0, countSectors: (capacityBytes + SectorRange.sectorSizeBytes - 1) / SectorRange.sectorSizeBytes)]
    }
}

/// Why ``SnapshotImageReader/forEachBlock(of:blockBytes:readAhead:_:)`` stopped: the image read
/// failed, or the caller's body threw.
public enum ImageCopyError<Body: Error>: Error {
    /// Reading the image failed.
    case read(ImageReadError)
    /// The body threw.
    case body(Body)
}
