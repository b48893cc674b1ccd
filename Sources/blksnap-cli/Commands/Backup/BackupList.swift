import ArgumentParser
import BlksnapBackup
import Foundation

/// `blksnapctl backup list --repo DIR [--json]`.
struct BackupList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the backups of a repository.",
        discussion: """
            One line per backup, oldest first: id, device, full or incremental (and on which \
            parent), CBT generation and changes number at take, time, file size and bytes \
            read, and the compression of those stored compressed; first, the repository's \
            default compression (recorded by its first 'backup create'). Only committed backups \
            exist: an interrupted 'backup create' is never listed. Below a backup, the prune \
            merges behind it: what was merged into it (and into what it absorbed), when, and \
            what it cost; a backup an unfinished merge is merging away is listed until the \
            merge is done, marked as such.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var repository: RepositoryOptions

    /// `--json` document.
    struct Report: Encodable {
        var repository: String
        /// The repository's default compression; nil before its first backup create.
        var defaultCompression: String?
        var backups: [BackupReport]
    }

    func run() throws {
        let repo = try repository.open()
        let (records, compression, merges) = try BackupCommand.performing { () throws(BackupError) in
            (try repo.catalog.all(), try repo.catalog.defaultCompression(), try repo.catalog.merges())
        }
        let report = Report(repository: repo.location, defaultCompression: compression?.description,
                            backups: records.map { record in
                                var backup = BackupReport(record)
                                let history = MergeHistory.merges(into: [record.id ?? 0], from: merges)
                                backup.merged = history.map(MergeReport.init)
                                backup.mergingInto = merges.first { $0.sourceId == record.id && $0.state != .done }?.targetId
                                return backup
                            })
        global.output.emit(report) {
            if records.isEmpty { return ["no backups in \(repo.location)"] }
            let header = "default compression: \(compression?.description ?? "none")"
            return [header] + zip(records, report.backups).flatMap { record, backup in
                let kind = backup.parent.map { "incremental on \($0)" } ?? "full"
                var flag = backup.status == "complete" ? "" : " [\(backup.status.uppercased())]"
                if let target = backup.mergingInto { flag += " [BEING MERGED INTO \(target)]" }
                let compressed = backup.compression == BackupCompression.none.description ? "" : ", \(backup.compression) \(backup.compressedClusters)/\(backup.dataClusters) clusters"
                let consistent = backup.consistency == "application" ? "  application-consistent" : ""
                let line = "\(backup.id)  \(backup.device)  \(kind)\(consistent)  generation \(backup.cbtGeneration) number \(backup.cbtChangesNumber)  \(backup.takenAt)  file \(ProgressLine.size(UInt64(backup.fileSize))) (read \(ProgressLine.size(UInt64(backup.bytesRead)))\(compressed))  \(backup.fileName)\(flag)"
                let history = MergeHistory.merges(into: [record.id ?? 0], from: merges)
                return [line] + history.map { "    " + MergeHistory.line($0, format: BackupReport.format) }
            }
        }
    }
}
