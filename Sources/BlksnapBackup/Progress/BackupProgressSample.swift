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
