import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot take ID` (IOCTL_BLKSNAP_SNAPSHOT_TAKE).
struct SnapshotTake: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "take",
        abstract: "Take snapshot ID: images /dev/blksnap-image_MAJ:MIN appear for its devices.",
        discussion: "Needs at least one device (ENODEV) and appended storage (EFAULT).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot id (UUID).", transform: ArgumentTransforms.snapshotID)
    var id: SnapshotID

    func run() throws {
        let backend = try Backend(global)
        let control = try backend.control()
        try performing(backend) { () throws(BlksnapError) in try control.takeSnapshot(id) }
        global.output.emit(SnapshotIDReport(id: id.description)) { ["snapshot \(id) taken"] }
    }
}
