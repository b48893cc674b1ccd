import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot append-storage ID --device PATH --range SECTOR:COUNT...` or
/// `... ID --file PATH` (IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE).
struct SnapshotAppendStorage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-storage",
        abstract: "Give snapshot ID sector ranges of a block device as difference storage.",
        discussion: """
            The kernel does not check the ranges against the device size, block size or other \
            data: they must be free space the snapshot may overwrite, on a device that is not \
            in the snapshot. blksnapctl refuses ranges past the end of --device, ranges not \
            aligned to its logical block size, overlapping ranges, and (unless \
            --allow-same-device) a --device that is tracked by blksnap or whose partition or \
            whole disk is. It warns when --device has larger logical blocks than a tracked \
            device: if that device is a member, every store fails with ENOTBLK (v5 cannot list \
            the members of a snapshot that is not taken, so this is a warning, not a refusal).

            --file PATH gives an existing, fully allocated regular file instead (create it \
            first, e.g. 'fallocate -l 1G PATH'; its size must be a multiple of the device's \
            logical block): blksnapctl sets its immutable flag, maps it with FIEMAP to sector \
            ranges of the block device holding its filesystem, refuses unknown, delayed, \
            encoded, inline, shared or unaligned extents and holes, applies the same checks \
            to that device, and appends those ranges. The kernel then writes into those \
            sectors directly for the snapshot's life: only after 'snapshot destroy' may the \
            operator run 'chattr -i PATH' and remove the file. The file is unpinned again \
            when the append fails. Real kernel only: with --sim, use --device and --range.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot id (UUID).", transform: ArgumentTransforms.snapshotID)
    var id: SnapshotID

    @Option(name: .long, help: ArgumentHelp("Block device holding the storage (path or MAJ:MIN).", valueName: "device"),
            transform: ArgumentTransforms.device)
    var device: DeviceArgument?

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Sector range (512-byte sectors) of --device; repeatable.", valueName: "sector:count"),
            transform: ArgumentTransforms.sectorRange)
    var range: [SectorRange] = []

    @Flag(name: .long, help: "Allow storage on a tracked device, a snapshot member, or its partition or whole disk.")
    var allowSameDevice = false

    @Option(name: .long, help: ArgumentHelp("A preallocated file as storage, pinned with the immutable flag (real kernel only; see the discussion).", valueName: "path"))
    var file: String?

    /// `--json` document.
    struct Report: Encodable {
        var id: String
        var device: String
        var ranges: [SectorRangeReport]
        var appendedSectors: UInt64
        /// `--file` only: the file, its size, whether the immutable flag is set.
        var file: String?
        var fileBytes: UInt64?
        var immutable: Bool?
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
            try appendFile(file)
            return
        }
        guard let argument = self.device else { return }
        let backend = try Backend(global)
        let device = try backend.path(of: argument)
        let control = try backend.control()
        let outcome = Result { () throws(BlksnapError) in
            try control.appendStorage(id, devicePath: device, ranges: range, allowSameDevice: allowSameDevice)
        }
        if case .failure(let error) = outcome, error.errno == .noSuchFileOrDirectory {
            throw Backend.unknownDevice(argument.description, path: device, listing: backend.simSocket != nil)
        }
        let warnings = try performing(backend) { () throws(BlksnapError) in try outcome.get() }
        SafetyReport.warn(warnings)
        let sectors = range.reduce(UInt64(0)) { $0 &+ $1.countSectors }
        global.output.emit(Report(id: id.description, device: device, ranges: range.map(SectorRangeReport.init),
                                  appendedSectors: sectors)) {
            ["snapshot \(id): appended \(sectors) sectors (\(sectors &* 512) bytes) of \(device) in \(range.count) range(s)"]
        }
    }

    /// `--file PATH`: pin and map the file, then append its ranges through the guard.
    private func appendFile(_ file: String) throws {
        if global.resolvedSimSocket != nil {
            throw CommandFailure(
                "append-storage --file \(file): the simulator cannot use host files as storage: use --device PATH --range SECTOR:COUNT with a simulated device (EINVAL)",
                status: .usage)
        }
        let backend = try Backend(global)
        let control = try backend.control()
        let pinned: PinnedStorageFile
        do {
            pinned = try PinnedStorageFile.pin(path: file)
        } catch {
            throw CommandFailure("append-storage --file \(file): \(error)", status: error.kind == .systemCall ? .failure : .usage)
        }
        let warnings = try performing(backend) { () throws(BlksnapError) in
            try pinned.append(to: id, control: control, allowSameDevice: allowSameDevice)
        }
        SafetyReport.warn(warnings)
        if !pinned.isImmutable {
            SafetyReport.warn(["\(file): its filesystem has no immutable flag: nothing stops it from moving or freeing the blocks; do not touch the file until 'snapshot destroy'"])
        }
        let sectors = pinned.countSectors
        global.output.emit(Report(id: id.description, device: pinned.devicePath, ranges: pinned.ranges.map(SectorRangeReport.init),
                                  appendedSectors: sectors, file: file, fileBytes: pinned.sizeBytes,
                                  immutable: pinned.isImmutable)) {
            ["snapshot \(id): appended \(sectors) sectors (\(sectors &* 512) bytes) of \(pinned.devicePath) in \(pinned.ranges.count) range(s) from \(file)"
             + (pinned.isImmutable ? " (immutable: 'chattr -i' and remove it only after 'snapshot destroy')" : "")]
        }
    }
}
