import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot info DEVICE` (BLKFILTER_CTL snapshotinfo).
struct SnapshotInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the snapshot image of DEVICE and whether its difference area is corrupted.",
        discussion: """
            Exits 65 when the device's difference area is corrupted, or when the snapshot no \
            longer protects the device: it grew or shrank since take (its capacity differs from \
            its image's), a write past its old end corrupted its CBT, or it was detached (and \
            perhaps re-attached) while its image still exists.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Tracked block device: a path or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    /// `--json` document.
    struct Report: Encodable {
        var device: String
        var image: String?
        var corrupted: Bool
        var errorCode: Int32
        var errorName: String?
        var errorMeaning: String?
    }

    func run() throws {
        let backend = try Backend(global)
        let blockDevice = try backend.blockDevice(device)
        let outcome = Result { () throws(BlksnapError) in try blockDevice.snapshotInfo() }
        // An image named after this device that still exists while snapshotinfo knows of
        // none (the device is untracked, or tracked again by a new filter) means the
        // device was detached from a taken snapshot: that image no longer follows it.
        if (try? outcome.get())?.imageName == nil, let number = try? blockDevice.deviceNumber() {
            let image = DeviceInventory.imageName(ofOriginal: number)
            if (try? backend.kernel.stat("/dev/" + image)) != nil,
               let loss = ProtectionCheck(driver: backend.driver).check(originalPath: blockDevice.path, expectedImageName: image) {
                try SafetyReport.exitIfLost([loss], backend)
            }
        }
        let info = try performing(backend) { () throws(BlksnapError) in try outcome.get() }
        let report = Report(device: blockDevice.path, image: info.imagePath, corrupted: info.isCorrupted,
                            errorCode: info.errorCode.map { -$0.rawValue } ?? 0,
                            errorName: info.errorCode.map(ErrnoName.name(of:)),
                            errorMeaning: info.errorCode.map(BlksnapError.corruptionMeaning))
        global.output.emit(report) {
            var lines = ["device:     \(blockDevice.path)", "image:      \(info.imagePath ?? "none (not in a taken snapshot)")"]
            if let code = info.errorCode {
                lines.append("corrupted:  \(BlksnapError.corruptionMeaning(code)) (\(ErrnoName.name(of: code)))")
            } else {
                lines.append("corrupted:  no")
            }
            return lines
        }
        if info.isCorrupted { throw ExitStatus.corrupted.exitCode }
        if let image = info.imageName,
           let loss = ProtectionCheck(driver: backend.driver).check(originalPath: blockDevice.path, expectedImageName: image) {
            try SafetyReport.exitIfLost([loss], backend)
        }
    }
}
