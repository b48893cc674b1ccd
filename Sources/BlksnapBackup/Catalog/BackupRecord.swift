import Foundation
import GRDB

/// Full or incremental.
public enum BackupType: String, Codable, Sendable, Hashable, DatabaseValueConvertible {
    /// Every cluster of the image; no backing file.
    case full
    /// The clusters changed since the parent; the parent's file is the backing file.
    case incremental
}

/// Whether a committed backup can be trusted.
public enum BackupStatus: String, Codable, Sendable, Hashable, DatabaseValueConvertible {
    /// Written, synced and committed; every later verify (if any) passed.
    case complete
    /// A verify found a cluster whose bytes no longer match their hash (or a missing file).
    case corrupt
}

/// One backup in the catalog: one qcow2 file of one device at one point in time.
///
/// A row exists only for a file that was written, `fsync`ed and renamed into the
/// repository (and its directory synced) before the row was committed.
public struct BackupRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    /// Table name.
    public static let databaseTableName = "backup"
    /// Columns are snake_case.
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    /// Columns are snake_case.
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    /// The backup id (assigned by the catalog at commit).
    public var id: Int64?
    /// When the snapshot was taken (UTC).
    public var takenAt: Date
    /// The device as given (`/dev/sdb`, a simulator's `/dev/NAME`).
    public var devicePath: String
    /// What identifies the device across backups: `wwn:…`, `serial:…`, else `path:…`.
    public var deviceKey: String
    /// The device's capacity at take, in bytes.
    public var capacityBytes: Int64
    /// The device's logical block size, in bytes.
    public var logicalBlockSize: Int64
    /// The udev serial (`ID_SERIAL`), where the kernel has one.
    public var serial: String?
    /// The udev WWN (`ID_WWN`), where the kernel has one.
    public var wwn: String?
    /// The CBT generation id at take.
    public var cbtGeneration: String
    /// The CBT changes number at take (blocks changed after it have a greater map byte).
    public var cbtChangesNumber: Int64
    /// The CBT block size at take.
    public var cbtBlockSize: Int64
    /// Full or incremental.
    public var type: BackupType
    /// The parent backup (incremental only): its file is this file's backing file.
    public var parentId: Int64?
    /// Why a full backup was made when an incremental was possible to ask for, if so.
    public var fullReason: String?
    /// The qcow2 file's name in the repository.
    public var fileName: String
    /// The file's size in bytes.
    public var fileSize: Int64
    /// Bytes read from the snapshot image.
    public var bytesRead: Int64
    /// Bytes written to the file (its size: data and metadata).
    public var bytesWritten: Int64
    /// Bytes the CBT reported changed since the parent (the capacity for a full backup).
    public var changedBytes: Int64
    /// Data clusters stored in the file.
    public var dataClusters: Int64
    /// Clusters marked as reading zeroes.
    public var zeroClusters: Int64
    /// How the data clusters were stored: `none`, `zlib` or `zstd:LEVEL`
    /// (``BackupCompression/description``).
    public var compression: String
    /// Of ``dataClusters``, those stored compressed (the others did not shrink).
    public var compressedClusters: Int64
    /// Whether hooks quiesced the application for the snapshot (``SnapshotHooks``).
    public var consistency: BackupConsistency
    /// The snapshot's id.
    public var snapshotId: String
    /// Trust.
    public var status: BackupStatus
    /// Why an incremental compared the whole image with its parent instead of following
    /// the CBT (the generation changed on the same device), if it did.
    public var resyncReason: String?

    /// Creates a record (id nil until inserted).
    public init(id: Int64? = nil, takenAt: Date, devicePath: String, deviceKey: String, capacityBytes: Int64,
                logicalBlockSize: Int64, serial: String?, wwn: String?, cbtGeneration: String, cbtChangesNumber: Int64,
                cbtBlockSize: Int64, type: BackupType, parentId: Int64?, fullReason: String?, fileName: String,
                fileSize: Int64, bytesRead: Int64, bytesWritten: Int64, changedBytes: Int64, dataClusters: Int64,
                zeroClusters: Int64, compression: String = BackupCompression.none.description, compressedClusters: Int64 = 0,
                consistency: BackupConsistency = .crash, snapshotId: String, status: BackupStatus, resyncReason: String? = nil) {
        self.id = id
        self.takenAt = takenAt
        self.devicePath = devicePath
        self.deviceKey = deviceKey
        self.capacityBytes = capacityBytes
        self.logicalBlockSize = logicalBlockSize
        self.serial = serial
        self.wwn = wwn
        self.cbtGeneration = cbtGeneration
        self.cbtChangesNumber = cbtChangesNumber
        self.cbtBlockSize = cbtBlockSize
        self.type = type
        self.parentId = parentId
        self.fullReason = fullReason
        self.fileName = fileName
        self.fileSize = fileSize
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.changedBytes = changedBytes
        self.dataClusters = dataClusters
        self.zeroClusters = zeroClusters
        self.compression = compression
        self.compressedClusters = compressedClusters
        self.consistency = consistency
        self.snapshotId = snapshotId
        self.status = status
        self.resyncReason = resyncReason
    }

    /// Sets ``id`` after insertion.
    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
