import ArgumentParser
import BlksnapBackup
import BlksnapKit
import Foundation

/// `blksnapctl backup restore ID --to PATH|DEVICE --repo DIR [--force] [--delta] [--progress MODE]`.
struct BackupRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Write the point in time of a backup to a raw image file or onto a block device.",
        discussion: """
            Reads the backup's chain (the file and its backing files) as one disk and checks \
            every data cluster against its SHA-256 in the catalog while writing (exit 65 on a \
            mismatch). A new file is written sparse; an existing non-empty file is refused \
            unless --force. A block device is refused when it, or one of its partitions, is \
            mounted, when another program holds it exclusively, or when it is smaller than the \
            backup; otherwise the backup's size from its start is overwritten. With --delta \
            an existing target is read and only the clusters that differ are written (method \
            compare). With --delta and --storage, a target that is the backup's tracked \
            original is restored by its CBT (method cbt): a snapshot of it is taken and \
            destroyed at once (on --storage) to read the blocks written since the newest \
            backup of the chain in the tracker's CBT generation, and only those clusters plus \
            the ones that differ between that backup and the restored point are written; \
            nothing of the target is read. When that does not apply (another device, a new \
            CBT generation) the reason is printed and the target is compared instead. Method \
            cbt runs through the module (or --sim); full and compare restores take host paths \
            only. Progress goes to stderr as for 'backup create' (--progress).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var progressOptions: ProgressOptions

    @Argument(help: ArgumentHelp("Backup id.", valueName: "id"))
    var id: String

    @Option(name: .long, help: ArgumentHelp("Target: a raw image file path or a block device.", valueName: "path"))
    var to: String

    @Flag(name: .long, help: "Overwrite an existing non-empty target file.")
    var force = false

    @Flag(name: .long, help: "Read the existing target and write only the clusters that differ from the backup (method 'compare'); a missing target is restored in full.")
    var delta = false

    @Option(name: .long, help: ArgumentHelp("With --delta onto the tracked original: difference storage for the snapshot that switches its CBT (as backup create's --storage); the restore then writes only what the CBT and the chain name (method 'cbt').",
                                            valueName: "spec"),
            transform: StorageSpecTransform.storage)
    var storage: StorageSpec?

    /// `--json` document.
    struct Report: Encodable {
        var backup: Int64
        var target: String
        var blockDevice: Bool
        var sizeBytes: UInt64
        var bytesWritten: UInt64
        var chain: [String]
        var method: String
        var targetBytesRead: UInt64
        /// Method cbt: the backup the device's CBT changes were counted from.
        var cbtBase: Int64?
        /// Method cbt: bytes of the CBT blocks changed since then; clusters differing in the chain.
        var cbtChangedBytes: UInt64?
        var chainDifferingClusters: Int?
        /// Why method cbt did not apply (--storage given, compare used).
        var cbtNotApplicable: String?
    }

    func validate() throws {
        _ = try BackupCommand.id(id)
        if storage != nil && !delta { throw ValidationError("--storage applies to --delta restores onto the tracked original: add --delta") }
    }

    func run() throws {
        let progress = progressOptions.display(.restore, quiet: repository.quiet)
        let backupID = try BackupCommand.id(id)  // checked by validate()
        var notApplicable: String?
        let summary = try progress.finishing {
            let repo = try repository.open()
            let (target, overwrite, compare) = (to, force, delta)
            if delta, let storage {
                let backend = try Backend(global)
                let device = try backend.blockDevice(try ArgumentValues.device(target))
                let path = device.path
                try? device.close()
                let provider = try storage.provider(backend: backend, devices: [path], limitBytes: nil, logger: global.logger("storage"))
                let configuration = SessionConfiguration(devices: [path], hz: backend.ticksPerSecond)
                let restore = CBTDeltaRestore(repository: repo, driver: backend.driver)
                let outcome = try BackupCommand.performing { () throws(BackupError) in
                    try restore.restore(id: backupID, devicePath: path, configuration: configuration, storage: provider,
                                        progress: progress.meter)
                }
                switch outcome {
                case .restored(let summary): return summary
                case .notApplicable(let reason):
                    notApplicable = reason
                    if !backend.kernel.usesHostDevices {
                        throw CommandFailure("restore: method cbt does not apply: \(reason); a compare restore needs a host path, not a simulator's device")
                    }
                    if !repository.quiet { Diagnostics.error("restore: method cbt does not apply: \(reason); comparing instead") }
                }
            }
            let restorer = BackupRestorer(repository: repo)
            return try BackupCommand.performing { () throws(BackupError) in
                try restorer.restore(id: backupID, to: target, overwrite: overwrite, delta: compare, progress: progress.meter)
            }
        }
        guard !repository.quiet || global.json else { return }
        let report = Report(backup: summary.backupID, target: summary.target, blockDevice: summary.isBlockDevice,
                            sizeBytes: summary.virtualSize, bytesWritten: summary.bytesWritten,
                            chain: summary.chainFiles.map { $0.split(separator: "/").last.map(String.init) ?? $0 },
                            method: summary.method, targetBytesRead: summary.targetBytesRead,
                            cbtBase: summary.cbtBase, cbtChangedBytes: summary.method == "cbt" ? summary.cbtChangedBytes : nil,
                            chainDifferingClusters: summary.method == "cbt" ? summary.chainDifferingClusters : nil,
                            cbtNotApplicable: notApplicable)
        global.output.emit(report) {
            var how = summary.method == "compare" ? " (delta, method compare: read \(ProgressLine.size(summary.targetBytesRead)) of the target)" : ""
            if summary.method == "cbt", let base = summary.cbtBase {
                how = " (delta, method cbt: \(ProgressLine.size(summary.cbtChangedBytes)) changed on the device since backup \(base), \(summary.chainDifferingClusters) cluster(s) differ between it and backup \(summary.backupID); nothing of the target read)"
            }
            return ["restored backup \(summary.backupID) (\(ProgressLine.size(summary.virtualSize)), chain of \(summary.chainFiles.count) file(s)) to \(summary.target): wrote \(ProgressLine.size(summary.bytesWritten))\(how)"]
        }
    }
}
