// The code of docs/simulator.md's section "Testing your tool with SimMachine". Each region
// between `// DOC-BEGIN name` and `// DOC-END name` is one ```swift block of that section, in
// order; DocCArticleTests checks that they are identical and runs imageKeepsTheDataAtTake()
// (main.swift).

// DOC-BEGIN sim-machine
import BlksnapKit
import BlksnapSimulator

/// A tool's test on a simulated machine: the image of a taken snapshot keeps the disk
/// as it was at take while the disk is overwritten.
func imageKeepsTheDataAtTake() throws -> Bool {
    try withSimMachine(params: SimMachine.smallParams()) { machine in   // 64 KiB chunks
        let disk = try machine.addDevice("disk", sectors: 16_384).path   // /dev/disk, 8 MiB
        let store = try machine.addDevice("store", sectors: 65_536).path // /dev/store, 32 MiB
        try machine.fill(disk, with: DataPattern(seed: 1))

        // The code under test takes machine.backend where it would take LinuxKernel().
        let control = try machine.openControl()
        defer { try? control.close() }
        let device = try BlockDevice(path: disk, kernel: machine.backend)
        defer { try? device.close() }
        try device.attach()
        let id = try control.createSnapshot()
        defer { try? control.destroySnapshot(id) }
        try device.addToSnapshot(id)
        try control.appendStorage(id, devicePath: store, ranges: [SectorRange(offsetSectors: 0, countSectors: 65_536)])
        try control.takeSnapshot(id)

        try machine.fill(disk, with: DataPattern(seed: 2), count: 1 << 20)  // after take
        let image = try machine.imagePath(of: disk)
        return try machine.holds(DataPattern(seed: 1), image, atByte: 0, count: 8 << 20)
            && machine.holds(DataPattern(seed: 2), disk, atByte: 0, count: 1 << 20)
    }   // shut down: devices removed
}
// DOC-END sim-machine
