import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot append-storage ID --device PATH --range SECTOR:COUNT...`
/// (IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE).
struct SnapshotAppendStorage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-storage",
        abstract: "Give snapshot ID sector ranges of a block device as difference storage.",
        discussion: """
            The kernel does not check the ranges against the device size, block size or other \
            data: they must be free space the snapshot may overwrite, on a device that is not \
            in the snapshot. blksnapctl refuses ranges past the end of --device, ranges not \
            aligned to its logical block size, overlapping ranges, a --device whose logical \
            blocks are larger than a member's, and (unless --allow-same-device) a --device that \
            is tracked by blksnap or whose partition or whole disk is. --file (a preallocated file mapped to sectors) is not implemented \
            yet: it belongs to the storage-provider work; use --device with --range.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot id (UUID).", transform: ArgumentTransforms.snapshotID)
    var id: SnapshotID

    @Option(name: .long, help: ArgumentHelp("Block device holding the storage (path in the kernel's namespace).", valueName: "path"))
    var device: String?

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Sector range (512-byte sectors) of --device; repeatable.", valueName: "sector:count"),
            transform: ArgumentTransforms.sectorRange)
    var range: [SectorRange] = []

    @Flag(name: .long, help: "Allow storage on a tracked device, a snapshot member, or its partition or whole disk.")
    var allowSameDevice = false

    @Option(name: .long, help: ArgumentHelp("Not implemented yet: a file as storage (see the discussion).", valueName: "path"))
    var file: String?

    /// `--json` document.
    struct Report: Encodable {
        var id: String
        var device: String
        var ranges: [SectorRangeReport]
        var appendedSectors: UInt64
    }

    func validate() throws {
        if file != nil {
            if device != nil { throw ValidationError("give either --device with --range or --file, not both") }
            return
        }
        guard device != nil else { throw ValidationError("give --device PATH with --range SECTOR:COUNT...") }
        if range.isEmpty { throw ValidationError("give at least one --range SECTOR:COUNT of --device") }
    }

    func run() throws {
        if let file {
            throw CommandFailure(
                "append-storage --file \(file): file-backed difference storage is not implemented yet (storage providers are a later issue); preallocate a partition or loop device and use --device PATH --range SECTOR:COUNT (ENOSYS)")
        }
        guard let device else { return }
        let backend = try Backend(global)
        let control = try backend.control()
        let outcome = Result { () throws(BlksnapError) in
            try StorageGuard.append(id, control: control, devicePath: device, ranges: range, allowSameDevice: allowSameDevice)
        }
        if case .failure(let error) = outcome, error.errno == .noSuchFileOrDirectory {
            throw Backend.unknownDevice(device, path: device, listing: backend.simSocket != nil)
        }
        let warnings = try performing(backend) { () throws(BlksnapError) in try outcome.get() }
        SafetyReport.warn(warnings)
        let sectors = range.reduce(UInt64(0)) { $0 &+ $1.countSectors }
        global.output.emit(Report(id: id.description, device: device, ranges: range.map(SectorRangeReport.init),
                                  appendedSectors: sectors)) {
            ["snapshot \(id): appended \(sectors) sectors (\(sectors &* 512) bytes) of \(device) in \(range.count) range(s)"]
        }
    }
}
