import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot take ID` (IOCTL_BLKSNAP_SNAPSHOT_TAKE).
struct SnapshotTake: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "take",
        abstract: "Take snapshot ID: images /dev/blksnap-image_MAJ:MIN appear for its devices.",
        discussion: """
            Needs at least one device (ENODEV) and appended storage (EFAULT). Right after the \
            take, each new image is checked: exit 65 when a member is already unprotected (it \
            was detached before take, or its capacity no longer matches its image).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot id (UUID).", transform: ArgumentTransforms.snapshotID)
    var id: SnapshotID

    func run() throws {
        let backend = try Backend(global)
        let control = try backend.control()
        let before = Set(DeviceInventory.read(from: backend.kernel).images.map(\.number))
        try performing(backend) { () throws(BlksnapError) in try control.takeSnapshot(id) }
        global.output.emit(SnapshotIDReport(id: id.description)) { ["snapshot \(id) taken"] }
        // The images that appeared are this snapshot's: check that each is protected.
        let inventory = DeviceInventory.read(from: backend.kernel)
        let created = inventory.images.filter { !before.contains($0.number) }
        try SafetyReport.exitIfLost(ProtectionCheck(driver: backend.driver).check(images: created, in: inventory), backend)
    }
}
