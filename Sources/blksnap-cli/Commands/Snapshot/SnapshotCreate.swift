import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot create [DEVICE...]` (IOCTL_BLKSNAP_SNAPSHOT_CREATE, then
/// BLKFILTER_ATTACH where needed and BLKFILTER_CTL snapshotadd per device).
struct SnapshotCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a snapshot, print its id, and add DEVICEs to it (attaching trackers as needed).",
        discussion: """
            If a device cannot be added, the new snapshot is destroyed again and the error is \
            reported; trackers attached on the way stay attached.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Block devices to add: paths or MAJ:MIN.", transform: ArgumentTransforms.device)
    var devices: [DeviceArgument] = []

    /// `--json` document.
    struct Report: Encodable {
        struct Member: Encodable {
            var device: String
            var attached: Bool
        }
        var id: String
        var devices: [Member]
    }

    func run() throws {
        let backend = try Backend(global)
        let control = try backend.control()
        let capabilities = backend.driver.capabilities
        // VAL-6.x fixes the devices at create (and starts tracking them there).
        let paths = try devices.map { (device) throws(CommandFailure) in try backend.path(of: device) }
        let creation = SnapshotCreation(devices: paths)
        let id = try performing(backend) { () throws(BlksnapError) in try control.createSnapshot(creation) }
        var members: [Report.Member] = []
        do throws(CommandFailure) {
            for device in devices {
                let blockDevice = try backend.blockDevice(device)
                var attached = false
                if capabilities.tracksWithoutSnapshot {
                    attached = try performing(backend) { () throws(BlksnapError) in try attachIfNeeded(blockDevice) }
                }
                if !capabilities.devicesFixedAtCreate {
                    try performing(backend) { () throws(BlksnapError) in try blockDevice.addToSnapshot(id) }
                }
                members.append(Report.Member(device: blockDevice.path, attached: attached))
            }
        } catch {
            try? control.destroySnapshot(id)
            throw CommandFailure(error.message + " (snapshot \(id) destroyed again)", status: error.status)
        }
        global.output.emit(Report(id: id.description, devices: members)) { [id.description] }
    }
}

/// Attaches blksnap's tracker unless the device already has it; true when it attached now.
func attachIfNeeded(_ device: BlockDevice) throws(BlksnapError) -> Bool {
    do {
        try AttachGuard.attach(device)
        return true
    } catch where error.errno == .alreadyInProcess {
        return false
    }
}
