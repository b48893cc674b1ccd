/// A storage whose files cannot change once written (object storage): a prune there
/// merges by writing the merged point anew (``CopyingMerge``) and swapping it in, instead
/// of appending to the kept file in place.
///
/// Points keep their names (an increment names its parent by it); the storage keeps
/// versions of a point's file under that name and resolves the name to the current one.
public protocol PointReplacingStorage: BackupStorage {
    /// Whether this host may change point `name` (its own folder of a shared bucket): a
    /// prune plans over these only, as other hosts may be writing theirs.
    func isOwned(_ name: String) -> Bool
    /// Starts the next version of point `name`'s file, of at most `maximumBytes`; nobody
    /// reads it before ``commitReplacement(_:clusters:parentFileName:removing:)``.
    func createReplacement(of name: String, maximumBytes: UInt64) throws(BackupError) -> any BackupFileOutput
    /// Makes the finished replacement of `record.fileName` the point (`record` is its new
    /// row: new parent, type and sizes) and drops point `source`, which was merged into it.
    /// Crash-safe: until the switch, readers see the old point and `source`; after it, the
    /// new point; leftovers of a crash in between are found by ``BackupStorage/removeLeftovers(keeping:)``.
    func commitReplacement(_ record: BackupRecord, clusters: [WrittenCluster], parentFileName: String?,
                           removing source: BackupRecord) throws(BackupError)
    /// Drops a point nothing depends on: first what makes it exist, then its file.
    func deletePoint(_ record: BackupRecord) throws(BackupError)
}
