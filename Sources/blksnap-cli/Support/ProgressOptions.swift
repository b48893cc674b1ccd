import ArgumentParser
import BlksnapBackup
#if canImport(Glibc)
import Glibc
#endif

/// `--progress auto|tty|json|none` of the long copies (`backup create`, `backup restore`).
struct ProgressOptions: ParsableArguments {
    /// Where the progress goes (not CaseIterable: the help lists the values, and the
    /// generated manual then prints no empty value list).
    enum Mode: String, ExpressibleByArgument, Sendable {
        /// The terminal bar when stderr is a terminal (and not --quiet), else nothing.
        case auto
        /// The terminal bar, whatever stderr is.
        case tty
        /// JSON Lines on stderr (``ProgressReport``), for journald and scripts.
        case json
        /// Nothing.
        case none
    }

    @Option(name: .long, help: ArgumentHelp("""
        Progress on stderr: auto (a bar when stderr is a terminal and not --quiet, else \
        nothing), tty (the bar), json (one JSON line per second or per 64 MiB, then a summary line), none.
        """, valueName: "mode"), completion: .list(["auto", "tty", "json", "none"]))
    var progress: Mode = .auto

    /// The mode `auto` stands for here: `tty` on a terminal unless `quiet`, else `none`.
    func resolved(quiet: Bool) -> Mode {
        guard progress == .auto else { return progress }
        return !quiet && isatty(STDERR_FILENO) == 1 ? .tty : .none
    }

    /// Starts drawing the progress of `phase` (nothing when the mode resolves to none).
    func display(_ phase: BackupProgressPhase, quiet: Bool) -> ProgressDisplay {
        ProgressDisplay(mode: resolved(quiet: quiet), phase: phase)
    }
}
