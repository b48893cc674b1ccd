import GRDB

/// What a backup's point in time is consistent with.
public enum BackupConsistency: String, Codable, Sendable, Hashable, DatabaseValueConvertible {
    /// A pre-snapshot hook quiesced the application and every hook exited 0.
    case application
    /// No hook, or a hook failed: the disk as after a power cut.
    case crash
}
