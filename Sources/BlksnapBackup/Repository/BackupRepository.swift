#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemPackage

/// A backup repository: a directory holding `catalog.sqlite` and the qcow2 files.
///
/// Files become part of it in one order (``BackupCreator``): written under a temporary
/// name (`.tmp-…`), `fsync`ed, renamed, the directory `fsync`ed, and only then is the
/// catalog row committed. A crash leaves at most a temporary file or a renamed file no row
/// names; ``removeLeftovers()`` deletes both, so the catalog never names a file that is
/// not whole and no file without a row is taken for a backup.
public final class BackupRepository {
    /// The directory.
    public let directory: String
    /// The catalog.
    public let catalog: BackupCatalog
    private var lock: HostFile?

    /// The catalog's file name.
    public static let catalogName = "catalog.sqlite"
    /// Prefix of files being written.
    public static let temporaryPrefix = ".tmp-"
    /// Prefix of the qcow2 files this package names.
    public static let filePrefix = "blksnap-"

    /// Opens the repository at `directory`; with `create`, makes the directory (and its
    /// parents) and the catalog when missing.
    public init(directory: String, create: Bool = false) throws(BackupError) {
        let trimmed = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.directory = trimmed
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: trimmed, isDirectory: &isDirectory) {
            guard create else {
                throw BackupError(.refused, "no backup repository at \(trimmed) (ENOENT): give the --repo of an earlier 'backup create'", errno: .noSuchFileOrDirectory)
            }
            try HostFile.makeDirectories(trimmed, operation: "creating the repository directory")
        } else if !isDirectory.boolValue {
            throw BackupError(.refused, "\(trimmed) is not a directory (ENOTDIR): --repo names a directory", errno: .notDirectory)
        }
        let catalogPath = trimmed + "/" + Self.catalogName
        if !create && !HostFile.exists(catalogPath) {
            throw BackupError(.refused, "\(trimmed) holds no \(Self.catalogName) (ENOENT): it is not a backup repository; give the --repo of an earlier 'backup create'", errno: .noSuchFileOrDirectory)
        }
        catalog = try BackupCatalog(path: catalogPath)
    }

    /// Takes the repository's writer lock (`flock` on `.lock`): one `backup create` at a
    /// time, or one `backup prune`. Released when the process ends, however it ends.
    public func lockForWriting() throws(BackupError) {
        guard lock == nil else { return }
        let file = try HostFile(path: directory + "/.lock", flags: O_RDWR | O_CREAT, mode: 0o644)
        guard flock(file.fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = Errno(rawValue: Glibc.errno)
            if error == .wouldBlock {
                throw BackupError(.refused, "another 'backup create' or 'backup prune' is writing to \(directory) (EWOULDBLOCK): wait for it to finish", errno: error)
            }
            throw BackupError.io("locking", directory + "/.lock", error)
        }
        lock = file
    }

    /// The path of a file of the repository.
    public func path(of fileName: String) -> String { directory + "/" + fileName }

    /// The path of a backup's file.
    public func path(of record: BackupRecord) -> String { path(of: record.fileName) }

    /// Deletes what an interrupted `backup create` left: temporary files, and qcow2 files
    /// named like this package's that no catalog row names (renamed, never committed).
    /// Call with the writer lock held. Returns the names deleted.
    @discardableResult
    public func removeLeftovers() throws(BackupError) -> [String] {
        let known = try catalog.fileNames()
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw BackupError(.io, "listing the repository \(directory) failed: \(error.localizedDescription)")
        }
        var removed: [String] = []
        for name in names.sorted() {
            let leftover = name.hasPrefix(Self.temporaryPrefix)
                || (name.hasPrefix(Self.filePrefix) && name.hasSuffix(".qcow2") && !known.contains(name))
            if leftover {
                HostFile.remove(path(of: name))
                removed.append(name)
            }
        }
        if !removed.isEmpty { try HostFile.syncDirectory(directory) }
        return removed
    }

    /// The chain ending at backup `id`: `id` first, then its parent, … down to the full backup.
    public func chain(endingAt id: Int64) throws(BackupError) -> [BackupRecord] {
        var chain: [BackupRecord] = []
        var next: Int64? = id
        while let current = next {
            guard let record = try catalog.record(id: current) else {
                if chain.isEmpty {
                    throw BackupError(.refused, "no backup \(id) in \(directory) (ENOENT): list them with 'blksnapctl backup list --repo \(directory)'", errno: .noSuchFileOrDirectory)
                }
                throw BackupError(.corrupted, "backup \(chain.last!.id ?? 0) names parent \(current), which the catalog of \(directory) does not hold")
            }
            chain.append(record)
            next = record.parentId
        }
        return chain
    }

    /// The backup `id`, or a refusal naming how to list them.
    public func record(id: Int64) throws(BackupError) -> BackupRecord {
        guard let record = try catalog.record(id: id) else {
            throw BackupError(.refused, "no backup \(id) in \(directory) (ENOENT): list them with 'blksnapctl backup list --repo \(directory)'", errno: .noSuchFileOrDirectory)
        }
        return record
    }

    /// A new file name: `blksnap-<device>-<UTC time>-<random>.qcow2`.
    static func newFileName(devicePath: String, at date: Date) -> String {
        let name = devicePath.split(separator: "/").last.map(String.init) ?? "device"
        let safe = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "_" })
        var time = tm()
        var seconds = time_t(date.timeIntervalSince1970)
        gmtime_r(&seconds, &time)
        let stamp = String(format: "%04d%02d%02dT%02d%02d%02dZ", time.tm_year + 1900, time.tm_mon + 1, time.tm_mday,
                           time.tm_hour, time.tm_min, time.tm_sec)
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(filePrefix)\(safe)-\(stamp)-\(random).qcow2"
    }
}
