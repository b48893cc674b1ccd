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
            reported; trackers attached on the way stay attached. Storage is appended afterwards \
            ('snapshot append-storage'), except on VAL-7.0 with --storage kernel:PATH, where the \
            module grows a file in PATH (a directory or file) or uses the block device PATH itself, \
            up to --limit. On VAL-7.0 --limit alone bounds what the module asks for in range \
            mode. VAL-6.x fixes the devices here and takes several one after another: more than \
            one needs --allow-sequential-take.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Block devices to add: paths or MAJ:MIN.", transform: ArgumentTransforms.device)
    var devices: [DeviceArgument] = []

    @Option(name: .long, help: ArgumentHelp("kernel:PATH: storage the VAL-7.0 module grows itself up to --limit (a directory, file or block device).",
                                            valueName: "spec"),
            transform: StorageSpecTransform.storage)
    var storage: StorageSpec?

    @Option(name: .long, help: ArgumentHelp("VAL-7.0: the most storage the module may ask for or grow (K, M, G suffixes).",
                                            valueName: "size"),
            transform: ArgumentTransforms.size)
    var limit: UInt64?

    @Flag(name: .long, help: "VAL-6.x: allow several devices, which the module takes one after another (not one point in time).")
    var allowSequentialTake = false

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
        let creation = try creation(paths: paths, driver: backend.driver)
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

extension SnapshotCreate {
    /// The request: `--storage kernel:PATH` and `--limit` where the loaded ABI takes them,
    /// a usage error (exit 64) naming the ABI where it does not.
    func creation(paths: [String], driver: any BlksnapDriver) throws(CommandFailure) -> SnapshotCreation {
        let forms = driver.capabilities.storageForms
        let abi = driver.abi.displayName
        if let limit, limit < 512 { throw CommandFailure("--limit must be at least one sector (512 bytes)", status: .usage) }
        let limitSectors = limit.map { $0 / 512 }
        let storage: SnapshotCreation.Storage
        switch self.storage {
        case nil:
            if limitSectors != nil && !forms.contains(.kernelGrownFile) {
                throw CommandFailure("--limit: the \(abi) module takes no storage limit at create (EOPNOTSUPP)", status: .usage)
            }
            storage = .sectorRanges(limitSectors: limitSectors)
        case .kernelGrown(let path)?:
            guard forms.contains(.kernelGrownFile) else {
                throw CommandFailure("--storage kernel:\(path): the \(abi) module does not grow storage itself (VAL-7.0 does); "
                                     + "create without --storage and append ranges with 'snapshot append-storage' (EOPNOTSUPP)",
                                     status: .usage)
            }
            guard let limitSectors else {
                throw CommandFailure("--storage kernel:\(path) needs --limit SIZE: the kernel grows the storage up to it (EINVAL)",
                                     status: .usage)
            }
            storage = .kernelGrown(path: path, limitSectors: limitSectors)
        case let other?:
            throw CommandFailure("--storage \(other): snapshot create takes only kernel:PATH; append ranges with "
                                 + "'snapshot append-storage' (EINVAL)", status: .usage)
        }
        return SnapshotCreation(devices: paths, storage: storage, allowsSequentialMultiDeviceTake: allowSequentialTake)
    }
}

/// Attaches blksnap's tracker unless the device already has it; true when it attached now.
func attachIfNeeded(_ device: BlockDevice) throws(BlksnapError) -> Bool {
    do {
        try device.attach()
        return true
    } catch where error.errno == .alreadyInProcess {
        return false
    }
}
