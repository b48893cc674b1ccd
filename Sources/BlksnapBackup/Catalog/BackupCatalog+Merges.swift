import Foundation
import GRDB

/// The catalog's side of a prune: each step of a ``MergeRecord`` commits in one
/// transaction, so the catalog is always at one of the merge's states.
extension BackupCatalog {
    /// Every merge, oldest first (finished ones are the repository's history).
    public func merges() throws(BackupError) -> [MergeRecord] {
        try reading { db in try MergeRecord.order(Column("id")).fetchAll(db) }
    }

    /// The merges a crash left unfinished (``MergeState/planned`` or ``MergeState/prepared``), oldest first.
    public func unfinishedMerges() throws(BackupError) -> [MergeRecord] {
        try reading { db in
            try MergeRecord.filter(Column("state") != MergeState.done.rawValue).order(Column("id")).fetchAll(db)
        }
    }

    /// A value that changes whenever a merge changes state: a reader that opened a chain
    /// while it changed opens it again.
    public func mergeEpoch() throws(BackupError) -> String {
        try reading { db in
            try String.fetchOne(db, sql: "SELECT COUNT(*) || ':' || COALESCE(SUM(CASE state WHEN 'planned' THEN 1 WHEN 'prepared' THEN 2 ELSE 3 END), 0) FROM merge") ?? ""
        }
    }

    /// Records a merge before its first write; returns it with its id.
    public func beginMerge(_ merge: MergeRecord) throws(BackupError) -> MergeRecord {
        try writing("recording a merge in") { db in
            var inserted = merge
            try inserted.insert(db)
            return inserted
        }
    }

    /// Commits the appended part of a merge: the hashes of the clusters appended to the
    /// target (replacing any row a crashed attempt left past the old size) and the merge's
    /// new state (``MergeState/prepared``, with the new header and sizes).
    public func prepareMerge(_ merge: MergeRecord, appended: [WrittenCluster]) throws(BackupError) {
        try writing("committing a merge's clusters to") { db in
            try db.execute(sql: "DELETE FROM cluster WHERE backup_id = ? AND file_offset >= ?",
                           arguments: [merge.targetId, merge.targetOldSize])
            let statement = try db.makeStatement(
                sql: "INSERT INTO cluster (backup_id, file_offset, guest_offset, kind, sha256) VALUES (?, ?, ?, ?, ?)")
            for cluster in appended {
                try statement.execute(arguments: [merge.targetId, Int64(cluster.fileOffset), cluster.guestOffset.map { Int64($0) },
                                                  cluster.kind.rawValue, Data(cluster.sha256)])
            }
            var updated = merge
            updated.state = .prepared
            try updated.update(db)
        }
    }

    /// Commits a merge whose header is switched: the target names its new parent (or is
    /// full), its new size and header hash; its dead metadata rows and the source's row
    /// (with its cluster rows) go; the merge is ``MergeState/done``.
    public func finishMerge(_ merge: MergeRecord, headerSHA256: [UInt8], finishedAt: Date) throws(BackupError) {
        try writing("committing a merge to") { db in
            let fullReason = merge.newParentId == nil
                ? "backup \(merge.sourceId) (the chain's full backup) was merged into it by a prune" : nil
            if merge.newParentId == nil {
                try db.execute(sql: "UPDATE backup SET parent_id = NULL, type = ?, full_reason = ?, file_size = ? WHERE id = ?",
                               arguments: [BackupType.full.rawValue, fullReason, merge.targetNewSize, merge.targetId])
            } else {
                try db.execute(sql: "UPDATE backup SET parent_id = ?, file_size = ? WHERE id = ?",
                               arguments: [merge.newParentId, merge.targetNewSize, merge.targetId])
            }
            try db.execute(sql: "UPDATE cluster SET sha256 = ? WHERE backup_id = ? AND file_offset = 0",
                           arguments: [Data(headerSHA256), merge.targetId])
            let dead = try db.makeStatement(sql: "DELETE FROM cluster WHERE backup_id = ? AND file_offset = ? AND kind = 'metadata'")
            for offset in merge.deadOffsetList {
                try dead.execute(arguments: [merge.targetId, Int64(offset)])
            }
            try db.execute(sql: "DELETE FROM cluster WHERE backup_id = ?", arguments: [merge.sourceId])
            try db.execute(sql: "DELETE FROM backup WHERE id = ?", arguments: [merge.sourceId])
            var updated = merge
            updated.state = .done
            updated.newHeader = nil
            updated.finishedAt = finishedAt
            try updated.update(db)
        }
    }

    /// Deletes backup `id` and its cluster rows: a pruned point nothing depends on.
    ///
    /// - Throws: ``BackupError`` `.refused` when another backup still names it as parent.
    public func deleteBackup(id: Int64) throws(BackupError) {
        try writing("deleting a backup from") { db in
            let children = try Int64.fetchAll(db, sql: "SELECT id FROM backup WHERE parent_id = ?", arguments: [id])
            guard children.isEmpty else {
                throw BackupError(.refused, "backup \(id) cannot be deleted: backups \(children.map(String.init).joined(separator: ", ")) depend on it (EBUSY)", errno: .resourceBusy)
            }
            try db.execute(sql: "DELETE FROM cluster WHERE backup_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM backup WHERE id = ?", arguments: [id])
        }
    }

    /// Replaces backup `record.id`'s row and cluster hashes with those of its rewritten
    /// file and deletes backup `sourceID` (merged into it), in one transaction: a merge
    /// on storage that rewrites files (``PointReplacingStorage``).
    public func replaceBackup(_ record: BackupRecord, clusters: [WrittenCluster], deleting sourceID: Int64) throws(BackupError) {
        try writing("replacing a merged backup in") { db in
            try record.update(db)
            try db.execute(sql: "DELETE FROM cluster WHERE backup_id = ?", arguments: [record.id])
            let statement = try db.makeStatement(
                sql: "INSERT INTO cluster (backup_id, file_offset, guest_offset, kind, sha256) VALUES (?, ?, ?, ?, ?)")
            for cluster in clusters {
                try statement.execute(arguments: [record.id, Int64(cluster.fileOffset), cluster.guestOffset.map { Int64($0) },
                                                  cluster.kind.rawValue, Data(cluster.sha256)])
            }
            let children = try Int64.fetchAll(db, sql: "SELECT id FROM backup WHERE parent_id = ?", arguments: [sourceID])
            guard children.isEmpty else {
                throw BackupError(.refused, "backup \(sourceID) cannot be deleted: backups \(children.map(String.init).joined(separator: ", ")) depend on it (EBUSY)", errno: .resourceBusy)
            }
            try db.execute(sql: "DELETE FROM cluster WHERE backup_id = ?", arguments: [sourceID])
            try db.execute(sql: "DELETE FROM backup WHERE id = ?", arguments: [sourceID])
        }
    }

    private func writing<T>(_ operation: String, _ body: (Database) throws -> T) throws(BackupError) -> T {
        do {
            return try database.write(body)
        } catch {
            throw Self.failure(operation, path, error)
        }
    }
}
