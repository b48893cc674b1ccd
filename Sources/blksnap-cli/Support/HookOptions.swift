import ArgumentParser
import BlksnapBackup

/// `--pre-snapshot`, `--post-snapshot`, `--hook-timeout` of `backup create` and `session`.
struct HookOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Run this shell command before the snapshot is taken (BLKSNAP_HOOK, BLKSNAP_DEVICES in its environment); a non-zero exit or a timeout aborts with nothing taken (exit 1).",
                                            valueName: "command"))
    var preSnapshot: String?

    @Option(name: .long, help: ArgumentHelp("Run this shell command once the take happened or failed (BLKSNAP_TAKE=ok|failed besides); its failure makes the point crash-consistent.",
                                            valueName: "command"))
    var postSnapshot: String?

    @Option(name: .long, help: ArgumentHelp("Kill a hook still running after this many seconds (default 60).", valueName: "seconds"))
    var hookTimeout: Double = SnapshotHooks.defaultTimeoutSeconds

    func validate() throws {
        guard hookTimeout > 0, hookTimeout <= 86_400 else {
            throw ValidationError("--hook-timeout must be more than 0 and at most 86400 seconds")
        }
        if preSnapshot?.isEmpty == true || postSnapshot?.isEmpty == true {
            throw ValidationError("--pre-snapshot and --post-snapshot take a non-empty shell command")
        }
    }

    /// The hooks.
    var hooks: SnapshotHooks {
        SnapshotHooks(preSnapshot: preSnapshot, postSnapshot: postSnapshot, timeoutSeconds: hookTimeout)
    }
}
