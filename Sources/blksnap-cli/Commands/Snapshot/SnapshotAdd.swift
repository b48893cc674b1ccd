import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot add ID DEVICE` (BLKFILTER_CTL snapshotadd).
struct SnapshotAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a tracked DEVICE to snapshot ID (before take).",
        discussion: """
            The device must be tracked ('tracker attach'): ENOENT otherwise. EBUSY: it is in \
            another snapshot; EALREADY: it is in this one. v5 also accepts a device after the \
            take, but it then gets no image and no copy-on-write.
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
        try performing(backend) { () throws(BlksnapError) in try blockDevice.addToSnapshot(id) }
        global.output.emit(Report(id: id.description, device: blockDevice.path)) {
            ["\(blockDevice.path) added to snapshot \(id)"]
        }
    }
}
