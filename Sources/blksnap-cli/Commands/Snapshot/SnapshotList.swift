import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot list` (IOCTL_BLKSNAP_SNAPSHOT_COLLECT).
struct SnapshotList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the ids of all snapshots, in creation order.")

    @OptionGroup var global: GlobalOptions

    /// `--json` document.
    struct Report: Encodable {
        var snapshots: [String]
    }

    func run() throws {
        let backend = try Backend(global)
        let control = try backend.control()
        let ids = try performing(backend) { () throws(BlksnapError) in try control.collectSnapshots() }
        global.output.emit(Report(snapshots: ids.map(\.description))) { ids.map(\.description) }
    }
}
