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
            exist: an interrupted 'backup create' is never listed.
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
        let (records, compression) = try BackupCommand.performing { () throws(BackupError) in
            (try repo.catalog.all(), try repo.catalog.defaultCompression())
        }
        let report = Report(repository: repo.directory, defaultCompression: compression?.description,
                            backups: records.map(BackupReport.init))
        global.output.emit(report) {
            if records.isEmpty { return ["no backups in \(repo.directory)"] }
            let header = "default compression: \(compression?.description ?? "none")"
            return [header] + report.backups.map { backup in
                let kind = backup.parent.map { "incremental on \($0)" } ?? "full"
                let flag = backup.status == "complete" ? "" : " [\(backup.status.uppercased())]"
                let compressed = backup.compression == BackupCompression.none.description ? "" : ", \(backup.compression) \(backup.compressedClusters)/\(backup.dataClusters) clusters"
                let consistent = backup.consistency == "application" ? "  application-consistent" : ""
                return "\(backup.id)  \(backup.device)  \(kind)\(consistent)  generation \(backup.cbtGeneration) number \(backup.cbtChangesNumber)  \(backup.takenAt)  file \(ProgressLine.size(UInt64(backup.fileSize))) (read \(ProgressLine.size(UInt64(backup.bytesRead)))\(compressed))  \(backup.fileName)\(flag)"
            }
        }
    }
}
