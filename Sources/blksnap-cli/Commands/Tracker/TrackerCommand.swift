import ArgumentParser

/// `blksnapctl tracker`: attach or detach blksnap's change tracker on a block device.
struct TrackerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracker",
        abstract: "Attach or detach the blksnap filter (change tracker) on a block device.",
        subcommands: [TrackerAttach.self, TrackerDetach.self])
}

/// `--json` document of `tracker attach|detach`.
struct TrackerReport: Encodable {
    var device: String
    var tracked: Bool
}
