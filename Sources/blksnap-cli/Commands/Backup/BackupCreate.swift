import ArgumentParser
import BlksnapBackup
import BlksnapKit
import Foundation

/// `blksnapctl backup create DEVICE... --repo DIR --storage SPEC [--full] [--compress M] [--step S] [--limit L] [--progress MODE]`.
struct BackupCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Snapshot DEVICEs and write one qcow2 backup of each into the repository.",
        discussion: """
            Runs a session (snapshot, storage kept ahead of demand as in 'session', teardown) \
            and copies each image while the snapshot holds. A device's first backup is full: \
            every cluster of the image, clusters that read as zeroes left unallocated. The next \
            ones are incremental: only the 64 KiB clusters covering the CBT blocks changed \
            after the changes number of the device's last backup, in a qcow2 whose backing \
            file is that backup's (relative name, backing_fmt qcow2). When the CBT generation \
            changed (tracker re-attached or reset, reboot) on the same device (same identity, \
            capacity and CBT block size), the backup resyncs: it reads the whole image, compares \
            each cluster's SHA-256 with the last backup's point in time (from the catalog) and \
            stores only the clusters that differ, as an increment on it; the reason is printed \
            and recorded. A changed capacity or CBT block size, a missing or corrupt parent, or \
            --full makes a full backup, and the reason is printed. Files \
            are written under a temporary name, fsync'd, renamed and the directory fsync'd \
            before the catalog row is committed: an interrupted run leaves the repository as it \
            was (its leftovers are deleted by the next run). Trackers the session attaches stay \
            attached, so that the next backup can be incremental. Progress goes to stderr \
            (--progress: a bar on a terminal; json: JSON Lines for journald and scripts, \
            documented in the manual's JSON OUTPUT). With --compress zstd[:LEVEL] or zlib, each cluster that shrinks \
            is stored as a qcow2 compressed cluster (zstd: compression_type 1, which qemu 5.1 \
            and later read); the others are stored as they are. The catalog's SHA-256 of a data \
            cluster is of its uncompressed bytes. The first backup create of a repository \
            records its --compress (none if not given) as the repository's default, which \
            later runs without --compress use; 'backup list' shows it. \
            --pre-snapshot runs before the snapshot is created (to quiesce an application), \
            --post-snapshot once the take happened or failed; a failing or timed-out pre hook \
            aborts with nothing taken (exit 1). A backup is recorded application-consistent \
            when a pre hook was given and every hook exited 0, crash-consistent otherwise.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var hookOptions: HookOptions
    @OptionGroup var progressOptions: ProgressOptions

    @Argument(help: ArgumentHelp("Devices to back up (paths or MAJ:MIN).", valueName: "device"),
              transform: ArgumentTransforms.device)
    var devices: [DeviceArgument] = []

    @Option(name: .long, help: ArgumentHelp("Difference storage: DEVICE:SECTOR:COUNT[,...], a block device, dir:PATH, or kernel:PATH (VAL-7.0 grows it up to --limit).",
                                            valueName: "spec"),
            transform: StorageSpecTransform.storage)
    var storage: StorageSpec

    @Flag(name: .long, help: "Make full backups even where an incremental is possible.")
    var full = false

    @Option(name: .long, help: ArgumentHelp("Store clusters compressed: zstd[:LEVEL] (levels 1-19, default 3), zlib, or none (default: the repository's default).",
                                            valueName: "method"),
            transform: BackupCreate.compression)
    var compress: BackupCompression?

    @Option(name: .long, help: ArgumentHelp("Append at least this much storage per step (K, M, G suffixes).", valueName: "size"),
            transform: ArgumentTransforms.size)
    var step: UInt64?

    @Option(name: .long, help: ArgumentHelp("Append at most this much storage in total.", valueName: "size"),
            transform: ArgumentTransforms.size)
    var limit: UInt64?

    @Flag(name: .long, help: "Allow --storage on a tracked device, a member, or its partition or whole disk.")
    var allowSameDevice = false

    /// `--json` document.
    struct Report: Encodable {
        var repository: String
        var compression: String
        var consistency: String
        var snapshotCopySeconds: Double
        var removedLeftovers: [String]
        /// Snapshots that appeared while an interrupted run was creating its own (not destroyed).
        var unclaimedSnapshots: [String]
        var backups: [Entry]

        struct Entry: Encodable {
            var backup: BackupReport
            var changedBlocks: Int
            var fullReason: String?
        }
    }

    /// Parses `--compress`.
    static func compression(_ text: String) throws -> BackupCompression {
        do {
            return try BackupCompression(parsing: text)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func validate() throws {
        if devices.isEmpty { throw ValidationError("give at least one DEVICE to back up") }
        if let limit, limit < 512 { throw ValidationError("--limit must be at least one sector (512 bytes)") }
    }

    func run() throws {
        let progress = progressOptions.display(.backup, quiet: repository.quiet)
        let (report, lines) = try progress.finishing { try backUp(progress) }
        guard !repository.quiet || global.json else { return }
        global.output.emit(report) { lines }
    }

    /// Opens everything and runs the backup; returns the `--json` document and the text
    /// lines, printed once the progress is drawn.
    private func backUp(_ progress: ProgressDisplay) throws -> (Report, [String]) {
        let backend = try Backend(global)
        var paths: [String] = []
        for device in devices {
            let opened = try backend.blockDevice(device)
            paths.append(opened.path)
            try? opened.close()
        }
        if Set(paths).count != paths.count { throw CommandFailure("a device is given twice", status: .usage) }
        let repo = try repository.open(create: true)
        let provider = try storage.provider(backend: backend, devices: paths, limitBytes: limit, logger: global.logger("storage"))
        let configuration = SessionConfiguration(
            devices: paths, stepSectors: (step ?? 0) / 512, limitSectors: limit.map { $0 / 512 },
            detachAttachedTrackers: false, hz: backend.ticksPerSecond, allowSameDeviceStorage: allowSameDevice)
        let quiet = repository.quiet
        let removed = LockedList()
        let unclaimed = LockedList()
        let run = BackupRun(repository: repo, driver: backend.driver, configuration: configuration, storage: provider,
                            forceFull: full, compression: compress, hooks: hookOptions.hooks,
                            logger: try global.logger("session"), progress: progress.meter) { event in
            switch event {
            case .hook(let name, let outcome):
                if !outcome.succeeded || !quiet { Diagnostics.error("\(name) hook \(outcome)") }
            case .removedLeftover(let name):
                removed.append(name)
                if !quiet { Diagnostics.error("removed \(name), left by an interrupted backup") }
            case .unclaimedSnapshots(let ids):
                for id in ids { unclaimed.append(id) }
                for id in ids {
                    Diagnostics.error("warning: snapshot \(id) appeared while an interrupted backup was creating its snapshot and may be that one; if no other program uses it, destroy it with 'blksnapctl snapshot destroy \(id)'")
                }
            case .planned(_, let plan):
                if !quiet {
                    if let reason = plan.fullReason {
                        Diagnostics.error("\(plan.identity.devicePath): full backup: \(reason)")
                    } else if let reason = plan.resyncReason, let parent = plan.parent?.id {
                        Diagnostics.error("\(plan.identity.devicePath): resync on backup \(parent): \(reason)")
                    } else if let parent = plan.parent?.id {
                        Diagnostics.error("\(plan.identity.devicePath): incremental on backup \(parent): \(plan.changedBlocks) CBT blocks changed (\(ProgressLine.size(plan.changedBytes))), \(ProgressLine.size(plan.bytesToRead)) to read")
                    }
                }
            case .session(.warning(let message)):
                if !repository.quiet { Diagnostics.error("warning: \(message)") }
            case .session(.corrupted(_, let path, _, let name, let meaning)):
                Diagnostics.error("\(path ?? "a device"): snapshot corrupted (\(name)): \(meaning)")
            case .session(.limitReached(let capacity, let requested, _)):
                if !repository.quiet {
                    Diagnostics.error("warning: storage limit reached (\(capacity) sectors appended, \(requested) requested): heavy writes may corrupt the snapshot")
                }
            default:
                break
            }
        }
        let signals = try TerminationSignals.install("backup create")
        signals.stopping(run.stopHandle)
        defer { signals.cancel() }
        let result: BackupRunResult
        do {
            result = try run.run()
        } catch {
            throw BackupCommand.failure(error)
        }
        let report = Report(repository: repo.location, compression: result.compression.description,
                            consistency: result.consistency.rawValue, snapshotCopySeconds: result.copySeconds, removedLeftovers: removed.items, unclaimedSnapshots: unclaimed.items,
                            backups: zip(result.records, result.plans).map { record, plan in
                                Report.Entry(backup: BackupReport(record), changedBlocks: plan.changedBlocks, fullReason: plan.fullReason)
                            })
        let lines = zip(result.records, result.plans).map { record, plan in
            let kind = record.parentId.map { "incremental on \($0)" } ?? "full"
            let compressed = record.compression == BackupCompression.none.description ? "" : " \(record.compression)-compressed (\(record.compressedClusters) of \(record.dataClusters) clusters)"
            return "backup \(record.id ?? 0): \(record.devicePath) \(kind), \(record.fileName): read \(ProgressLine.size(UInt64(record.bytesRead))), wrote \(ProgressLine.size(UInt64(record.bytesWritten)))\(compressed) (CBT changed \(ProgressLine.size(plan.changedBytes)); generation \(record.cbtGeneration), changes number \(record.cbtChangesNumber))"
        }
        return (report, lines)
    }
}

/// Names collected from another thread.
final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []

    func append(_ item: String) {
        lock.lock()
        storage.append(item)
        lock.unlock()
    }

    var items: [String] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
