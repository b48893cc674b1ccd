import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot`: the snapshot lifecycle.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Create, populate, take, inspect and destroy snapshots.",
        discussion: """
            Typical order: create (with devices), append-storage, take, copy from the images \
            /dev/blksnap-image_MAJ:MIN, wait-event for storage requests, destroy.
            """,
        subcommands: [
            SnapshotCreate.self, SnapshotAdd.self, SnapshotAppendStorage.self, SnapshotTake.self,
            SnapshotList.self, SnapshotInfoCommand.self, SnapshotWaitEvent.self, SnapshotWatch.self, SnapshotDestroy.self,
        ])
}

/// `--json` document of commands that act on one snapshot id.
struct SnapshotIDReport: Encodable {
    var id: String
}
