#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import Crypto
import SystemPackage

/// What `backup restore` wrote.
public struct RestoreSummary: Sendable, Hashable {
    /// The backup restored.
    public var backupID: Int64
    /// The target.
    public var target: String
    /// Whether the target is a block device (else a raw image file).
    public var isBlockDevice: Bool
    /// The disk's size.
    public var virtualSize: UInt64
    /// Bytes written to the target (a new file skips clusters that read as zeroes).
    public var bytesWritten: UInt64
    /// Files of the chain read, head first.
    public var chainFiles: [String]
    /// How it was written: `full` (every cluster, or a new sparse file), `compare`
    /// (`--delta`: the target read and only differing clusters written), or `cbt`
    /// (``CBTDeltaRestore``: the clusters the device's CBT and the chain name, nothing read).
    public var method: String = "full"
    /// Bytes read from the target (`compare` only).
    public var targetBytesRead: UInt64 = 0
    /// `cbt`: the backup whose CBT number the device's changes were counted from.
    public var cbtBase: Int64? = nil
    /// `cbt`: bytes of the CBT blocks changed on the device since ``cbtBase``.
    public var cbtChangedBytes: UInt64 = 0
    /// `cbt`: clusters that differ between ``cbtBase`` and the restored point.
    public var chainDifferingClusters: Int = 0
}

/// Writes the point in time of a backup (its chain read as one disk) to a raw image file
/// or onto a block device, checking each data cluster against its catalog SHA-256.
///
/// A new (or empty) file is created sparse: only clusters with data are written. A
/// block device must not be mounted (nor any of its partitions, nor held by another
/// exclusive user) and must be at least the backup's size; all of it up to the size is
/// written, zeroes included. An existing non-empty file is refused unless `overwrite`.
public struct BackupRestorer {
    /// The repository.
    public let repository: BackupRepository

    /// Creates a restorer.
    public init(repository: BackupRepository) {
        self.repository = repository
    }

    /// Restores backup `id` to `target`. `progress`, when given, receives the copy's counts
    /// (device path: the target; bytes read: the disk's bytes done, zero clusters included)
    /// and is finished with the outcome, so its ``BackupProgressMeter/events`` end here.
    ///
    /// With `delta`, an existing target (a block device, or a file, which is grown to the
    /// disk's size if shorter) is read cluster by cluster and only the clusters that differ
    /// from the backup are written (the summary's method is `compare`); a target that does
    /// not exist yet is restored in full. Clusters are compared before their SHA-256 is
    /// checked; only those that differ, and so are written, are checked.
    public func restore(id: Int64, to target: String, overwrite: Bool = false, delta: Bool = false,
                        progress: BackupProgressMeter? = nil) throws(BackupError) -> RestoreSummary {
        do {
            let summary = try restoreChain(id: id, to: target, overwrite: overwrite, delta: delta) { read, written, total, finished in
                progress?.record(BackupProgress(deviceIndex: 0, devicePath: target, bytesRead: read, bytesWritten: written,
                                                bytesTotal: total, finished: finished))
            }
            progress?.finish()
            return summary
        } catch {
            progress?.finish(failure: error.message)
            throw error
        }
    }

    /// Counts of a restore: bytes of the disk done, bytes written, disk size, whether final.
    private typealias Report = (UInt64, UInt64, UInt64, Bool) -> Void

    private func restoreChain(id: Int64, to target: String, overwrite: Bool, delta: Bool,
                              report: Report) throws(BackupError) -> RestoreSummary {
        let reader = try BackupChainReader(repository: repository, id: id)
        if delta && HostFile.exists(target) {
            return try restoreDelta(reader, id: id, to: target, report: report)
        }
        let size = reader.sizeBytes
        let (output, isDevice, sparse) = try openTarget(target, size: size, overwrite: overwrite)
        let clusterSize = reader.clusterSize
        let batch = ClusterBatch(reader: reader)
        func writeRun(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BackupError) { try output.write(bytes, at: offset) }
        let clusters = reader.clusterCount
        report(0, 0, size, false)
        do throws(BackupError) {
            for index in 0..<clusters {
                let guest = index * UInt64(clusterSize)
                let length = Int(min(UInt64(clusterSize), size - guest))
                if sparse, try reader.isZero(cluster: index) {
                    try batch.flush(write: writeRun)
                    continue
                }
                try batch.add(index, write: writeRun)
                report(guest + UInt64(length), batch.written, size, false)
            }
            try batch.flush(write: writeRun)
            try output.sync()
            report(size, batch.written, size, true)
        } catch {
            if sparse && !isDevice { HostFile.remove(target) }
            throw error
        }
        let written = batch.written
        return RestoreSummary(backupID: id, target: target, isBlockDevice: isDevice, virtualSize: size,
                              bytesWritten: written, chainFiles: reader.chain.files.map(\.path))
    }

    /// `--delta`: reads the target, writes only the clusters that differ from the backup.
    private func restoreDelta(_ reader: BackupChainReader, id: Int64, to target: String,
                              report: Report) throws(BackupError) -> RestoreSummary {
        let size = reader.sizeBytes
        let (output, isDevice) = try openDeltaTarget(target, size: size)
        let clusterSize = reader.clusterSize
        let wanted = UnsafeMutableRawBufferPointer.allocate(byteCount: clusterSize, alignment: 4096)
        let present = UnsafeMutableRawBufferPointer.allocate(byteCount: clusterSize, alignment: 4096)
        defer {
            wanted.deallocate()
            present.deallocate()
        }
        var written: UInt64 = 0, read: UInt64 = 0
        report(0, 0, size, false)
        for index in 0..<reader.clusterCount {
            let guest = index * UInt64(clusterSize)
            let length = Int(min(UInt64(clusterSize), size - guest))
            // Compared unchecked; a cluster that differs is read again, hash-checked, before it is written.
            try reader.readCluster(index, into: wanted, verify: false)
            let n = try output.read(into: UnsafeMutableRawBufferPointer(rebasing: present[0..<length]), at: guest)
            read += UInt64(n)
            if n < length || memcmp(wanted.baseAddress!, present.baseAddress!, length) != 0 {
                try reader.readCluster(index, into: wanted)
                try output.write(UnsafeRawBufferPointer(rebasing: wanted[0..<length]), at: guest)
                written += UInt64(length)
            }
            report(guest + UInt64(length), written, size, false)
        }
        try output.sync()
        report(size, written, size, true)
        return RestoreSummary(backupID: id, target: target, isBlockDevice: isDevice, virtualSize: size, bytesWritten: written,
                              chainFiles: reader.chain.files.map(\.path), method: "compare", targetBytesRead: read)
    }

    /// Opens the block device `target` (number `number`) with `flags` and `O_EXCL`: refused
    /// when it or a partition of it is mounted, when another program holds it exclusively,
    /// or when it is smaller than `size`.
    private func openBlockDevice(_ target: String, number: dev_t, size: UInt64, flags: Int32) throws(BackupError) -> HostFile {
        if let mount = Self.mountPoint(of: number) { throw Self.mounted(target, on: mount) }
        let file: HostFile
        do {
            file = try HostFile(path: target, flags: flags | O_EXCL, operation: "opening the restore target")
        } catch where error.errno == .resourceBusy {
            throw Self.heldExclusively(target)
        }
        let actual = try file.sizeAndKind().size
        guard actual >= size else {
            throw BackupError(.refused, "\(target) has \(actual) bytes, the backup \(size) (ENOSPC): restore to a device at least as large, or to a file", errno: .noSpace)
        }
        return file
    }

    /// The refusal of a target that is mounted (or a partition of it is) on `mount`.
    static func mounted(_ target: String, on mount: String) -> BackupError {
        BackupError(.refused, "\(target) is mounted on \(mount) (EBUSY): unmount it first; restoring under a mounted filesystem destroys both",
                    errno: .resourceBusy)
    }

    /// The refusal of a target whose exclusive open failed `EBUSY`.
    static func heldExclusively(_ target: String) -> BackupError {
        BackupError(.refused, "\(target) is in use (EBUSY: mounted, or held by device-mapper, md or another exclusive opener): release it first",
                    errno: .resourceBusy)
    }

    /// Opens an existing target for `--delta`: a block device as for a full restore, or a
    /// regular file, grown to `size` if shorter.
    private func openDeltaTarget(_ target: String, size: UInt64) throws(BackupError) -> (HostFile, Bool) {
        var status = stat()
        guard stat(target, &status) == 0 else { throw BackupError.io("stat of", target, Errno(rawValue: Glibc.errno)) }
        if (status.st_mode & S_IFMT) == S_IFBLK {
            return (try openBlockDevice(target, number: status.st_rdev, size: size, flags: O_RDWR), true)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw BackupError(.refused, "\(target) is neither a regular file nor a block device: give a file's path or a block device")
        }
        let file = try HostFile(path: target, flags: O_RDWR, operation: "opening the restore target")
        if UInt64(status.st_size) < size { try file.truncate(to: size) }
        return (file, false)
    }

    /// Opens the target: a block device (checked not mounted, not smaller, opened
    /// `O_EXCL`), or a file created sparse of the disk's size.
    private func openTarget(_ target: String, size: UInt64, overwrite: Bool) throws(BackupError) -> (HostFile, Bool, Bool) {
        var status = stat()
        if stat(target, &status) == 0 {
            if (status.st_mode & S_IFMT) == S_IFBLK {
                return (try openBlockDevice(target, number: status.st_rdev, size: size, flags: O_WRONLY), true, false)
            }
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw BackupError(.refused, "\(target) is neither a regular file nor a block device: give a new file's path or a block device")
            }
            guard status.st_size == 0 || overwrite else {
                throw BackupError(.refused, "\(target) exists and holds \(status.st_size) bytes (EEXIST): remove it, or pass --force to overwrite it", errno: .fileExists)
            }
        }
        let file = try HostFile(path: target, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644, operation: "creating the restore target")
        try file.truncate(to: size)
        return (file, false, true)
    }

    /// The mount point of the device `number` or one of its partitions, from
    /// `/proc/self/mountinfo` (field 3 is `MAJ:MIN`).
    static func mountPoint(of number: dev_t, mountInfo: String = "/proc/self/mountinfo",
                           sysBlock: String = "/sys/dev/block") -> String? {
        let device = DeviceNumber(rawValue: UInt64(number))
        let major = device.major, minor = device.minor
        var numbers: Set<String> = ["\(major):\(minor)"]
        // Partitions: /sys/dev/block/M:m/<name>/dev for each child that has a "partition" file.
        let base = "\(sysBlock)/\(major):\(minor)"
        if let directory = opendir(base) {
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard !name.hasPrefix("."), HostFile.exists("\(base)/\(name)/partition") else { continue }
                if let text = Self.readText("\(base)/\(name)/dev") { numbers.insert(text) }
            }
        }
        guard let text = readText(mountInfo) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, numbers.contains(String(fields[2])) else { continue }
            return String(fields[4])
        }
        return nil
    }

    private static func readText(_ path: String) -> String? {
        guard let file = try? HostFile(path: path, flags: O_RDONLY) else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var offset: UInt64 = 0
        while true {
            let n = (try? chunk.withUnsafeMutableBytes { (raw) throws(BackupError) in try file.read(into: raw, at: offset) }) ?? 0
            if n == 0 { break }
            bytes += chunk[..<n]
            offset += UInt64(n)
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters()
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
