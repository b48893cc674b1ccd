#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import Logging
import SystemPackage

/// Difference storage in preallocated files: each portion is a new file in a
/// directory, allocated with `fallocate(2)`, pinned, and mapped with FIEMAP to sector
/// ranges of the block device holding the filesystem. The kernel then writes those
/// sectors directly, bypassing the filesystem.
///
/// Safety rules, all enforced:
/// - the filesystem must not be on a device being snapshotted (nor on its whole disk or
///   one of its partitions): the kernel would copy-on-write its own storage writes;
/// - every extent must be plain: no unknown/delayed/encoded/encrypted/inline/tail/shared
///   or unaligned extents (``FileExtent/unusableFlags``); unwritten extents — what
///   `fallocate` leaves — are fine, the kernel never reads through the file;
/// - each file is pinned for the snapshot's life: immutable flag (`FS_IOC_SETFLAGS`,
///   where the filesystem supports it) and an open descriptor;
/// - files are removed only by ``release()``, after the snapshot is destroyed.
///
/// Real kernel only (the files and the device are the host's); in the simulator use
/// ``DeviceRangeProvider`` over simulated devices.
public final class FileStorageProvider: DifferenceStorageProvider {
    /// How a new file's space is prepared.
    public enum Preparation: String, Sendable, Codable {
        /// `fallocate(2)` only: extents stay "unwritten" (reading the file gives zeros,
        /// whatever the kernel writes to the device). Fast.
        case allocate
        /// `fallocate(2)`, then zeros written and synced: extents become written, so the
        /// file's contents show what the kernel stored. Slow; for inspection and tests.
        case zeroFill
    }

    /// One storage file, pinned until release.
    public struct StorageFile: Sendable, Hashable {
        /// The file's path.
        public var path: String
        /// Its size in bytes.
        public var sizeBytes: UInt64
        /// Its extents, as FIEMAP reported them.
        public var extents: [FileExtent]
        /// The sector ranges handed to the kernel (extents merged, on ``FileStorageProvider/devicePath``).
        public var ranges: [SectorRange]
        /// Whether the immutable flag could be set.
        public var isImmutable: Bool
        /// The open descriptor that pins it.
        public var descriptor: CInt
    }

    /// The directory the files are created in.
    public let directory: String
    /// The block device holding the directory's filesystem (host path).
    public let devicePath: String
    /// Its device number (the directory's `st_dev`).
    public let deviceNumber: DeviceNumber
    /// Its logical block size in bytes.
    public let logicalBlockSizeBytes: UInt32
    /// The filesystem's block size in bytes (`statvfs` `f_bsize`).
    public let filesystemBlockBytes: UInt64
    /// How new files are prepared.
    public let preparation: Preparation
    /// Files created and not released yet, in creation order.
    public private(set) var files: [StorageFile] = []
    /// Most bytes to create in total; nil for no bound (the filesystem's free space is the bound).
    public let limitBytes: UInt64?
    /// Where files created and removed are logged (`.info`); no output unless given one.
    public let logger: Logger

    private var createdBytes: UInt64 = 0
    private var sequence = 0
    private let namePrefix: String

    /// Checks that `directory` can hold difference storage for a snapshot of
    /// `snapshottedDevices` (host paths or `MAJ:MIN`).
    ///
    /// - Throws: ``StorageError`` `.systemCall` (cannot stat the directory, not a
    ///   directory), `.noBlockDevice` (tmpfs, btrfs, NFS…: no block device the kernel
    ///   can write), `.onSnapshottedDevice` (`EBUSY`), `.deviceQuery` (a snapshotted
    ///   device cannot be resolved).
    public init(directory: String, snapshottedDevices: [String], preparation: Preparation = .allocate,
                limitBytes: UInt64? = nil, namePrefix: String = ".blksnap-diff",
                logger: Logger = Logger(label: "blksnap.storage", factory: { _ in SwiftLogNoOpLogHandler() })) throws(StorageError) {
        self.logger = logger
        var status = stat()
        if directory.withCString({ storageStat($0, &status) }) != 0 {
            throw StorageError(.systemCall, path: directory, errno: Errno(rawValue: errno), "cannot stat the storage directory")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw StorageError(.systemCall, path: directory, errno: .notDirectory, "the storage location is not a directory")
        }
        var fsStatus = statvfs()
        if directory.withCString({ storageStatvfs($0, &fsStatus) }) != 0 {
            throw StorageError(.systemCall, path: directory, errno: Errno(rawValue: errno), "cannot statvfs the storage directory")
        }
        let number = DeviceNumber(rawValue: UInt64(status.st_dev))
        let discovery: DeviceDiscovery
        do {
            discovery = try DeviceDiscovery()
        } catch {
            throw StorageError(.deviceQuery, path: directory, errno: error.errno, "cannot use libudev: \(error)")
        }
        let filesystem: BlockDeviceRecord
        do {
            filesystem = try discovery.record(for: number)
        } catch {
            throw StorageError(.noBlockDevice, path: directory, errno: .operationNotSupportedByDevice,
                               "its filesystem (device \(number)) is not on a block device the kernel knows "
                               + "(tmpfs, btrfs, network?): blksnap can only store on block devices")
        }
        // The filesystem's device and what it is built on (loop backing files, dm/md slaves).
        let underlying = Self.underlyingDevices(of: filesystem, via: nil, discovery: discovery, depth: 0)
        for member in snapshottedDevices {
            let record: BlockDeviceRecord
            do {
                record = try discovery.resolve(member)
            } catch {
                throw StorageError(.deviceQuery, path: member, errno: error.errno,
                                   "cannot resolve the snapshotted device: \(error)")
            }
            for (device, via) in underlying {
                if let reason = Self.conflict(filesystem: device, member: record) {
                    let chain = via.map { " (\($0))" } ?? ""
                    throw StorageError(.onSnapshottedDevice, path: directory, errno: .resourceBusy,
                                       "its filesystem is on \(device.devnodePath) (\(device.deviceNumber))\(chain), \(reason) "
                                       + "\(record.devnodePath): the snapshot would copy-on-write its own storage. "
                                       + "Choose a directory on another device")
                }
            }
        }
        self.directory = directory
        self.devicePath = filesystem.devnodePath
        self.deviceNumber = number
        self.logicalBlockSizeBytes = max(512, filesystem.logicalBlockSizeBytes)
        self.filesystemBlockBytes = max(512, UInt64(fsStatus.f_bsize))
        self.preparation = preparation
        self.limitBytes = limitBytes
        self.namePrefix = namePrefix
    }

    /// `device` and every block device it is built on, found in sysfs: the device holding
    /// a loop device's backing file (`loop/backing_file`), and the `slaves` of device-mapper
    /// or md devices, recursively (at most 8 levels). `via` says how each was reached.
    static func underlyingDevices(of device: BlockDeviceRecord, via: String?, discovery: DeviceDiscovery,
                                  depth: Int) -> [(device: BlockDeviceRecord, via: String?)] {
        var result: [(device: BlockDeviceRecord, via: String?)] = [(device, via)]
        guard depth < 8 else { return result }
        if var backing = readSysfs(device.syspath + "/loop/backing_file") {
            if backing.hasSuffix(" (deleted)") { backing = String(backing.dropLast(10)) }
            var status = stat()
            if backing.withCString({ storageStat($0, &status) }) == 0,
               let record = try? discovery.record(for: DeviceNumber(rawValue: UInt64(status.st_dev))) {
                result += underlyingDevices(of: record, via: "\(device.devnodePath) is backed by \(backing)",
                                            discovery: discovery, depth: depth + 1)
            }
        }
        for name in listDirectory(device.syspath + "/slaves") {
            guard let text = readSysfs(device.syspath + "/slaves/" + name + "/dev"),
                  let number = DeviceNumber(parsing: text),
                  let record = try? discovery.record(for: number) else { continue }
            result += underlyingDevices(of: record, via: "\(device.devnodePath) is built on \(record.devnodePath)",
                                        discovery: discovery, depth: depth + 1)
        }
        return result
    }

    /// A sysfs attribute without its trailing newline, or nil.
    private static func readSysfs(_ path: String) -> String? {
        let fd = path.withCString { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        var text = String(decoding: bytes[0..<count], as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }

    /// Names in a directory (without `.` and `..`); empty when it cannot be read.
    private static func listDirectory(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Why a filesystem on `filesystem` may not hold storage for a snapshot of `member`, or nil.
    static func conflict(filesystem: BlockDeviceRecord, member: BlockDeviceRecord) -> String? {
        if filesystem.deviceNumber == member.deviceNumber { return "which is the snapshotted device" }
        if filesystem.wholeDisk == member.deviceNumber { return "a partition of the snapshotted disk" }
        if member.wholeDisk == filesystem.deviceNumber { return "the whole disk holding the snapshotted partition" }
        return nil
    }

    /// Bytes still allowed by ``limitBytes`` (nil when unbounded).
    public var remainingSectors: UInt64? {
        limitBytes.map { $0 > createdBytes ? ($0 - createdBytes) / 512 : 0 }
    }

    /// Creates, allocates, pins and maps one new file of at least `minimumSectors`
    /// (rounded up to the filesystem block), or what the limit still allows.
    ///
    /// - Throws: ``StorageError``: `.systemCall` (create, `fallocate` — `ENOSPC` when the
    ///   filesystem is full —, write, fsync, FIEMAP), `.unusableExtent`. The file is
    ///   removed again on any failure.
    public func nextPortion(minimumSectors: UInt64) throws(StorageError) -> StoragePortion? {
        let unit = max(filesystemBlockBytes, UInt64(logicalBlockSizeBytes))
        var sizeBytes = (max(1, minimumSectors) * 512 + unit - 1) / unit * unit
        if let limitBytes {
            guard limitBytes > createdBytes else { return nil }
            sizeBytes = min(sizeBytes, (limitBytes - createdBytes) / unit * unit)
            if sizeBytes == 0 { return nil }
        }
        sequence += 1
        let path = directory + (directory.hasSuffix("/") ? "" : "/") + "\(namePrefix)-\(getpid())-\(sequence)"
        let fd = path.withCString { Glibc.open($0, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        guard fd >= 0 else {
            throw StorageError(.systemCall, path: path, errno: Errno(rawValue: errno), "cannot create the storage file")
        }
        do {
            let file = try prepare(fd: fd, path: path, sizeBytes: sizeBytes)
            files.append(file)
            createdBytes += sizeBytes
            logger.info("storage file created", metadata: ["path": "\(path)", "bytes": "\(sizeBytes)",
                                                          "extents": "\(file.ranges.count)"])
            return StoragePortion(devicePath: devicePath, ranges: file.ranges)
        } catch {
            Self.unpin(fd: fd)
            Glibc.close(fd)
            unlink(path)
            throw error
        }
    }

    /// Allocate, fill if asked, sync, pin, map and check one new file.
    private func prepare(fd: CInt, path: String, sizeBytes: UInt64) throws(StorageError) -> StorageFile {
        // posix_fallocate returns the error instead of setting errno.
        let result = posix_fallocate(fd, 0, off_t(sizeBytes))
        if result != 0 {
            let code = Errno(rawValue: result)
            throw StorageError(.systemCall, path: path, errno: code,
                               code == .noSpace ? "not enough free space for \(sizeBytes) bytes of storage"
                                                : "fallocate failed: the filesystem must support preallocation")
        }
        if preparation == .zeroFill {
            let block = [UInt8](repeating: 0, count: 1 << 20)
            var offset: UInt64 = 0
            while offset < sizeBytes {
                let count = Int(min(UInt64(block.count), sizeBytes - offset))
                let written = block.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress, count, off_t(offset)) }
                if written <= 0 {
                    throw StorageError(.systemCall, path: path, errno: Errno(rawValue: errno), "writing zeros failed")
                }
                offset += UInt64(written)
            }
        }
        if fsync(fd) != 0 {
            throw StorageError(.systemCall, path: path, errno: Errno(rawValue: errno), "fsync failed")
        }
        let immutable = try Self.pin(fd: fd, path: path)
        let extents = try FileExtentMapper.extents(of: fd, path: path)
        let ranges = try Self.ranges(of: extents, sizeBytes: sizeBytes, blockBytes: UInt64(logicalBlockSizeBytes), path: path)
        return StorageFile(path: path, sizeBytes: sizeBytes, extents: extents, ranges: ranges,
                           isImmutable: immutable, descriptor: fd)
    }

    /// Checks that the extents cover `[0, sizeBytes)` without holes, are all usable and
    /// block aligned, and converts them to merged sector ranges.
    static func ranges(of extents: [FileExtent], sizeBytes: UInt64, blockBytes: UInt64,
                       path: String) throws(StorageError) -> [SectorRange] {
        var ranges: [SectorRange] = []
        var covered: UInt64 = 0
        for extent in extents.sorted(by: { $0.logicalBytes < $1.logicalBytes }) {
            if extent.logicalBytes >= sizeBytes { break }
            if let bad = extent.unusableReason {
                throw StorageError(.unusableExtent, path: path, errno: .invalidArgument,
                                   "extent at file offset \(extent.logicalBytes) is \(bad.name): \(bad.reason); "
                                   + "the kernel cannot write it directly. Use another filesystem (ext4, xfs)")
            }
            guard extent.logicalBytes == covered else {
                throw StorageError(.unusableExtent, path: path, errno: .invalidArgument,
                                   "the file has a hole at offset \(covered): preallocation did not allocate every block")
            }
            let length = min(extent.lengthBytes, sizeBytes - extent.logicalBytes)
            guard extent.physicalBytes % blockBytes == 0, length % blockBytes == 0 else {
                throw StorageError(.unusableExtent, path: path, errno: .invalidArgument,
                                   "extent at file offset \(extent.logicalBytes) (device byte \(extent.physicalBytes), "
                                   + "\(length) bytes) is not aligned to the device's \(blockBytes)-byte blocks")
            }
            let range = SectorRange(offsetSectors: extent.physicalBytes / 512, countSectors: length / 512)
            if let last = ranges.last, last.endSectors == range.offsetSectors {
                ranges[ranges.count - 1].countSectors += range.countSectors
            } else {
                ranges.append(range)
            }
            covered += length
        }
        guard covered == sizeBytes else {
            throw StorageError(.unusableExtent, path: path, errno: .invalidArgument,
                               "FIEMAP mapped \(covered) of \(sizeBytes) bytes: the file is not fully allocated")
        }
        return ranges
    }

    /// Sets the immutable flag; false when the filesystem has no such flag
    /// (`EOPNOTSUPP`, `ENOTTY`, `EINVAL`).
    static func pin(fd: CInt, path: String) throws(StorageError) -> Bool {
        let kernel = LinuxKernel()
        var flags: Int64 = 0  // the kernel reads and writes an int; room for a long
        do {
            _ = try withUnsafeMutableBytes(of: &flags) { bytes throws(Errno) in
                try kernel.ioctl(fd, BLKSNAP_REQ_FS_IOC_GETFLAGS, bytes.baseAddress!)
            }
            flags = Int64(Int32(truncatingIfNeeded: flags) | Int32(bitPattern: BLKSNAP_FS_IMMUTABLE_FL))
            _ = try withUnsafeMutableBytes(of: &flags) { bytes throws(Errno) in
                try kernel.ioctl(fd, BLKSNAP_REQ_FS_IOC_SETFLAGS, bytes.baseAddress!)
            }
            return true
        } catch let error {
            if error == .notSupported || error == .inappropriateIOCTLForDevice || error == .invalidArgument {
                return false
            }
            throw StorageError(.systemCall, path: path, errno: error,
                               "cannot set the immutable flag (FS_IOC_SETFLAGS; needs CAP_LINUX_IMMUTABLE)")
        }
    }

    /// Clears the immutable flag, ignoring every failure (best effort before unlink).
    static func unpin(fd: CInt) {
        let kernel = LinuxKernel()
        var flags: Int64 = 0
        let read = withUnsafeMutableBytes(of: &flags) { bytes in
            (try? kernel.ioctl(fd, BLKSNAP_REQ_FS_IOC_GETFLAGS, bytes.baseAddress!)) != nil
        }
        guard read else { return }
        flags = Int64(Int32(truncatingIfNeeded: flags) & ~Int32(bitPattern: BLKSNAP_FS_IMMUTABLE_FL))
        _ = withUnsafeMutableBytes(of: &flags) { bytes in
            try? kernel.ioctl(fd, BLKSNAP_REQ_FS_IOC_SETFLAGS, bytes.baseAddress!)
        }
    }

    /// Unpins and removes every file (the snapshot must be destroyed already).
    /// Continues past failures and throws the first one; calling again retries only
    /// what is left.
    public func release() throws(StorageError) {
        var firstError: StorageError?
        var left: [StorageFile] = []
        for file in files {
            Self.unpin(fd: file.descriptor)
            if file.path.withCString({ unlink($0) }) != 0 && errno != ENOENT {
                let code = Errno(rawValue: errno)
                if firstError == nil {
                    firstError = StorageError(.systemCall, path: file.path, errno: code,
                                              "cannot remove the storage file (immutable flag still set?)")
                }
                left.append(file)
                continue
            }
            Glibc.close(file.descriptor)
            logger.info("storage file removed", metadata: ["path": "\(file.path)"])
        }
        files = left
        if let firstError { throw firstError }
    }
}

/// `stat(2)` under a name that does not collide with `struct stat`.
private func storageStat(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<stat>) -> CInt {
    stat(path, buffer)
}

/// `statvfs(3)` under a name that does not collide with `struct statvfs`.
private func storageStatvfs(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<statvfs>) -> CInt {
    statvfs(path, buffer)
}
