/// What a progress stream measures.
public enum BackupProgressPhase: String, Sendable, Hashable, CaseIterable {
    /// `backup create`: snapshot images copied into the repository.
    case backup
    /// `backup restore`: a backup's chain written onto its target.
    case restore
}
