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
            read. Only committed backups exist: an interrupted 'backup create' is never listed.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var repository: RepositoryOptions

    /// `--json` document.
    struct Report: Encodable {
        var repository: String
        var backups: [BackupReport]
    }

    func run() throws {
        let repo = try repository.open()
        let records = try BackupCommand.performing { () throws(BackupError) in try repo.catalog.all() }
        let report = Report(repository: repo.directory, backups: records.map(BackupReport.init))
        global.output.emit(report) {
            if records.isEmpty { return ["no backups in \(repo.directory)"] }
            return report.backups.map { backup in
                let kind = backup.parent.map { "incremental on \($0)" } ?? "full"
                let flag = backup.status == "complete" ? "" : " [\(backup.status.uppercased())]"
                return "\(backup.id)  \(backup.device)  \(kind)  generation \(backup.cbtGeneration) number \(backup.cbtChangesNumber)  \(backup.takenAt)  file \(ProgressLine.size(UInt64(backup.fileSize))) (read \(ProgressLine.size(UInt64(backup.bytesRead))))  \(backup.fileName)\(flag)"
            }
        }
    }
}
