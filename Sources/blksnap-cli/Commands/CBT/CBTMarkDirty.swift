import ArgumentParser
import BlksnapKit

/// `blksnapctl cbt mark-dirty DEVICE --range SECTOR:COUNT...` (BLKFILTER_CTL cbtdirty).
struct CBTMarkDirty: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mark-dirty",
        abstract: "Mark sector ranges of DEVICE as changed, so the next incremental backup copies them.",
        discussion: """
            One request per range (v5 applies only the first range of a request).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Tracked block device: a path or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Sector range (512-byte sectors) to mark; repeatable.", valueName: "sector:count"),
            transform: ArgumentTransforms.sectorRange)
    var range: [SectorRange]

    /// `--json` document.
    struct Report: Encodable {
        var device: String
        var ranges: [SectorRangeReport]
    }

    func validate() throws {
        if range.isEmpty { throw ValidationError("give at least one --range SECTOR:COUNT") }
    }

    func run() throws {
        let backend = try Backend(global)
        let blockDevice = try backend.blockDevice(device)
        try performing(backend) { () throws(BlksnapError) in try blockDevice.markDirty(range) }
        global.output.emit(Report(device: blockDevice.path, ranges: range.map(SectorRangeReport.init))) {
            range.map { "\(blockDevice.path): marked sectors \($0) dirty" }
        }
    }
}
