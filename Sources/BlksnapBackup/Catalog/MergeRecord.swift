import Foundation
import GRDB

/// Which way a prune merge goes.
public enum MergeKind: String, Codable, Sendable, Hashable, DatabaseValueConvertible {
    /// An increment merged into its kept child: the child absorbs the clusters it lacked
    /// and backs onto the increment's parent.
    case increment
    /// A full backup merged into its first kept increment, which absorbs the clusters it
    /// lacked and becomes the chain's full backup (no backing file).
    case full
}

/// Where a prune merge is; each state is committed before the step it allows.
public enum MergeState: String, Codable, Sendable, Hashable, DatabaseValueConvertible {
    /// Recorded before the first write. The target's file may have bytes appended past
    /// ``MergeRecord/targetOldSize`` (nothing references them): a redo truncates them and
    /// copies again.
    case planned
    /// The absorbed clusters, new L2/L1 tables and refcounts are appended and synced, their
    /// hashes are in the catalog and ``MergeRecord/newHeader`` holds the header that
    /// switches the file to them; the file's header may be the old or the new one (a redo
    /// writes the new one again).
    case prepared
    /// The header is switched, the target's row names its new parent and size, and the
    /// source's row is gone (its file is deleted right after, or by the next run).
    case done
}

/// One merge of a prune (`merge` table): the intent recorded before the first write, the
/// progress that makes it redoable after a crash, and afterwards the history that
/// `backup list` and `backup verify` show (what was merged into what, when).
///
/// Fields: ``id``; ``kind``; the source (``sourceId``, ``sourceFileName``,
/// ``sourceTakenAt``: kept after the source's row is deleted, for history); the target
/// (``targetId``, the kept point that absorbs the source); ``newParentId`` (the source's
/// parent, the target's parent afterwards; nil for a full merge); ``state``; the target's
/// file size before (``targetOldSize``) and after (``targetNewSize``); ``newHeader`` (the
/// header cluster that switches the target, set from ``MergeState/prepared`` on, cleared
/// at ``MergeState/done``); ``deadOffsets`` (the target's metadata clusters the new layout
/// no longer references, whose catalog rows go at ``MergeState/done``); the costs
/// (``clustersCopied``, ``bytesCopied``, ``bytesWritten``); and ``startedAt``/``finishedAt``.
public struct MergeRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    /// Table name.
    public static let databaseTableName = "merge"
    /// Columns are snake_case.
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    /// Columns are snake_case.
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    /// The merge id (assigned by the catalog).
    public var id: Int64?
    /// Increment into its child, or full into its first kept increment.
    public var kind: MergeKind
    /// The backup merged away.
    public var sourceId: Int64
    /// Its file name (history; the file is deleted once the merge is done).
    public var sourceFileName: String
    /// When the source was taken (history).
    public var sourceTakenAt: Date
    /// The kept backup that absorbs the source.
    public var targetId: Int64
    /// The target's parent once the merge is done (the source's parent; nil: the target becomes full).
    public var newParentId: Int64?
    /// Progress.
    public var state: MergeState
    /// The target's file size before the merge, in bytes.
    public var targetOldSize: Int64
    /// The target's file size after it, in bytes (0 until prepared).
    public var targetNewSize: Int64
    /// The header cluster that switches the target to the merged layout.
    public var newHeader: Data?
    /// Metadata clusters of the target no longer referenced after the switch (comma-separated offsets).
    public var deadOffsets: String
    /// Clusters copied from the source (data and zero entries the target lacked).
    public var clustersCopied: Int64
    /// Data bytes copied from the source.
    public var bytesCopied: Int64
    /// Bytes written to the target (data, tables, refcounts, header).
    public var bytesWritten: Int64
    /// When the merge was recorded.
    public var startedAt: Date
    /// When it was done.
    public var finishedAt: Date?

    /// Creates a planned merge.
    public init(kind: MergeKind, source: BackupRecord, targetId: Int64, targetOldSize: Int64, startedAt: Date) {
        self.kind = kind
        sourceId = source.id ?? 0
        sourceFileName = source.fileName
        sourceTakenAt = source.takenAt
        self.targetId = targetId
        newParentId = source.parentId
        state = .planned
        self.targetOldSize = targetOldSize
        targetNewSize = 0
        newHeader = nil
        deadOffsets = ""
        clustersCopied = 0
        bytesCopied = 0
        bytesWritten = 0
        self.startedAt = startedAt
        finishedAt = nil
    }

    /// The dead metadata offsets as numbers.
    public var deadOffsetList: [UInt64] { deadOffsets.split(separator: ",").compactMap { UInt64($0) } }

    /// Sets ``id`` after insertion.
    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    /// The `v2-merge` migration: the `merge` table (additive; v1 catalogs gain it empty).
    static func createTable(_ db: Database) throws {
        try db.create(table: "merge") { table in
            table.autoIncrementedPrimaryKey("id")
            table.column("kind", .text).notNull()
            table.column("source_id", .integer).notNull().indexed()
            table.column("source_file_name", .text).notNull()
            table.column("source_taken_at", .datetime).notNull()
            table.column("target_id", .integer).notNull().indexed()
            table.column("new_parent_id", .integer)
            table.column("state", .text).notNull()
            table.column("target_old_size", .integer).notNull()
            table.column("target_new_size", .integer).notNull()
            table.column("new_header", .blob)
            table.column("dead_offsets", .text).notNull()
            table.column("clusters_copied", .integer).notNull()
            table.column("bytes_copied", .integer).notNull()
            table.column("bytes_written", .integer).notNull()
            table.column("started_at", .datetime).notNull()
            table.column("finished_at", .datetime)
        }
    }
}
