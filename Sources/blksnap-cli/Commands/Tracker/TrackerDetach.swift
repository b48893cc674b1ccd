import ArgumentParser
import BlksnapKit

/// `blksnapctl tracker detach DEVICE` (BLKFILTER_DETACH).
struct TrackerDetach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Stop tracking DEVICE (BLKFILTER_DETACH); its CBT map is lost.",
        discussion: """
            v5 never refuses a detach, not even while the device is in a taken snapshot: the \
            image then silently stops being a point-in-time copy. blksnapctl refuses (exit 1) \
            while the device has a snapshot image; destroy the snapshot first. --force detaches \
            anyway and says what protection is lost. A member of a snapshot that is not taken \
            yet cannot be recognized (v5 has no query for it).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Block device: a path (/dev/sdb1) or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    @Flag(name: .long, help: "Detach even while DEVICE is in a taken snapshot (its image then stops being protected).")
    var force = false

    func run() throws {
        let backend = try Backend(global)
        let blockDevice = try backend.blockDevice(device)
        let outcome = try performing(backend) { () throws(BlksnapError) in try DetachGuard.detach(blockDevice, force: force) }
        if let lost = outcome.lostProtection {
            SafetyReport.warn(["forced detach of \(blockDevice.path): \(lost)"])
        }
        global.output.emit(TrackerReport(device: blockDevice.path, tracked: false)) {
            ["\(blockDevice.path): tracker detached (change tracking stopped, CBT discarded)"]
        }
    }
}
