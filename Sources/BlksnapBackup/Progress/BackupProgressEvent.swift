/// One event of a ``BackupProgressMeter``'s stream: samples while the copy runs, then
/// exactly one ``summary(_:)``, after which the stream finishes.
public enum BackupProgressEvent: Sendable, Hashable {
    /// A device's counts, at most once per interval (and per byte interval) and always
    /// for the device's first and last report.
    case progress(BackupProgressSample)
    /// The operation ended (done or failed): totals and each device's final counts.
    case summary(BackupProgressSummary)
}
