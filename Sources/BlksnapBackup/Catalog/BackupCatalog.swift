import Foundation
import GRDB

/// The repository's catalog: `catalog.sqlite` (SQLite in WAL mode, `synchronous=FULL`),
/// one ``BackupRecord`` per committed backup and the SHA-256 of every cluster of its file.
public final class BackupCatalog: Sendable {
    /// The database file.
    public let path: String
    let database: DatabaseQueue

    /// Opens (creating if needed) the catalog at `path` and brings its schema up to date.
    public init(path: String) throws(BackupError) {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(10)
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try database.writeWithoutTransaction { db in
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                guard mode?.lowercased() == "wal" else {
                    throw BackupError(.io, "the catalog \(path) could not switch to WAL mode (journal_mode is \(mode ?? "?")): put the repository on a local filesystem")
                }
            }
            try Self.migrator.migrate(database)
        } catch let error as BackupError {
            throw error
        } catch {
            throw Self.failure("opening", path, error)
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "backup") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("taken_at", .datetime).notNull()
                table.column("device_path", .text).notNull()
                table.column("device_key", .text).notNull().indexed()
                table.column("capacity_bytes", .integer).notNull()
                table.column("logical_block_size", .integer).notNull()
                table.column("serial", .text)
                table.column("wwn", .text)
                table.column("cbt_generation", .text).notNull()
                table.column("cbt_changes_number", .integer).notNull()
                table.column("cbt_block_size", .integer).notNull()
                table.column("type", .text).notNull()
                table.column("parent_id", .integer).references("backup", onDelete: .restrict)
                table.column("full_reason", .text)
                table.column("file_name", .text).notNull().unique()
                table.column("file_size", .integer).notNull()
                table.column("bytes_read", .integer).notNull()
                table.column("bytes_written", .integer).notNull()
                table.column("changed_bytes", .integer).notNull()
                table.column("data_clusters", .integer).notNull()
                table.column("zero_clusters", .integer).notNull()
                table.column("snapshot_id", .text).notNull()
                table.column("status", .text).notNull()
            }
            try db.create(table: "cluster", options: [.withoutRowID]) { table in
                table.column("backup_id", .integer).notNull().references("backup", onDelete: .cascade)
                table.column("file_offset", .integer).notNull()
                table.column("guest_offset", .integer)
                table.column("kind", .text).notNull()
                table.column("sha256", .blob).notNull()
                table.primaryKey(["backup_id", "file_offset"])
            }
        }
        migrator.registerMigration("v2-compression") { db in
            // How each backup's data clusters are stored; earlier backups are uncompressed.
            try db.alter(table: "backup") { table in
                table.add(column: "compression", .text).notNull().defaults(to: BackupCompression.none.description)
                table.add(column: "compressed_clusters", .integer).notNull().defaults(to: 0)
            }
            // Repository-wide settings recorded once (the default compression).
            try db.create(table: "setting") { table in
                table.primaryKey("name", .text)
                table.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v3-consistency") { db in
            // application: hooks quiesced it; crash: no hook or a hook failed (every earlier backup).
            try db.alter(table: "backup") { table in
                table.add(column: "consistency", .text).notNull().defaults(to: BackupConsistency.crash.rawValue)
            }
        }
        migrator.registerMigration("v4-merge", migrate: MergeRecord.createTable)
        migrator.registerMigration("v5-resync") { db in
            try db.alter(table: "backup") { table in table.add(column: "resync_reason", .text) }
        }
        return migrator
    }

    /// The setting name of the repository's default compression.
    static let defaultCompressionSetting = "default_compression"

    /// The repository's default compression, recorded by its first `backup create`; nil
    /// before that.
    ///
    /// - Throws: ``BackupError`` `.corrupted` when the recorded value is not one this
    ///   version reads.
    public func defaultCompression() throws(BackupError) -> BackupCompression? {
        let text = try reading { db in
            try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = ?", arguments: [Self.defaultCompressionSetting])
        }
        guard let text else { return nil }
        do {
            return try BackupCompression(parsing: text)
        } catch {
            throw BackupError(.corrupted, "the catalog \(path) records the default compression '\(text)', which this version does not know: \(error.message)")
        }
    }

    /// Records `compression` as the repository's default unless one is recorded already;
    /// returns the default in force afterwards.
    public func recordDefaultCompression(ifUnset compression: BackupCompression) throws(BackupError) -> BackupCompression {
        do {
            try database.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO setting (name, value) VALUES (?, ?)",
                               arguments: [Self.defaultCompressionSetting, compression.description])
            }
        } catch {
            throw Self.failure("updating", path, error)
        }
        return try defaultCompression() ?? compression
    }

    /// Every backup, oldest first.
    public func all() throws(BackupError) -> [BackupRecord] {
        try reading { db in try BackupRecord.order(Column("id")).fetchAll(db) }
    }

    /// The backup `id`, if any.
    public func record(id: Int64) throws(BackupError) -> BackupRecord? {
        try reading { db in try BackupRecord.fetchOne(db, key: id) }
    }

    /// The newest backup of the device `deviceKey` (whatever its status), if any.
    public func latest(deviceKey: String) throws(BackupError) -> BackupRecord? {
        try reading { db in
            try BackupRecord.filter(Column("device_key") == deviceKey)
                .order(Column("id").desc).fetchOne(db)
        }
    }

    /// The recorded clusters of backup `id`, in file order.
    public func clusters(of id: Int64) throws(BackupError) -> [WrittenCluster] {
        try reading { db in
            try Row.fetchAll(db, sql: "SELECT file_offset, guest_offset, kind, sha256 FROM cluster WHERE backup_id = ? ORDER BY file_offset",
                             arguments: [id]).map { row in
                let data: Data = row["sha256"]
                let kind: String = row["kind"]
                let guest: Int64? = row["guest_offset"]
                let file: Int64 = row["file_offset"]
                return WrittenCluster(fileOffset: UInt64(file), guestOffset: guest.map { UInt64($0) },
                                      kind: WrittenCluster.Kind(rawValue: kind) ?? .metadata, sha256: Array(data))
            }
        }
    }

    /// Commits a backup and the hashes of its clusters in one transaction; returns the
    /// record with its id.
    public func insert(_ record: BackupRecord, clusters: [WrittenCluster]) throws(BackupError) -> BackupRecord {
        do {
            return try database.write { db in
                var inserted = record
                try inserted.insert(db)
                let statement = try db.makeStatement(
                    sql: "INSERT INTO cluster (backup_id, file_offset, guest_offset, kind, sha256) VALUES (?, ?, ?, ?, ?)")
                for cluster in clusters {
                    try statement.execute(arguments: [inserted.id, Int64(cluster.fileOffset), cluster.guestOffset.map { Int64($0) },
                                                      cluster.kind.rawValue, Data(cluster.sha256)])
                }
                return inserted
            }
        } catch {
            throw Self.failure("committing a backup to", path, error)
        }
    }

    /// Sets the status of backup `id`.
    public func setStatus(_ status: BackupStatus, of id: Int64) throws(BackupError) {
        do {
            try database.write { db in
                try db.execute(sql: "UPDATE backup SET status = ? WHERE id = ?", arguments: [status.rawValue, id])
            }
        } catch {
            throw Self.failure("updating", path, error)
        }
    }

    /// Every file name the catalog refers to.
    public func fileNames() throws(BackupError) -> Set<String> {
        Set(try reading { db in try String.fetchAll(db, sql: "SELECT file_name FROM backup") })
    }

    func reading<T>(_ body: (Database) throws -> T) throws(BackupError) -> T {
        do {
            return try database.read(body)
        } catch {
            throw Self.failure("reading", path, error)
        }
    }

    static func failure(_ operation: String, _ path: String, _ error: any Error) -> BackupError {
        if let error = error as? BackupError { return error }
        if let database = error as? DatabaseError {
            let code = database.resultCode
            var remedy = "check the repository's filesystem"
            if code == .SQLITE_BUSY || code == .SQLITE_LOCKED { remedy = "another blksnapctl holds the catalog; wait for it" }
            if code == .SQLITE_FULL { remedy = "the repository's filesystem is full; free space" }
            if code == .SQLITE_CORRUPT || code == .SQLITE_NOTADB { remedy = "the catalog is damaged; restore it from a copy" }
            if code == .SQLITE_READONLY || code == .SQLITE_CANTOPEN || code == .SQLITE_PERM { remedy = "the repository is not writable by this user" }
            return BackupError(.io, "\(operation) the catalog \(path) failed: \(database.message ?? "\(code)") (SQLite \(code.rawValue)): \(remedy)")
        }
        return BackupError(.io, "\(operation) the catalog \(path) failed: \(error)")
    }
}
