import ArgumentParser
import BlksnapKit
import BlksnapSimulator
import SimKernel

/// `blksnapctl sim`: host and drive a blksnap simulator.
struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Host a blksnap simulator and manage its simulated block devices.",
        discussion: """
            'sim serve' hosts one simulated kernel on a Unix socket; every other command talks \
            to it with --sim SOCKET (or BLKSNAPCTL_SIM). Simulated devices are /dev/NAME in \
            the simulator's namespace; images appear there as /dev/blksnap-image_MAJ:MIN.
            """,
        subcommands: [SimServe.self, SimDeviceCommand.self, SimWrite.self, SimRead.self, SimLoopCommand.self])
}

/// The simulator client of a `sim` command: `--sim` (or BLKSNAPCTL_SIM) is required.
func requireSimulator(_ global: GlobalOptions, command: String) throws(CommandFailure) -> SimClient {
    guard let socket = global.resolvedSimSocket else {
        throw CommandFailure("'blksnapctl \(command)' needs a simulator: give --sim SOCKET or set BLKSNAPCTL_SIM", status: .usage)
    }
    return try SimulatorConnection.connect(socketPath: socket)
}

/// `--json` form of a ``SimDeviceInfo``.
struct SimDeviceReport: Encodable {
    var name: String
    var path: String
    var device: String
    var capacityBytes: UInt64
    var capacitySectors: UInt64
    var logicalBlockSizeBytes: UInt32
    var physicalBlockSizeBytes: UInt32
    var isImage: Bool
    var filter: String?

    init(_ info: SimDeviceInfo) {
        name = info.name
        path = info.path
        device = "\(info.major):\(info.minor)"
        capacitySectors = info.capacitySectors
        capacityBytes = info.capacitySectors &* 512
        logicalBlockSizeBytes = info.logicalBlockSize
        physicalBlockSizeBytes = info.physicalBlockSize
        isImage = info.isImage
        filter = info.filter
    }

    /// One tab-separated line: path, `MAJ:MIN`, capacity, logical block size, and what
    /// it is (`image`, `tracked` by blksnap, another `filter NAME`, or `untracked`).
    var line: String {
        let role = isImage ? "image" : filter.map { $0 == "blksnap" ? "tracked" : "filter \($0)" } ?? "untracked"
        return "\(path)\t\(device)\t\(capacityBytes) bytes\t\(logicalBlockSizeBytes)-byte blocks\t\(role)"
    }
}
