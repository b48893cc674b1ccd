/// Commands run around the take of a snapshot, so that an application can be quiesced
/// for it (`--pre-snapshot`, `--post-snapshot`, `--hook-timeout`).
///
/// Each command runs as `/bin/sh -c COMMAND` in a process group of its own, with the
/// environment of the caller plus `BLKSNAP_HOOK` (`pre-snapshot` or `post-snapshot`) and
/// `BLKSNAP_DEVICES` (the devices, space-separated); the post hook also gets
/// `BLKSNAP_TAKE` (`ok` or `failed`). The pre hook runs before anything is created: a
/// non-zero exit, or running longer than ``timeoutSeconds`` (its group is then sent
/// SIGTERM, and SIGKILL a second later), aborts with nothing taken. The post hook then
/// always runs once — after the take, or after the take or the pre hook failed — so that
/// whatever the pre hook quiesced is released. A point is application-consistent only
/// when every hook given ran and exited 0 (``BackupConsistency``).
public struct SnapshotHooks: Sendable, Hashable {
    /// Run before the take; nil for none.
    public var preSnapshot: String?
    /// Run after the take, whether it succeeded or failed; nil for none.
    public var postSnapshot: String?
    /// How long each hook may run, in seconds.
    public var timeoutSeconds: Double

    /// The default ``timeoutSeconds``: 60.
    public static let defaultTimeoutSeconds: Double = 60

    /// Hooks; none by default.
    public init(preSnapshot: String? = nil, postSnapshot: String? = nil, timeoutSeconds: Double = defaultTimeoutSeconds) {
        self.preSnapshot = preSnapshot
        self.postSnapshot = postSnapshot
        self.timeoutSeconds = timeoutSeconds
    }

    /// Whether any hook is set.
    public var isEmpty: Bool { preSnapshot == nil && postSnapshot == nil }
}
