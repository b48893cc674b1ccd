import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot add ID DEVICE` (BLKFILTER_CTL snapshotadd).
struct SnapshotAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a tracked DEVICE to snapshot ID (before take).",
        discussion: """
            The device must be tracked ('tracker attach'); EBUSY: it is in another snapshot. \
            Refused when snapshot ID is already taken: the module would accept the device but give it \
            no image and no copy-on-write. The module cannot say which snapshot an image belongs to, so this \
            is recognized while ID is the only snapshot (a warning otherwise).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot id (UUID).", transform: ArgumentTransforms.snapshotID)
    var id: SnapshotID

    @Argument(help: "Tracked block device: a path or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    /// `--json` document.
    struct Report: Encodable {
        var id: String
        var device: String
    }

    func run() throws {
        let backend = try Backend(global)
        let blockDevice = try backend.blockDevice(device)
        let control = try backend.control()
        let warnings = try performing(backend) { () throws(BlksnapError) in
            try SnapshotAddGuard.add(blockDevice, to: id, control: control)
        }
        SafetyReport.warn(warnings)
        global.output.emit(Report(id: id.description, device: blockDevice.path)) {
            ["\(blockDevice.path) added to snapshot \(id)"]
        }
    }
}
