import ArgumentParser
import BlksnapBackup
import Foundation

/// `blksnapctl backup verify [ID] --repo DIR`.
struct BackupVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-read every cluster of the backup files and check them against the catalog's SHA-256.",
        discussion: """
            With ID: that backup and the backups it depends on (its chain down to the full \
            backup); without: every backup. Each cluster of each file (data, and the header, \
            L1/L2 tables and refcounts) is hashed again; a mismatch is named by backup id, \
            file and byte range. A backup an unfinished prune merge is changing passes in \
            either of its two layouts; the merges behind the backups verified (what was merged \
            into what, when) are listed. On a mismatch the backup is marked corrupt (the next 'backup create' of its \
            device is full), and the exit status is 65.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var repository: RepositoryOptions

    @Argument(help: ArgumentHelp("Backup id (default: all).", valueName: "id"))
    var id: String?

    /// `--json` document.
    struct Report: Encodable {
        var repository: String
        var backups: [Int64]
        var clustersChecked: Int
        var bytesChecked: UInt64
        var findings: [Finding]
        var merges: [MergeReport]
        var ok: Bool

        struct Finding: Encodable {
            var backup: Int64
            var fileName: String
            var fileOffset: UInt64
            var length: UInt64
            var guestOffset: UInt64?
            var problem: String
        }
    }

    func validate() throws {
        if let id { _ = try BackupCommand.id(id) }
    }

    func run() throws {
        let repo = try repository.open()
        let wanted = try id.map { try BackupCommand.id($0) }
        let verifier = BackupVerifier(repository: repo)
        let result = try BackupCommand.performing { () throws(BackupError) in try verifier.verify(id: wanted) }
        let report = Report(repository: repo.location, backups: result.backupIDs, clustersChecked: result.clustersChecked,
                            bytesChecked: result.bytesChecked,
                            findings: result.findings.map {
                                Report.Finding(backup: $0.backupID, fileName: $0.fileName, fileOffset: $0.fileOffset,
                                               length: $0.length, guestOffset: $0.guestOffset, problem: $0.problem)
                            }, merges: result.merges.map(MergeReport.init), ok: result.findings.isEmpty)
        for finding in result.findings { Diagnostics.error(finding.description) }
        if !repository.quiet || global.json {
            global.output.emit(report) {
                let ids = result.backupIDs.map(String.init).joined(separator: ", ")
                let verdict = result.findings.isEmpty ? "all match" : "\(result.findings.count) problem(s)"
                return ["verified backups \(ids.isEmpty ? "(none)" : ids): \(result.clustersChecked) clusters, \(ProgressLine.size(result.bytesChecked)): \(verdict)"]
                    + result.merges.map { "  " + MergeHistory.line($0, format: BackupReport.format) }
            }
        }
        if !result.findings.isEmpty {
            throw CommandFailure("backup verify: \(result.findings.count) problem(s) in \(repo.location) (EILSEQ); the first: \(result.findings[0].description)",
                                 status: .corrupted)
        }
    }
}
