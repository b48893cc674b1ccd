/// Where a repository keeps its qcow2 files: a directory of this host
/// (``DirectoryStorage``) or a bucket of an object store (the `BlksnapBackupS3` target).
///
/// Files are named relative to the repository's root (`blksnap-sdb-….qcow2`, or
/// `HOST/blksnap-sdb-….qcow2` in a bucket several hosts share); a qcow2 file's backing file
/// name is resolved relative to the folder of the file naming it, as qemu does.
///
/// A new file is written through ``create(_:)`` under a name nobody reads, made durable by
/// its output's ``BackupFileOutput/finish()``, and becomes the repository's with
/// ``publish(_:as:)``; the catalog (and, on object storage, the point's manifest) names it
/// only after that. What an interrupted run left is found by ``removeLeftovers(keeping:)``.
public protocol BackupStorage: AnyObject {
    /// Where the files are, as the operator wrote it: `/srv/backups`, `s3://bucket/prefix`.
    var location: String { get }
    /// The folder new files go in, relative to the root, ending in `/` (empty: the root):
    /// each host writes in its own folder of a shared bucket.
    var newFileFolder: String { get }
    /// The directory of this host holding the files, when they are files of this host (nil
    /// on object storage): `backup prune` merges files in place there.
    var localDirectory: String? { get }
    /// The file's full name for messages: its path, or its `s3://` URL.
    func describe(_ name: String) -> String
    /// Whether the file exists.
    func exists(_ name: String) throws(BackupError) -> Bool
    /// Opens the file for random reads.
    func openForReading(_ name: String) throws(BackupError) -> any BackupFileInput
    /// Starts a new file that becomes `name` at ``publish(_:as:)``, of at most `maximumBytes`
    /// (an upload sizes its parts by it); the returned output's ``BackupFileOutput/name`` is
    /// what to pass there.
    func create(_ name: String, maximumBytes: UInt64) throws(BackupError) -> any BackupFileOutput
    /// Makes the finished file `temporary` (an output's ``BackupFileOutput/name``) the
    /// repository's file `name`, durably.
    func publish(_ temporary: String, as name: String) throws(BackupError)
    /// Deletes the file (a missing one is not an error).
    func remove(_ name: String) throws(BackupError)
    /// Deletes what interrupted runs of this host left: files being written, and finished
    /// files of this package that `known` (the names the catalog holds) does not name.
    /// Returns the names deleted.
    func removeLeftovers(keeping known: Set<String>) throws(BackupError) -> [String]
    /// Called when a published file becomes a point of the repository, just before its
    /// catalog row is committed: where the catalog is only a cache (object storage), this
    /// writes what makes the point exist (its manifest), naming `parentFileName`; where the
    /// catalog is the truth (a directory), it does nothing.
    func commitPoint(_ record: BackupRecord, clusters: [WrittenCluster], parentFileName: String?) throws(BackupError)
}
