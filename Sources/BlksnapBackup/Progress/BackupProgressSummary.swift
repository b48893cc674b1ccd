/// The end of an operation: what every device did, summed.
public struct BackupProgressSummary: Sendable, Hashable {
    /// What was measured.
    public var phase: BackupProgressPhase
    /// nil when the operation succeeded, else its error message.
    public var failure: String?
    /// Each device's last counts, in device order (its last sample's, when it had one).
    public var devices: [BackupProgress]
    /// Seconds since the meter was created.
    public var elapsedSeconds: Double

    /// Sum of the devices' ``BackupProgress/bytesRead``.
    public var bytesRead: UInt64 { devices.reduce(0) { $0 + $1.bytesRead } }
    /// Sum of the devices' ``BackupProgress/bytesWritten``.
    public var bytesWritten: UInt64 { devices.reduce(0) { $0 + $1.bytesWritten } }
    /// Sum of the devices' ``BackupProgress/bytesTotal``.
    public var bytesTotal: UInt64 { devices.reduce(0) { $0 + $1.bytesTotal } }
    /// Bytes read per second over the whole operation.
    public var bytesPerSecond: UInt64 { elapsedSeconds > 0 ? UInt64(Double(bytesRead) / elapsedSeconds) : 0 }
}
