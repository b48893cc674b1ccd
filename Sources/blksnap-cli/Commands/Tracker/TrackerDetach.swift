import ArgumentParser
import BlksnapKit

/// `blksnapctl tracker detach DEVICE` (BLKFILTER_DETACH).
struct TrackerDetach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Stop tracking DEVICE (BLKFILTER_DETACH); its CBT map is lost.",
        discussion: """
            v5 never refuses a detach, not even while the device is in a taken snapshot: the \
            image then silently stops being a point-in-time copy. Destroy the snapshot first.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Block device: a path (/dev/sdb1) or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    func run() throws {
        let backend = try Backend(global)
        let blockDevice = try backend.blockDevice(device)
        try performing(backend) { () throws(BlksnapError) in try blockDevice.detach() }
        global.output.emit(TrackerReport(device: blockDevice.path, tracked: false)) {
            ["\(blockDevice.path): tracker detached (change tracking stopped, CBT discarded)"]
        }
    }
}
