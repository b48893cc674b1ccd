import ArgumentParser
import BlksnapBackup
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
            an existing target is read and only the clusters that differ are written (the \
            CBT shortcut of issue 24 is not implemented: the target is always read). Host \
            paths only (not a simulator's devices). Progress goes to stderr as for 'backup \
            create' (--progress).
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
    }

    func validate() throws {
        _ = try BackupCommand.id(id)
    }

    func run() throws {
        let progress = progressOptions.display(.restore, quiet: repository.quiet)
        let backupID = try BackupCommand.id(id)  // checked by validate()
        let summary = try progress.finishing {
            let repo = try repository.open()
            let restorer = BackupRestorer(repository: repo)
            let (target, overwrite, compare) = (to, force, delta)
            return try BackupCommand.performing { () throws(BackupError) in
                try restorer.restore(id: backupID, to: target, overwrite: overwrite, delta: compare, progress: progress.meter)
            }
        }
        guard !repository.quiet || global.json else { return }
        let report = Report(backup: summary.backupID, target: summary.target, blockDevice: summary.isBlockDevice,
                            sizeBytes: summary.virtualSize, bytesWritten: summary.bytesWritten,
                            chain: summary.chainFiles.map { $0.split(separator: "/").last.map(String.init) ?? $0 },
                            method: summary.method, targetBytesRead: summary.targetBytesRead)
        global.output.emit(report) {
            let how = summary.method == "compare" ? " (delta, method compare: read \(ProgressLine.size(summary.targetBytesRead)) of the target)" : ""
            return ["restored backup \(summary.backupID) (\(ProgressLine.size(summary.virtualSize)), chain of \(summary.chainFiles.count) file(s)) to \(summary.target): wrote \(ProgressLine.size(summary.bytesWritten))\(how)"]
        }
    }
}
