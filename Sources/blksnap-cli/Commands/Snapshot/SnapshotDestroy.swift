import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot destroy ID` (IOCTL_BLKSNAP_SNAPSHOT_DESTROY).
struct SnapshotDestroy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Destroy snapshot ID: its images disappear and its storage is released.",
        discussion: "Trackers stay attached and keep their CBT. An unknown id fails with ENODEV.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot id (UUID).", transform: ArgumentTransforms.snapshotID)
    var id: SnapshotID

    func run() throws {
        let backend = try Backend(global)
        let control = try backend.control()
        try performing(backend) { () throws(BlksnapError) in try control.destroySnapshot(id) }
        global.output.emit(SnapshotIDReport(id: id.description)) { ["snapshot \(id) destroyed"] }
    }
}
