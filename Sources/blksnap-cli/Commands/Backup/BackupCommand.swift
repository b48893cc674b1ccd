import ArgumentParser
import BlksnapBackup
import BlksnapBackupS3
import BlksnapKit
import BlksnapObjectStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl backup`: full and incremental backups as qcow2 chains.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back devices up as qcow2 chains (full, then incremental through CBT); list, verify, restore, serve and prune them.",
        discussion: """
            A repository (--repo DIR) holds one qcow2 v3 file per device and backup, and \
            catalog.sqlite, which names each backup with its device, CBT generation and \
            changes number, parent, sizes and the SHA-256 of every cluster written. An \
            incremental backup stores only the clusters covering the CBT blocks changed since \
            its parent and names the parent's file as its backing file, so qemu-img, \
            qemu-nbd and virtual machines read any backup as the whole disk.

            A repository in a bucket (--repo s3://BUCKET[/PREFIX]) holds the same qcow2 files \
            as objects, each host in its own folder, plus one manifest per point; the catalog \
            is a local cache (--cache-dir) rebuilt from the manifests, so any host lists, \
            verifies, restores and serves every host's points. The endpoint, region and \
            credentials come from the AWS environment: AWS_ENDPOINT_URL, AWS_REGION, \
            AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials \
            and ~/.aws/config; an https endpoint is checked against the system's CAs, or those \
            of --ca-file (AWS_CA_BUNDLE). Requests use path-style addressing.
            """,
        subcommands: [BackupCreate.self, BackupList.self, BackupVerify.self, BackupRestore.self, BackupServe.self, BackupPrune.self])

    /// A backup error as the CLI's one-line failure with its exit status.
    static func failure(_ error: BackupError) -> CommandFailure {
        if let category = error.category, let status = ExitStatus(rawValue: category.exitStatus) {
            return CommandFailure(error.message, status: status)
        }
        switch error.kind {
        case .corrupted, .snapshotCorrupted: return CommandFailure(error.message, status: .corrupted)
        case .io, .refused: return CommandFailure(error.message)
        }
    }

    /// Runs `body`, turning a ``BackupError`` into a ``CommandFailure``.
    static func performing<T>(_ body: () throws(BackupError) -> T) throws(CommandFailure) -> T {
        do {
            return try body()
        } catch {
            throw failure(error)
        }
    }

    /// Parses a backup id.
    static func id(_ text: String) throws -> Int64 {
        guard let id = Int64(text), id > 0 else {
            throw ValidationError("backup id '\(text)' is not a positive number: list them with 'blksnapctl backup list --repo DIR'")
        }
        return id
    }
}

/// Options every `backup` subcommand takes.
struct RepositoryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The backup repository: a directory (created by the first backup create), or s3://BUCKET[/PREFIX] (the bucket must exist).", valueName: "dir|s3-url"))
    var repo: String

    @Option(name: .long, help: ArgumentHelp("With an s3:// repository: this host's folder in the bucket (default: the host name).", valueName: "name"))
    var hostName: String?

    @Option(name: .long, help: ArgumentHelp("With an s3:// repository: where its local catalog cache lives (default: $XDG_CACHE_HOME/blksnap/s3, else ~/.cache/blksnap/s3).", valueName: "dir"))
    var cacheDir: String?

    @Option(name: .long, help: ArgumentHelp("With an s3:// repository on https: a PEM file of the CAs to trust instead of the system's (default: AWS_CA_BUNDLE).", valueName: "file"))
    var caFile: String?

    @Flag(name: .long, help: "Print nothing but errors (and the --json document).")
    var quiet = false

    /// Opens the repository: a directory, or a bucket whose manifests the local cache is
    /// brought in step with first.
    func open(create: Bool = false) throws(CommandFailure) -> BackupRepository {
        try BackupCommand.performing { () throws(BackupError) in
            guard S3RepositoryURL.isS3(repo) else { return try BackupRepository(directory: repo, create: create) }
            let url = try S3RepositoryURL(parsing: repo)
            var configuration: S3Configuration
            do {
                configuration = try S3Configuration.fromEnvironment()
            } catch let error as S3Error {
                throw BackupError.s3Configuration(error)
            } catch {
                throw BackupError(.refused, "the S3 settings cannot be used: \(error)", errno: .invalidArgument)
            }
            if let caFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else {
                    throw BackupError(.refused, "--ca-file \(caFile) cannot be read (ENOENT or EACCES): give a readable PEM file of CA certificates", errno: .noSuchFileOrDirectory)
                }
                configuration.caFile = caFile
            }
            let bridge = S3BlockingBridge(client: S3Client(configuration: configuration))
            let storage = try S3Storage(url: url, bridge: bridge, host: hostName ?? Self.hostName())
            let cache = S3Repository.cacheDirectory(cacheRoot: cacheDir ?? S3Repository.defaultCacheRoot(),
                                                    endpoint: configuration.endpoint.description, url: url)
            let (repository, sync) = try S3Repository.open(storage: storage, cacheDirectory: cache)
            for skipped in sync.skipped {
                FileHandle.standardError.write(Data("blksnapctl: warning: \(repo): left out \(skipped)\n".utf8))
            }
            return repository
        }
    }

    /// This machine's host name (`gethostname`), the default folder in a bucket.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}

/// One backup as `backup list --json` prints it.
struct BackupReport: Encodable {
    var id: Int64
    var device: String
    var deviceKey: String
    var type: String
    var parent: Int64?
    var cbtGeneration: String
    var cbtChangesNumber: Int64
    var takenAt: String
    var capacityBytes: Int64
    var fileName: String
    var fileSize: Int64
    var bytesRead: Int64
    var bytesWritten: Int64
    var changedBytes: Int64
    var compression: String
    var dataClusters: Int64
    var compressedClusters: Int64
    var consistency: String
    var status: String
    var fullReason: String?
    var resyncReason: String?
    /// `backup list`: the prune merges behind it (into it, and into what it absorbed).
    var merged: [MergeReport]?
    /// `backup list`: the backup an unfinished prune merge is merging it into.
    var mergingInto: Int64?

    init(_ record: BackupRecord) {
        id = record.id ?? 0
        device = record.devicePath
        deviceKey = record.deviceKey
        type = record.type.rawValue
        parent = record.parentId
        cbtGeneration = record.cbtGeneration
        cbtChangesNumber = record.cbtChangesNumber
        takenAt = BackupReport.format(record.takenAt)
        capacityBytes = record.capacityBytes
        fileName = record.fileName
        fileSize = record.fileSize
        bytesRead = record.bytesRead
        bytesWritten = record.bytesWritten
        changedBytes = record.changedBytes
        compression = record.compression
        dataClusters = record.dataClusters
        compressedClusters = record.compressedClusters
        consistency = record.consistency.rawValue
        status = record.status.rawValue
        fullReason = record.fullReason
        resyncReason = record.resyncReason
    }

    /// ISO 8601 UTC with seconds.
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// One prune merge as `backup list` and `backup verify` print it.
struct MergeReport: Encodable {
    var id: Int64
    var kind: String
    var source: Int64
    var sourceFileName: String
    var sourceTakenAt: String
    var target: Int64
    var newParent: Int64?
    var state: String
    var startedAt: String
    var finishedAt: String?
    var clustersCopied: Int64
    var bytesCopied: Int64
    var bytesWritten: Int64

    init(_ merge: MergeRecord) {
        id = merge.id ?? 0
        kind = merge.kind.rawValue
        source = merge.sourceId
        sourceFileName = merge.sourceFileName
        sourceTakenAt = BackupReport.format(merge.sourceTakenAt)
        target = merge.targetId
        newParent = merge.newParentId
        state = merge.state.rawValue
        startedAt = BackupReport.format(merge.startedAt)
        finishedAt = merge.finishedAt.map(BackupReport.format)
        clustersCopied = merge.clustersCopied
        bytesCopied = merge.bytesCopied
        bytesWritten = merge.bytesWritten
    }
}
