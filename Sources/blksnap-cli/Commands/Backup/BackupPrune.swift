import ArgumentParser
import BlksnapBackup
import Foundation

/// `blksnapctl backup prune --repo DIR --keep-… [--dry-run]`.
struct BackupPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove backups a retention policy does not keep, merging those that kept backups depend on.",
        discussion: """
            The policy is restic's: per device, --keep-last N keeps the newest N backups; \
            --keep-hourly/daily/weekly/monthly/yearly N keep the newest backup of each of the \
            last N hours, days, ISO weeks, months or years (UTC) that have backups; \
            --keep-within SPAN (e.g. 2y5m7d3h, 36h, 1w) keeps every backup taken within SPAN \
            before the newest. N = -1 means unlimited. A backup any rule keeps is kept. \
            A removed backup that a kept one depends on is merged into it: an increment into \
            its kept child (which absorbs the clusters it lacked and backs onto the increment's \
            parent), the full backup into its first kept increment (which becomes the full \
            backup). A merge writes about the bytes it copies, never a rewrite of the chain, \
            and the files stay plain qcow2. Removed backups nothing depends on are deleted. \
            Every merge is recorded in the catalog before its first write; a prune that was \
            killed leaves every listed backup restorable, and the next prune finishes its \
            merges first. Restores and serves of kept backups run on meanwhile and read either \
            layout, which hold the same data. --dry-run prints what would go and which rule \
            keeps each backup.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var repository: RepositoryOptions

    @Option(name: .customLong("keep-last"), parsing: .unconditional, help: ArgumentHelp("Keep the newest N backups of each device.", valueName: "n"))
    var keepLast: Int?
    @Option(name: .customLong("keep-hourly"), parsing: .unconditional, help: ArgumentHelp("Keep the newest backup of each of the last N hours.", valueName: "n"))
    var keepHourly: Int?
    @Option(name: .customLong("keep-daily"), parsing: .unconditional, help: ArgumentHelp("Keep the newest backup of each of the last N days.", valueName: "n"))
    var keepDaily: Int?
    @Option(name: .customLong("keep-weekly"), parsing: .unconditional, help: ArgumentHelp("Keep the newest backup of each of the last N ISO weeks.", valueName: "n"))
    var keepWeekly: Int?
    @Option(name: .customLong("keep-monthly"), parsing: .unconditional, help: ArgumentHelp("Keep the newest backup of each of the last N months.", valueName: "n"))
    var keepMonthly: Int?
    @Option(name: .customLong("keep-yearly"), parsing: .unconditional, help: ArgumentHelp("Keep the newest backup of each of the last N years.", valueName: "n"))
    var keepYearly: Int?
    @Option(name: .customLong("keep-within"), help: ArgumentHelp("Keep every backup taken within SPAN (y, m, w, d, h: 2y5m7d3h) before the newest.", valueName: "span"))
    var keepWithin: String?

    @Flag(name: .customLong("dry-run"), help: "Print what would be merged and deleted, and why each backup is kept; change nothing.")
    var dryRun = false

    @Flag(name: .customLong("check-sources"),
          help: "Hash every cluster a merge copies and stop (exit 65) at one that does not match the catalog, before that merge changes anything (default: the catalog's hash travels with the cluster, so a damaged one stays detected in the kept backup).")
    var checkSources = false

    /// `--json` document.
    struct Report: Encodable {
        var repository: String
        var dryRun: Bool
        var policy: String
        var points: [Point]
        var resumed: [Merge]
        var merges: [Merge]
        var deleted: [Int64]

        struct Point: Encodable {
            var id: Int64
            var device: String
            var takenAt: String
            var type: String
            var keep: Bool
            var reasons: [String]
            var mergedInto: Int64?
        }

        struct Merge: Encodable {
            var id: Int64?
            var kind: String
            var source: Int64
            var target: Int64
            var newParent: Int64?
            var state: String
            var clustersCopied: Int64
            var bytesCopied: Int64
            var bytesWritten: Int64

            init(_ merge: MergeRecord) {
                id = merge.id
                kind = merge.kind.rawValue
                source = merge.sourceId
                target = merge.targetId
                newParent = merge.newParentId
                state = merge.state.rawValue
                clustersCopied = merge.clustersCopied
                bytesCopied = merge.bytesCopied
                bytesWritten = merge.bytesWritten
            }
        }
    }

    func validate() throws {
        for (name, value) in [("keep-last", keepLast), ("keep-hourly", keepHourly), ("keep-daily", keepDaily),
                              ("keep-weekly", keepWeekly), ("keep-monthly", keepMonthly), ("keep-yearly", keepYearly)] {
            if let value, value < -1 {
                throw ValidationError("--\(name) \(value): give a count of 0 or more, or -1 for unlimited")
            }
        }
        if let keepWithin, RetentionDuration(parsing: keepWithin) == nil {
            throw ValidationError("--keep-within '\(keepWithin)' is not a span: numbers with units y, m, w, d, h, such as 2y5m7d3h, 36h or 1w")
        }
        if policy.isEmpty {
            throw ValidationError("give at least one --keep-last/-hourly/-daily/-weekly/-monthly/-yearly/-within rule: a prune without one would remove every backup")
        }
    }

    var policy: RetentionPolicy {
        RetentionPolicy(keepLast: keepLast, keepHourly: keepHourly, keepDaily: keepDaily, keepWeekly: keepWeekly,
                        keepMonthly: keepMonthly, keepYearly: keepYearly, keepWithin: keepWithin.flatMap { RetentionDuration(parsing: $0) })
    }

    func run() throws {
        let repo = try repository.open()
        let quiet = repository.quiet
        let pruner = BackupPruner(repository: repo) { event in
            guard !quiet else { return }
            Diagnostics.error(Self.describe(event))
        }
        let policy = self.policy
        let dry = dryRun
        let check = checkSources
        let result = try BackupCommand.performing { () throws(BackupError) in try pruner.prune(policy: policy, dryRun: dry, checkSources: check) }
        let report = Report(
            repository: repo.location, dryRun: dryRun, policy: policy.description,
            points: result.plan.points.map { (point: PrunePointPlan) in
                Report.Point(id: point.record.id ?? 0, device: point.record.devicePath, takenAt: BackupReport.format(point.record.takenAt),
                             type: point.record.type.rawValue, keep: point.keep, reasons: point.keepReasons, mergedInto: point.mergedInto)
            },
            resumed: result.resumed.map(Report.Merge.init), merges: result.merges.map(Report.Merge.init),
            deleted: result.deleted.compactMap { $0.id })
        guard !quiet || global.json else { return }
        global.output.emit(report) {
            var lines: [String] = []
            for merge in result.resumed where dry {
                lines.append("unfinished merge of \(merge.sourceId) into \(merge.targetId) (\(merge.state.rawValue)): would be finished first")
            }
            for point in result.plan.points {
                let head = "\(point.record.id ?? 0)  \(point.record.devicePath)  \(BackupReport.format(point.record.takenAt))  \(point.record.type.rawValue)"
                if point.keep {
                    lines.append("\(head)  keep (\(point.keepReasons.joined(separator: ", ")))")
                } else if let target = point.mergedInto {
                    lines.append("\(head)  \(dry ? "would go" : "gone"): merged into \(target)")
                } else {
                    lines.append("\(head)  \(dry ? "would go" : "gone"): deleted (no kept backup depends on it)")
                }
            }
            let kept = result.plan.points.filter(\.keep).count
            let merged = result.plan.points.filter { $0.mergedInto != nil }.count
            let deleted = result.plan.points.count - kept - merged
            let written = result.merges.reduce(Int64(0)) { $0 + $1.bytesWritten }
            let copied = result.merges.reduce(Int64(0)) { $0 + $1.bytesCopied }
            if dry {
                lines.append("dry run: \(kept) kept, \(merged) would be merged, \(deleted) deleted; nothing changed")
            } else {
                lines.append("pruned \(repo.location): \(kept) kept, \(merged) merged (\(ProgressLine.size(UInt64(copied))) copied, \(ProgressLine.size(UInt64(written))) written), \(deleted) deleted")
            }
            return lines
        }
    }

    /// One stderr line per step (tests read them to time a kill).
    static func describe(_ event: PruneEvent) -> String {
        switch event {
        case .removedLeftover(let name): return "prune: removed leftover \(name)"
        case .resuming(let merge): return "prune: finishing merge \(merge.id ?? 0) of \(merge.sourceId) into \(merge.targetId) (\(merge.state.rawValue))"
        case .mergePlanned(let merge): return "prune: merge\(merge.id.map { " \($0)" } ?? ""): \(merge.kind.rawValue) \(merge.sourceId) into \(merge.targetId): planned"
        case .mergePrepared(let merge):
            return "prune: merge\(merge.id.map { " \($0)" } ?? ""): \(merge.kind.rawValue) \(merge.sourceId) into \(merge.targetId): prepared (\(merge.clustersCopied) clusters, \(merge.bytesCopied) bytes copied)"
        case .mergeDone(let merge): return "prune: merge\(merge.id.map { " \($0)" } ?? ""): \(merge.kind.rawValue) \(merge.sourceId) into \(merge.targetId): done"
        case .deleted(let record): return "prune: deleted \(record.id ?? 0) (\(record.fileName))"
        }
    }
}
