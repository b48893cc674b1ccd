// The code of the article "Test your tool on the simulator"
// (Sources/BlksnapKit/BlksnapKit.docc/TestYourToolOnTheSimulator.md). Each region between
// `// DOC-BEGIN name` and `// DOC-END name` is one ```swift block of the article, in order;
// DocCArticleTests checks that they are identical and runs checkPointInTimeCopy() (main.swift).

// DOC-BEGIN make-simulator
import BlksnapKit
import BlksnapSimulator
import Glibc
import SimKernel

/// A simulated machine, in this process: an 8 MiB disk and a 2 GiB storage device, both
/// in memory (sparse: a 64 KiB page is allocated on its first write).
func makeSimulator() throws -> (kernel: SimKernelBackend, disk: String, storage: String) {
    var parameters = Params()          // the module's parameters, as for modprobe
    parameters.chunkMinimumShift = 16  // 64 KiB chunks
    let simulator = SimKernel(params: parameters)
    let disk = try simulator.addDevice(name: "disk", capacitySectors: 16_384)        // /dev/disk
    let storage = try simulator.addDevice(name: "store", capacitySectors: 4_194_304)  // /dev/store
    return (SimKernelBackend(simulator), disk.path, storage.path)
}
// DOC-END make-simulator

// DOC-BEGIN device-io
/// Writes `bytes` at `offsetBytes` of the device `path` as its users do: through the
/// tracker, so that a taken snapshot keeps a copy of the old data first.
func write(_ bytes: [UInt8], to path: String, at offsetBytes: UInt64, kernel: any KernelInterface) throws {
    let fd = try kernel.open(path, flags: O_WRONLY)
    defer { try? kernel.close(fd) }
    try bytes.withUnsafeBytes { try kernel.writeAll(fd, from: $0, at: offsetBytes) }
}

/// Reads `count` bytes at `offsetBytes` of the device `path`.
func read(_ count: Int, from path: String, at offsetBytes: UInt64, kernel: any KernelInterface) throws -> [UInt8] {
    let fd = try kernel.open(path, flags: O_RDONLY)
    defer { try? kernel.close(fd) }
    var bytes = [UInt8](repeating: 0, count: count)
    let done = try bytes.withUnsafeMutableBytes { try kernel.readAll(fd, into: $0, at: offsetBytes) }
    return Array(bytes[..<done])
}
// DOC-END device-io

// DOC-BEGIN check
/// The check: an image read inside `withSnapshot` holds the disk as it was at take,
/// although the disk is overwritten meanwhile, and nothing is left behind. Returns the
/// number of bytes compared.
func checkPointInTimeCopy() async throws -> Int {
    let (kernel, disk, storage) = try makeSimulator()
    let atTake = [UInt8](repeating: 0xA5, count: 8 << 20)
    let later = [UInt8](repeating: 0x5A, count: 1 << 20)
    try write(atTake, to: disk, at: 0, kernel: kernel)

    let copy = try await withSnapshot(of: [disk], storagePath: storage, kernel: kernel) { images in
        try write(later, to: disk, at: 0, kernel: kernel)  // copy-on-write: the old data is kept
        let image = try SnapshotImageReader(path: images[0].imagePath, kernel: kernel)
        var bytes: [UInt8] = []
        try image.forEachBlock(of: image.wholeImage) { _, block in bytes += block }
        return bytes
    }
    guard copy == atTake else { throw CheckFailure("the image is not the disk at take") }
    guard try read(later.count, from: disk, at: 0, kernel: kernel) == later else {
        throw CheckFailure("the write after take did not reach the disk")
    }
    guard try Control(kernel: kernel).collectSnapshots().isEmpty else {
        throw CheckFailure("the session left its snapshot behind")
    }
    return copy.count
}

/// What failed in a check.
struct CheckFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
// DOC-END check

// DOC-BEGIN sim-client
/// The same machine in a simulator of its own, `blksnapctl sim serve --root DIR`, which
/// other processes and shell scripts share: a client of its socket.
func connectSimulator(socketPath: String) throws -> (kernel: SimClient, disk: String, storage: String) {
    let simulator = try SimClient(socketPath: socketPath)  // DIR/blksnapctl.sock
    try simulator.setParameter("chunk_minimum_shift", to: 16)
    let disk = try simulator.addDevice(name: "disk", capacitySectors: 16_384)        // DIR/disk.img
    let storage = try simulator.addDevice(name: "store", capacitySectors: 4_194_304)  // DIR/store.img
    return (simulator, disk.path, storage.path)
}
// DOC-END sim-client
