import ArgumentParser
import BlksnapKit
import Foundation

/// `blksnapctl cbt read DEVICE [--output FILE] [--since N]` (BLKFILTER_CTL cbtmap).
struct CBTRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read the CBT map of DEVICE and list the blocks changed after a changes number.",
        discussion: """
            The map holds one byte per CBT block: the changes number during which the block \
            was last written (0: not since the generation began). It is the copy made at the \
            last take. Blocks whose byte is greater than --since are listed, merged into \
            sector ranges. --output saves the raw map (one byte per block).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Tracked block device: a path or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    @Option(name: .long, help: ArgumentHelp("Write the raw map (one byte per CBT block) to this file.", valueName: "file"))
    var output: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("List the blocks whose byte is greater than this changes number (0-255).",
                                            valueName: "changes-number"),
            transform: ArgumentTransforms.changesNumber)
    var since: UInt8 = 0

    /// `--json` document.
    struct Report: Encodable {
        var info: CBTInfoReport
        var since: UInt8
        var changedBlockCount: Int
        var changedRanges: [SectorRangeReport]
        var output: String?
    }

    func run() throws {
        let backend = try Backend(global)
        let blockDevice = try backend.blockDevice(device)
        let (info, map) = try performing(backend) { () throws(BlksnapError) in try blockDevice.readCBT() }
        if let output {
            do {
                try Data(map).write(to: URL(fileURLWithPath: output))
            } catch {
                throw CommandFailure("writing the CBT map of \(blockDevice.path) to \(output) failed: \(error.localizedDescription)")
            }
        }
        let changed = ChangedBlocks(map: map, since: since, blockSizeBytes: info.blockSizeBytes,
                                    capacitySectors: info.capacitySectors)
        let report = Report(info: CBTInfoReport(device: blockDevice.path, info: info), since: since,
                            changedBlockCount: changed.blockCount, changedRanges: changed.ranges.map(SectorRangeReport.init),
                            output: output)
        global.output.emit(report) {
            var lines = ["\(blockDevice.path): \(changed.blockCount) of \(info.blockCount) blocks of \(info.blockSizeBytes) bytes changed after number \(since) (generation \(info.generationID), current number \(info.changesNumber))"]
            lines += changed.ranges.map { "changed sectors \($0.offsetSectors):\($0.countSectors)" }
            if let output { lines.append("map saved to \(output) (\(map.count) bytes)") }
            return lines
        }
    }
}
