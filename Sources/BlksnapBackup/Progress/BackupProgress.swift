/// Raw counts of one device's copy (a backup) or of one target's write (a restore), as
/// the copy reports them after each block; ``BackupProgressMeter`` turns them into
/// ``BackupProgressEvent``s with rates.
public struct BackupProgress: Sendable, Hashable {
    /// Index of the device in the run (0 for a restore).
    public var deviceIndex: Int
    /// The device backed up, or the restore's target.
    public var devicePath: String
    /// Bytes of the disk done so far: read from the snapshot image (backup), or read from
    /// the backup chain, zero clusters included (restore).
    public var bytesRead: UInt64
    /// Bytes written so far: the qcow2 file's size (backup; its final value, with the
    /// tables, once ``finished``), or bytes written to the target (restore).
    public var bytesWritten: UInt64
    /// Bytes the copy reads in all (the plan's for a backup, the disk's size for a restore).
    public var bytesTotal: UInt64
    /// True on the device's last report: its counts are final.
    public var finished: Bool

    /// Creates a report.
    public init(deviceIndex: Int, devicePath: String, bytesRead: UInt64, bytesWritten: UInt64, bytesTotal: UInt64,
                finished: Bool = false) {
        self.deviceIndex = deviceIndex
        self.devicePath = devicePath
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.bytesTotal = bytesTotal
        self.finished = finished
    }
}
