import ArgumentParser
import BlksnapKit

/// `blksnapctl cbt`: the change-block-tracking map of a tracked device.
struct CBTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cbt",
        abstract: "Read or mark the change-block-tracking (CBT) map of a tracked device.",
        subcommands: [CBTInfoCommand.self, CBTRead.self, CBTMarkDirty.self])
}

/// `--json` form of ``CBTInfo``.
struct CBTInfoReport: Encodable {
    var device: String
    var capacityBytes: UInt64
    var blockSizeBytes: UInt32
    var blockCount: UInt32
    var generationId: String
    var changesNumber: UInt8

    init(device: String, info: CBTInfo) {
        self.device = device
        capacityBytes = info.capacityBytes
        blockSizeBytes = info.blockSizeBytes
        blockCount = info.blockCount
        generationId = info.generationID.description
        changesNumber = info.changesNumber
    }

    /// The text form, one field per line.
    var lines: [String] {
        [
            "device:          \(device)",
            "capacity:        \(capacityBytes) bytes (\(capacityBytes / 512) sectors)",
            "block size:      \(blockSizeBytes) bytes",
            "block count:     \(blockCount)",
            "generation id:   \(generationId)",
            "changes number:  \(changesNumber)",
        ]
    }
}

/// `--json` form of a sector range.
struct SectorRangeReport: Encodable, Equatable {
    var offsetSectors: UInt64
    var countSectors: UInt64

    init(_ range: SectorRange) {
        offsetSectors = range.offsetSectors
        countSectors = range.countSectors
    }
}
