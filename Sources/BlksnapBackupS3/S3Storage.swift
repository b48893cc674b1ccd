import BlksnapBackup
import BlksnapObjectStore
import Foundation

/// A repository's files in a bucket, which many hosts share without locks.
///
/// Layout under the URL's prefix:
/// - `points/HOST/blksnap-DEVICE-TIME-RANDOM.qcow2`: the qcow2 files, each host in its own
///   folder (a chain never leaves it; the device is in the name);
/// - `manifests/HOST/blksnap-….qcow2.json`: one ``PointManifest`` per point.
///
/// A prune rewrites a kept point into a new object (objects are never changed): version N
/// of point `P` is the object `points/P.vN` with the manifest `manifests/P.vN.json`
/// (version 0 has no suffix). The point's name stays `P` (its increments name it as their
/// backing file); the highest version whose manifest exists is the point.
///
/// Commit protocol: a point's qcow2 object is uploaded in parts and completed before its
/// manifest is written; a point exists if and only if its manifest exists. A killed run
/// leaves an open multipart upload or a complete object no manifest names, both under its
/// own host's folder, which ``removeLeftovers(keeping:)`` (the next `backup create` of that
/// host) aborts or deletes. Objects are never rewritten.
public final class S3Storage: PointReplacingStorage {
    /// The repository's bucket and prefix.
    public let url: S3RepositoryURL
    /// This host's folder name.
    public let host: String
    /// Bytes per uploaded part.
    public let partSize: Int
    /// Parts uploaded at once.
    public let parallelism: Int
    /// Bytes per ranged GET of a reader.
    public let readBlockSize: Int
    let bridge: S3BlockingBridge
    private var closed = false
    /// The current version of each point whose version is not 0 (from the manifests listed).
    var versions: [String: Int] = [:] {
        didSet { try? saveVersions() }
    }
    /// Where the local cache keeps ``versions`` (set by ``S3Repository/open(storage:cacheDirectory:)``):
    /// a cache whose versions differ from the bucket's is rebuilt.
    var versionsFile: String?

    /// Writes ``versions`` to ``versionsFile`` (a new file renamed over the old).
    func saveVersions() throws(BackupError) {
        guard let versionsFile else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            let data = try encoder.encode(versions)
            try data.write(to: URL(fileURLWithPath: versionsFile), options: .atomic)
        } catch {
            throw BackupError(.io, "writing the cache's \(versionsFile) failed: \(error.localizedDescription)", errno: .ioError)
        }
    }

    /// The files of the repository at `url`, read and written through `bridge`'s client, this
    /// host writing in folder `host` (letters, digits, `.`, `-`, `_`).
    public init(url: S3RepositoryURL, bridge: S3BlockingBridge, host: String, partSize: Int = 8 << 20,
                parallelism: Int = 4, readBlockSize: Int = 4 << 20) throws(BackupError) {
        guard !host.isEmpty, host.utf8.count <= 128,
              host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }) else {
            throw BackupError(.refused, "'\(host)' cannot name a host's folder (EINVAL): give --host with letters, digits, '.', '-' and '_' only", errno: .invalidArgument)
        }
        self.url = url
        self.bridge = bridge
        self.host = host
        self.partSize = partSize
        self.parallelism = parallelism
        self.readBlockSize = readBlockSize
    }

    deinit { close() }

    /// Closes the client's connections (idempotent); the storage cannot be used afterwards.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = try? bridge.run { client in try await client.shutdown() }
    }

    /// The most memory the upload of a file of at most `maximumBytes` holds: the first
    /// part, the part being filled, and the parts in flight.
    public func uploadMemoryBound(forAtMost maximumBytes: UInt64) -> Int {
        S3MultipartWriter.memoryBound(partSize: partSize(forAtMost: maximumBytes), parallelism: parallelism)
    }

    public var location: String { url.description }
    public var localDirectory: String? { nil }
    public var newFileFolder: String { host + "/" }

    public func describe(_ name: String) -> String { "s3://\(url.bucket)/\(objectKey(name))" }

    /// The key of version `version` (default: the current one) of point `name`'s object.
    func objectKey(_ name: String, version: Int? = nil) -> String {
        let number = version ?? versions[name] ?? 0
        return url.key("points", number == 0 ? name : name + ".v\(number)")
    }

    /// The key of version `version` (default: the current one) of point `name`'s manifest.
    func manifestKey(_ name: String, version: Int? = nil) -> String {
        let number = version ?? versions[name] ?? 0
        return url.key("manifests", (number == 0 ? name : name + ".v\(number)") + ".json")
    }

    /// The point and version a key under `area` (`points`, `manifests`) names; nil for a
    /// key this package did not write.
    func parse(_ key: String, area: String) -> (name: String, version: Int)? {
        let root = url.key(area, "")
        guard key.hasPrefix(root) else { return nil }
        var rest = String(key.dropFirst(root.count))
        if area == "manifests" {
            guard rest.hasSuffix(".json") else { return nil }
            rest = String(rest.dropLast(".json".count))
        }
        if rest.hasSuffix(".qcow2") { return (rest, 0) }
        guard let dot = rest.range(of: ".qcow2.v", options: .backwards),
              let number = Int(rest[dot.upperBound...]), number > 0 else { return nil }
        return (String(rest[..<dot.lowerBound]) + ".qcow2", number)
    }

    public func exists(_ name: String) throws(BackupError) -> Bool {
        let bucket = url.bucket, key = objectKey(name)
        do {
            _ = try bridge.run { client in try await client.headObject(bucket: bucket, key: key) }
            return true
        } catch let error as S3Error where error.code == "NotFound" || error.code == "NoSuchKey" || error.httpStatus == 404 {
            return false
        } catch {
            throw BackupError.s3("looking up \(describe(name))", error)
        }
    }

    public func openForReading(_ name: String) throws(BackupError) -> any BackupFileInput {
        do {
            let reader = try S3RangedReader(bridge: bridge, bucket: url.bucket, key: objectKey(name), blockSize: readBlockSize)
            return S3ObjectInput(reader: reader, name: describe(name))
        } catch {
            throw BackupError.s3("opening \(describe(name))", error)
        }
    }

    /// The part size of an upload of at most `maximumBytes`: ``partSize``, or more where
    /// S3's 10,000 parts need it.
    public func partSize(forAtMost maximumBytes: UInt64) -> Int {
        S3MultipartWriter.partSize(forObjectSize: maximumBytes, atLeast: partSize)
    }

    public func create(_ name: String, maximumBytes: UInt64) throws(BackupError) -> any BackupFileOutput {
        do {
            let writer = try S3MultipartWriter(bridge: bridge, bucket: url.bucket, key: url.key("points", name),
                                               partSize: partSize(forAtMost: maximumBytes), parallelism: parallelism)
            return S3ObjectOutput(writer: writer, name: name, resource: describe(name))
        } catch {
            throw BackupError.s3("starting the upload of \(describe(name))", error)
        }
    }

    /// Nothing to do: the object was written under its final key and completed by its
    /// output's `finish()`; its manifest (``commitPoint(_:clusters:parentFileName:)``) makes it a point.
    public func publish(_ temporary: String, as name: String) throws(BackupError) {
        precondition(temporary == name, "an object is uploaded under its final key")
    }

    public func remove(_ name: String) throws(BackupError) {
        let bucket = url.bucket, key = objectKey(name)
        do {
            try bridge.run { client in try await client.deleteObject(bucket: bucket, key: key) }
        } catch {
            throw BackupError.s3("deleting \(describe(name))", error)
        }
    }

    /// Aborts the open multipart uploads under this host's folder, deletes the manifests
    /// a later version replaced, then the objects that no current manifest names (a run
    /// killed before its manifest, a version a prune replaced). The manifests decide, not
    /// `known`. Other hosts' folders are never touched: their runs may be under way.
    public func removeLeftovers(keeping known: Set<String>) throws(BackupError) -> [String] {
        let bucket = url.bucket
        let folder = url.key("points", host + "/")
        let manifestFolder = url.key("manifests", host + "/")
        let root = url.key("points", "")
        var removed: [String] = []
        do {
            let uploads = try bridge.run { client in try await client.listMultipartUploads(bucket: bucket, prefix: folder) }
            for upload in uploads {
                try bridge.run { client in try await client.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID) }
                removed.append(String(upload.key.dropFirst(root.count)) + " (upload \(upload.uploadID))")
            }
            let manifests = try bridge.run { client in try await client.listAllObjects(bucket: bucket, prefix: manifestFolder) }.map(\.key)
            let current = currentVersions(manifests)
            for key in manifests {
                guard let (name, version) = parse(key, area: "manifests"), version < current[name] ?? 0 else { continue }
                try bridge.run { client in try await client.deleteObject(bucket: bucket, key: key) }
                removed.append(String(key.dropFirst(url.key("manifests", "").count)) + " (replaced manifest)")
            }
            let objects = try bridge.run { client in try await client.listAllObjects(bucket: bucket, prefix: folder) }
            for object in objects {
                if let (name, version) = parse(object.key, area: "points"), current[name] == version { continue }
                try bridge.run { client in try await client.deleteObject(bucket: bucket, key: object.key) }
                removed.append(String(object.key.dropFirst(root.count)))
            }
        } catch {
            throw BackupError.s3("cleaning what interrupted runs left in \(location)/points/\(host)/", error)
        }
        return removed
    }

    /// Writes the point's manifest: from now on every host lists the point.
    public func commitPoint(_ record: BackupRecord, clusters: [WrittenCluster], parentFileName: String?) throws(BackupError) {
        let manifest = PointManifest(host: host, record: record, parentFile: parentFileName, clusters: clusters)
        let bucket = url.bucket, key = manifestKey(record.fileName, version: 0), bytes = manifest.encoded()
        do {
            try bridge.run { client in _ = try await client.putObject(bucket: bucket, key: key, bytes: bytes, contentType: "application/json") }
        } catch {
            throw BackupError.s3("writing the manifest s3://\(bucket)/\(key)", error)
        }
    }

    /// The current (highest) version of each point whose manifest is among `keys`.
    func currentVersions(_ keys: [String]) -> [String: Int] {
        var current: [String: Int] = [:]
        for key in keys {
            if let (name, version) = parse(key, area: "manifests") { current[name] = max(current[name] ?? 0, version) }
        }
        return current
    }

    /// Every point of every host: its name and the key of its current manifest. Sets
    /// ``versions``.
    func listPoints() throws(BackupError) -> [(name: String, key: String)] {
        let bucket = url.bucket, folder = url.key("manifests", "")
        let keys: [String]
        do {
            keys = try bridge.run { client in try await client.listAllObjects(bucket: bucket, prefix: folder) }.map(\.key)
        } catch {
            throw BackupError.s3("listing the points of \(location)", error)
        }
        let current = currentVersions(keys)
        versions = current.filter { $0.value != 0 }
        return current.keys.sorted().map { ($0, manifestKey($0)) }
    }

    /// The manifest at `key`.
    func manifest(at key: String) throws(BackupError) -> PointManifest {
        let bucket = url.bucket
        do {
            let data = try bridge.run { client in try await client.getObject(bucket: bucket, key: key) }
            return try PointManifest(decoding: data.bytes, key: "s3://\(bucket)/\(key)")
        } catch {
            throw BackupError.s3("reading the manifest s3://\(bucket)/\(key)", error)
        }
    }

    // MARK: Prune

    public func isOwned(_ name: String) -> Bool { name.hasPrefix(host + "/") }

    public func createReplacement(of name: String, maximumBytes: UInt64) throws(BackupError) -> any BackupFileOutput {
        let next = (versions[name] ?? 0) + 1
        let key = objectKey(name, version: next)
        do {
            let writer = try S3MultipartWriter(bridge: bridge, bucket: url.bucket, key: key,
                                               partSize: partSize(forAtMost: maximumBytes), parallelism: parallelism)
            return S3ObjectOutput(writer: writer, name: name, resource: "s3://\(url.bucket)/\(key)")
        } catch {
            throw BackupError.s3("starting the upload of s3://\(url.bucket)/\(key)", error)
        }
    }

    /// Writes the next version's manifest (from then on it is the point, with its new
    /// parent), then deletes `source`'s manifest and the replaced one, then both objects.
    /// A crash leaves either the old point and `source`, or the new point with, at most,
    /// manifests and objects no current manifest needs, which ``removeLeftovers(keeping:)``
    /// deletes.
    public func commitReplacement(_ record: BackupRecord, clusters: [WrittenCluster], parentFileName: String?,
                                  removing source: BackupRecord) throws(BackupError) {
        let name = record.fileName
        let old = versions[name] ?? 0
        let manifest = PointManifest(host: host, record: record, parentFile: parentFileName, clusters: clusters)
        let bucket = url.bucket, bytes = manifest.encoded()
        let newKey = manifestKey(name, version: old + 1)
        let garbage = [manifestKey(source.fileName), manifestKey(name, version: old), objectKey(source.fileName), objectKey(name, version: old)]
        do {
            try bridge.run { client in _ = try await client.putObject(bucket: bucket, key: newKey, bytes: bytes, contentType: "application/json") }
            versions[name] = old + 1
            versions[source.fileName] = nil
            for key in garbage {
                try bridge.run { client in try await client.deleteObject(bucket: bucket, key: key) }
            }
        } catch {
            throw BackupError.s3("switching s3://\(bucket)/\(newKey) in for the merged point \(name)", error)
        }
    }

    public func deletePoint(_ record: BackupRecord) throws(BackupError) {
        let bucket = url.bucket, manifest = manifestKey(record.fileName), object = objectKey(record.fileName)
        do {
            try bridge.run { client in try await client.deleteObject(bucket: bucket, key: manifest) }
            try bridge.run { client in try await client.deleteObject(bucket: bucket, key: object) }
            versions[record.fileName] = nil
        } catch {
            throw BackupError.s3("deleting the point \(record.fileName) of \(location)", error)
        }
    }
}
