import ArgumentParser
import BlksnapKit

/// `blksnapctl tracker attach DEVICE` (BLKFILTER_ATTACH).
struct TrackerAttach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Start tracking changes of DEVICE (BLKFILTER_ATTACH).",
        discussion: """
            Creates a fresh CBT map and generation id. A mounted filesystem is frozen for a \
            moment. Fails with EALREADY when the device is already tracked. A device of 0 \
            sectors is refused before the request: v5 would fail with ENOMEM after a kernel \
            WARNING (a panic under panic_on_warn).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Block device: a path (/dev/sdb1) or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    func run() throws {
        let backend = try Backend(global)
        let blockDevice = try backend.blockDevice(device)
        try performing(backend) { () throws(BlksnapError) in try blockDevice.attach() }
        global.output.emit(TrackerReport(device: blockDevice.path, tracked: true)) {
            ["\(blockDevice.path): tracker attached (change tracking started)"]
        }
    }
}
