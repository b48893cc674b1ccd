#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import SimKernel

/// A fresh ``SimMachine`` with file-backed originals (`orig0`, `orig1`, …) and
/// one file-backed storage device (`store`, appended whole), the originals attached,
/// added to one snapshot and — unless told otherwise — the snapshot taken.
final class SimFixture {
    /// The simulated machine.
    let machine: SimMachine
    /// The simulator.
    var kernel: SimKernel { machine.kernel }
    /// The control device over the simulator.
    let control: Control
    /// The snapshot.
    let snapshot: SnapshotID
    /// The originals as the simulator lists them.
    let originals: [SimDeviceInfo]
    /// Simulator descriptors of the originals, opened read-write.
    let originalDescriptors: [Int32]
    /// Backing file paths of the originals.
    let originalPaths: [String]
    /// Chunk size the take chose (0 before the take).
    private(set) var chunkBytes: UInt64 = 0

    private let scratch: ScratchDirectory
    private let fileNames: [String]
    private var closed = false

    /// Builds the simulator; the snapshot is taken when `take`.
    init(scratch: ScratchDirectory, tag: String, originalBytes: UInt64, originalCount: Int = 1,
         storageBytes: UInt64, take: Bool = true) throws(BenchError) {
        self.scratch = scratch
        let machine = SimMachine()
        self.machine = machine
        var names: [String] = []
        var infos: [SimDeviceInfo] = []
        var paths: [String] = []
        do throws(SimErrno) {
            for index in 0..<originalCount {
                let name = "\(tag)-orig\(index).img"
                names.append(name)
                paths.append(scratch.file(name))
                infos.append(try machine.addDevice("orig\(index)", sectors: originalBytes / 512,
                                                   backing: .file(path: scratch.file(name))))
            }
            let storeName = "\(tag)-store.img"
            names.append(storeName)
            try machine.addDevice("store", sectors: storageBytes / 512, backing: .file(path: scratch.file(storeName)))
        } catch {
            scratch.unlink(names)
            throw BenchError("cannot add a simulated device in \(scratch.path)", errno: error.code)
        }
        fileNames = names
        originals = infos
        originalPaths = paths
        let control: Control
        let snapshot: SnapshotID
        do throws(BlksnapError) {
            control = try machine.openControl()
            snapshot = try control.createSnapshot()
            try control.appendStorageUnchecked(snapshot, devicePath: "/dev/store",
                                      ranges: [SectorRange(offsetSectors: 0, countSectors: storageBytes / 512)])
            for info in infos {
                let device = try BlockDevice(path: info.path, kernel: machine.backend)
                try device.attachUnchecked()
                try device.addToSnapshot(snapshot)
                try device.close()
            }
        } catch {
            scratch.unlink(names)
            let text = "\(error)"
            throw BenchError("cannot set up the snapshot: " + text)
        }
        self.control = control
        self.snapshot = snapshot
        originalDescriptors = infos.map { machine.kernel.open($0.path, flags: O_RDWR) }
        if take { try takeSnapshot() }
    }

    /// Takes the snapshot and records the chunk size.
    func takeSnapshot() throws(BenchError) {
        do throws(BlksnapError) { try control.takeSnapshot(snapshot) } catch {
            throw BenchError("cannot take the snapshot: \(error)")
        }
        chunkBytes = kernel.cowStatistics(device: originals[0].name)?.chunkBytes ?? 0
    }

    /// Path of the image of original `index`.
    func imagePath(_ index: Int) -> String {
        "/dev/blksnap-image_\(originals[index].major):\(originals[index].minor)"
    }

    /// Writes `buffer` to original `index` through the filter (fatal on failure: the
    /// measurement would be meaningless).
    func write(_ buffer: UnsafeRawBufferPointer, device index: Int, atByte offset: UInt64) {
        let written = kernel.pwrite(originalDescriptors[index], from: buffer, at: offset)
        precondition(written == buffer.count, "simulated write failed: \(written)")
    }

    /// Destroys the snapshot, shuts the machine down and unlinks the backing files.
    func close() {
        guard !closed else { return }
        closed = true
        for fd in originalDescriptors { _ = kernel.close(fd) }
        try? control.destroySnapshot(snapshot)
        try? control.close()
        machine.shutdown()
        scratch.unlink(fileNames)
    }

    deinit { close() }
}
