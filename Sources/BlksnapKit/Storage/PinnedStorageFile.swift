#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// An existing, fully allocated regular file pinned and mapped to sector ranges of its
/// filesystem's block device, for a one-shot `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE`
/// (`blksnapctl snapshot append-storage ID --file PATH`).
///
/// It reuses ``FileStorageProvider``'s rules: FIEMAP through ``FileExtentMapper``, the
/// same refusal of unusable, unaligned or missing extents, and the immutable flag as the
/// pin. Unlike the provider it neither creates nor removes the file and keeps no
/// descriptor open: the immutable flag alone keeps the filesystem from moving or freeing
/// the blocks until the operator clears it (`chattr -i`) after the snapshot is destroyed.
///
/// Real kernel only: the simulator has no host files.
public struct PinnedStorageFile: Sendable, Hashable {
    /// The file's path.
    public var path: String
    /// Its size in bytes.
    public var sizeBytes: UInt64
    /// The block device holding its filesystem (host path).
    public var devicePath: String
    /// That device's number (the file's `st_dev`).
    public var deviceNumber: DeviceNumber
    /// Its extents, as FIEMAP reported them.
    public var extents: [FileExtent]
    /// The merged sector ranges of ``devicePath`` handed to the kernel.
    public var ranges: [SectorRange]
    /// Whether the immutable flag is set (false when the filesystem has no such flag).
    public var isImmutable: Bool

    /// Total sectors in ``ranges``.
    public var countSectors: UInt64 { ranges.reduce(0) { $0 &+ $1.countSectors } }

    /// Pins `path` (immutable flag) and maps it.
    ///
    /// The flag is set before FIEMAP so the blocks cannot move between mapping and use;
    /// it is cleared again when anything after it fails.
    ///
    /// - Throws: ``StorageError`` `.systemCall` (open, not a regular file, empty, size not
    ///   a multiple of the device's logical block, fsync, FS_IOC_SETFLAGS, FIEMAP),
    ///   `.noBlockDevice` (tmpfs, btrfs, network filesystems), `.unusableExtent`.
    public static func pin(path: String) throws(StorageError) -> PinnedStorageFile {
        let fd = path.withCString { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            throw StorageError(.systemCall, path: path, errno: Errno(rawValue: errno),
                               "cannot open the storage file (it must exist: create it with 'fallocate -l SIZE PATH')")
        }
        defer { Glibc.close(fd) }
        var status = stat()
        if fstat(fd, &status) != 0 {
            throw StorageError(.systemCall, path: path, errno: Errno(rawValue: errno), "cannot stat the storage file")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw StorageError(.systemCall, path: path, errno: .invalidArgument,
                               "not a regular file: give a preallocated file, or a block device with --device")
        }
        let sizeBytes = UInt64(status.st_size)
        let number = DeviceNumber(rawValue: UInt64(status.st_dev))
        let record: BlockDeviceRecord
        do {
            record = try DeviceDiscovery().record(for: number)
        } catch {
            throw StorageError(.noBlockDevice, path: path, errno: .operationNotSupportedByDevice,
                               "its filesystem (device \(number)) is not on a block device the kernel knows "
                               + "(tmpfs, btrfs, network?): blksnap can only store on block devices")
        }
        let blockBytes = UInt64(max(512, record.logicalBlockSizeBytes))
        guard sizeBytes > 0, sizeBytes % blockBytes == 0 else {
            throw StorageError(.systemCall, path: path, errno: .invalidArgument,
                               "its size (\(sizeBytes) bytes) is not a positive multiple of the \(blockBytes)-byte "
                               + "logical blocks of \(record.devnodePath): preallocate it with 'fallocate -l SIZE'")
        }
        if fsync(fd) != 0 {
            throw StorageError(.systemCall, path: path, errno: Errno(rawValue: errno), "fsync failed")
        }
        let immutable = try FileStorageProvider.pin(fd: fd, path: path)
        do {
            let extents = try FileExtentMapper.extents(of: fd, path: path)
            let ranges = try FileStorageProvider.ranges(of: extents, sizeBytes: sizeBytes, blockBytes: blockBytes, path: path)
            return PinnedStorageFile(path: path, sizeBytes: sizeBytes, devicePath: record.devnodePath,
                                     deviceNumber: number, extents: extents, ranges: ranges, isImmutable: immutable)
        } catch {
            if immutable { FileStorageProvider.unpin(fd: fd) }
            throw error
        }
    }

    /// Clears the immutable flag again (best effort), e.g. when the append failed.
    public func unpin() {
        let fd = path.withCString { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return }
        FileStorageProvider.unpin(fd: fd)
        Glibc.close(fd)
    }

    /// ``Control/appendStorage(_:devicePath:ranges:allowSameDevice:knownMembers:)``
    /// of ``ranges`` on ``devicePath``; on any failure the file is unpinned.
    ///
    /// - Returns: the guard's warnings.
    @discardableResult
    public func append(to id: SnapshotID, control: Control, allowSameDevice: Bool = false) throws(BlksnapError) -> [String] {
        do {
            return try control.appendStorage(id, devicePath: devicePath, ranges: ranges, allowSameDevice: allowSameDevice)
        } catch {
            if isImmutable { unpin() }
            throw error
        }
    }
}
