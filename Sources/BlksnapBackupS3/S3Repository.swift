import BlksnapBackup
import BlksnapObjectStore
import Foundation

/// Opens repositories in buckets: the ``S3Storage`` of the URL and a ``BackupRepository``
/// whose catalog is a local cache of the bucket's manifests.
///
/// The bucket is the truth. At every opening the cache is brought in step: manifests it
/// lacks are fetched and their points added (in the order they were taken, so ids grow
/// with time); a point whose manifest is gone, or a new point taken before the newest
/// cached one (another host's clock or a late upload), rebuilds the cache from every
/// manifest. A fresh machine thus lists, restores and serves every host's points; backup
/// ids are those of this cache, and are the same on every host that has seen the same
/// manifests.
public enum S3Repository {
    /// What an opening did to the cache.
    public struct Sync: Hashable, Sendable {
        /// Points added to the cache.
        public var added: Int
        /// Whether the cache was rebuilt from every manifest.
        public var rebuilt: Bool
        /// Points left out: their parent has no manifest (names the file and the parent).
        public var skipped: [String]
    }

    /// The local cache directory of `url` on `endpoint`, under `cacheRoot`.
    public static func cacheDirectory(cacheRoot: String, endpoint: String, url: S3RepositoryURL) -> String {
        let raw = endpoint + "/" + url.bucket + "/" + url.prefix
        let safe = String(raw.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : "_" })
        return cacheRoot + "/" + safe
    }

    /// The default cache root: `$XDG_CACHE_HOME/blksnap/s3`, else `~/.cache/blksnap/s3`.
    public static func defaultCacheRoot(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/blksnap/s3" }
        return (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/root") + "/.cache/blksnap/s3"
    }

    /// Opens the repository of `storage`, its catalog cached in `cacheDirectory`, after
    /// bringing the cache in step with the bucket's manifests.
    ///
    /// - Throws: ``BackupError`` for a bucket that cannot be listed (EACCES for credentials,
    ///   ENOENT for a missing bucket, with S3's words and the remedy) or a damaged manifest.
    public static func open(storage: S3Storage, cacheDirectory: String) throws(BackupError) -> (BackupRepository, Sync) {
        let points = try storage.listPoints()
        var sync = Sync(added: 0, rebuilt: false, skipped: [])
        let listed = Set(points.map(\.name))
        let versionsPath = cacheDirectory + "/versions.json"
        var manifests: [PointManifest] = []
        let appendOnly: Bool
        do {
            // The cache as it is, closed again before it may be removed.
            let cached = try BackupRepository(storage: storage, cacheDirectory: cacheDirectory).catalog.all()
            let cachedNames = Set(cached.map(\.fileName))
            let cachedVersions = (try? JSONDecoder().decode([String: Int].self, from: Data(contentsOf: URL(fileURLWithPath: versionsPath)))) ?? [:]
            for point in points where !cachedNames.contains(point.name) {
                manifests.append(try storage.manifest(at: point.key))
            }
            let newest = cached.map(\.takenAt).max() ?? .distantPast
            appendOnly = cachedNames.isSubset(of: listed)
                && cachedNames.allSatisfy { (cachedVersions[$0] ?? 0) == (storage.versions[$0] ?? 0) }
                && manifests.allSatisfy { $0.record.takenAt >= newest }
        }
        if !appendOnly {
            // Start again from every manifest: ids follow the time each point was taken.
            sync.rebuilt = true
            try removeCache(cacheDirectory)
            manifests = []
            for point in points { manifests.append(try storage.manifest(at: point.key)) }
        }
        storage.versionsFile = versionsPath
        try storage.saveVersions()
        let repository = try BackupRepository(storage: storage, cacheDirectory: cacheDirectory)
        manifests.sort { ($0.record.takenAt, $0.file) < ($1.record.takenAt, $1.file) }
        var ids: [String: Int64] = [:]
        for record in try repository.catalog.all() { ids[record.fileName] = record.id }
        for manifest in manifests {
            var record = manifest.record
            record.fileName = manifest.file
            if let parent = manifest.parentFile {
                guard let parentID = ids[parent] else {
                    sync.skipped.append("\(manifest.file) (its parent \(parent) has no manifest)")
                    continue
                }
                record.parentId = parentID
            }
            let key = storage.manifestKey(manifest.file)
            let inserted = try repository.catalog.insert(record, clusters: try manifest.decodedClusters(key: "s3://\(storage.url.bucket)/\(key)"))
            ids[manifest.file] = inserted.id
            sync.added += 1
        }
        return (repository, sync)
    }

    /// Deletes the cache's catalog files.
    private static func removeCache(_ directory: String) throws(BackupError) {
        for suffix in ["", "-wal", "-shm"] {
            let path = directory + "/" + BackupRepository.catalogName + suffix
            if unlink(path) != 0 && errno != ENOENT {
                throw BackupError(.io, "removing the stale cache \(path) failed (errno \(errno)): remove it by hand")
            }
        }
    }
}
