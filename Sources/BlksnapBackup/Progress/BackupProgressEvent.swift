/// One event of a ``BackupProgressMeter``'s stream: samples while the copy runs, then
/// exactly one ``summary(_:)``, after which the stream finishes.
public enum BackupProgressEvent: Sendable, Hashable {
    /// A device's counts, at most once per interval (and per byte interval) and always
    /// for the device's first and last report.
    case progress(BackupProgressSample)
    /// The operation ended (done or failed): totals and each device's final counts.
    case summary(BackupProgressSummary)
}

/// A device's counts at one moment, with the rate since its copy started.
public struct BackupProgressSample: Sendable, Hashable {
    /// What is measured.
    public var phase: BackupProgressPhase
    /// The raw counts (``BackupProgress/finished`` on the device's last sample).
    public var counts: BackupProgress
    /// Bytes read per second since the device's first report.
    public var bytesPerSecond: UInt64
    /// Seconds left at that rate (nil while the rate is 0 with bytes left).
    public var etaSeconds: Double?
    /// Seconds since the meter was created.
    public var elapsedSeconds: Double
}

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
