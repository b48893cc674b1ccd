import ArgumentParser
import BlksnapKit

/// `blksnapctl cbt info DEVICE` (BLKFILTER_CTL cbtinfo).
struct CBTInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the CBT parameters of DEVICE: capacity, block size and count, generation, changes number.",
        discussion: """
            The changes number is the number of the most recent take. A backup made at number P \
            needs the blocks whose map byte is greater than P, as long as the generation id \
            is unchanged; a new generation id means a full backup.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Tracked block device: a path or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    func run() throws {
        let backend = try Backend(global)
        let blockDevice = try backend.blockDevice(device)
        let info = try performing(backend) { () throws(BlksnapError) in try blockDevice.cbtInfo() }
        let report = CBTInfoReport(device: blockDevice.path, info: info)
        global.output.emit(report) { report.lines }
    }
}
