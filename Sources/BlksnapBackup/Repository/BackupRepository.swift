#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemPackage

/// A backup repository: qcow2 files in a ``BackupStorage`` (a directory of this host, or a
/// bucket of an object store) and a catalog, `catalog.sqlite`, in a local directory.
///
/// Files become part of it in one order (``BackupCreator``): written where nobody reads
/// them (a `.tmp-` file, an upload in parts), made durable, published under their name,
/// and only then is the catalog row committed (on object storage, after the point's
/// manifest). A crash leaves at most a file no row names; ``removeLeftovers()`` deletes
/// it, so the catalog never names a file that is not whole and no file without a row is
/// taken for a backup.
public final class BackupRepository {
    /// The local directory holding the catalog, the writer lock and the run marker: the
    /// repository itself when its files are on this host, else the object store's local cache.
    public let directory: String
    /// Where the qcow2 files are.
    public let storage: any BackupStorage
    /// The catalog.
    public let catalog: BackupCatalog
    private var lock: HostFile?

    /// The catalog's file name.
    public static let catalogName = "catalog.sqlite"
    /// Prefix of files being written.
    public static let temporaryPrefix = DirectoryStorage.temporaryPrefix
    /// Prefix of the qcow2 files this package names.
    public static let filePrefix = "blksnap-"

    /// Opens the repository at `directory`; with `create`, makes the directory (and its
    /// parents) and the catalog when missing.
    public init(directory: String, create: Bool = false) throws(BackupError) {
        let trimmed = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.directory = trimmed
        storage = DirectoryStorage(directory: trimmed)
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

    /// A repository whose files are in `storage` and whose catalog is a cache in
    /// `cacheDirectory` (made when missing), which the storage's owner keeps in step with
    /// what the storage holds.
    public init(storage: any BackupStorage, cacheDirectory: String) throws(BackupError) {
        self.storage = storage
        directory = cacheDirectory
        try HostFile.makeDirectories(cacheDirectory, operation: "creating the repository's local cache")
        catalog = try BackupCatalog(path: cacheDirectory + "/" + Self.catalogName)
    }

    /// Where the files are, as the operator named it (a directory, an `s3://` URL).
    public var location: String { storage.location }

    /// Takes the repository's writer lock (`flock` on `.lock`): one `backup create` at a
    /// time, or one `backup prune`. Released when the process ends, however it ends.
    public func lockForWriting() throws(BackupError) {
        guard lock == nil else { return }
        let file = try HostFile(path: directory + "/.lock", flags: O_RDWR | O_CREAT, mode: 0o644)
        guard flock(file.fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = Errno(rawValue: Glibc.errno)
            if error == .wouldBlock {
                throw BackupError(.refused, "another 'backup create' or 'backup prune' is writing to \(location) (EWOULDBLOCK): wait for it to finish", errno: error)
            }
            throw BackupError.io("locking", directory + "/.lock", error)
        }
        lock = file
    }

    /// The path of a file of the local ``directory`` (for a repository on this host, its
    /// qcow2 files too).
    public func path(of fileName: String) -> String { directory + "/" + fileName }

    /// The path of a backup's file in the local ``directory``.
    public func path(of record: BackupRecord) -> String { path(of: record.fileName) }

    /// Deletes what an interrupted `backup create` left: files being written, and qcow2
    /// files named like this package's that no catalog row names (published, never
    /// committed). Call with the writer lock held. Returns the names deleted.
    @discardableResult
    public func removeLeftovers() throws(BackupError) -> [String] {
        try storage.removeLeftovers(keeping: try catalog.fileNames())
    }

    /// The chain ending at backup `id`: `id` first, then its parent, … down to the full backup.
    public func chain(endingAt id: Int64) throws(BackupError) -> [BackupRecord] {
        var chain: [BackupRecord] = []
        var next: Int64? = id
        while let current = next {
            guard let record = try catalog.record(id: current) else {
                if chain.isEmpty {
                    throw BackupError(.refused, "no backup \(id) in \(location) (ENOENT): list them with 'blksnapctl backup list --repo \(location)'", errno: .noSuchFileOrDirectory)
                }
                throw BackupError(.corrupted, "backup \(chain.last!.id ?? 0) names parent \(current), which the catalog of \(location) does not hold")
            }
            chain.append(record)
            next = record.parentId
        }
        return chain
    }

    /// The backup `id`, or a refusal naming how to list them.
    public func record(id: Int64) throws(BackupError) -> BackupRecord {
        guard let record = try catalog.record(id: id) else {
            throw BackupError(.refused, "no backup \(id) in \(location) (ENOENT): list them with 'blksnapctl backup list --repo \(location)'", errno: .noSuchFileOrDirectory)
        }
        return record
    }

    /// `parent` as the backing file name of `child`, both named relative to the repository's
    /// root and in one folder (a host's chains stay in its folder): the last component.
    static func backingName(of parent: String, from child: String) throws(BackupError) -> String {
        let folder: (String) -> Substring = { name in name.lastIndex(of: "/").map { name[...$0] } ?? "" }
        guard folder(parent) == folder(child) else {
            throw BackupError(.refused, "the parent \(parent) of \(child) is in another folder of the repository: a chain stays in the folder of the host that wrote it (for a new backup, take a full one: --full)")
        }
        return String(parent.dropFirst(folder(parent).count))
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
