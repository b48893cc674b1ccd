#if canImport(Glibc)
import Glibc
#endif
import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import SimKernel

/// The disk the backup figures back up: a ``SimMachine`` (chunks of 64 KiB or
/// more) with a file-backed original `/dev/NAME`, filled on the host before any tracker,
/// and a file-backed storage device `/dev/store` (the original's size plus 32 MiB), whose
/// ranges every backup run appends as needed.
final class BackupBenchDevice {
    /// Bytes of the 1 MiB pieces ``init(scratch:tag:name:bytes:fill:)`` fills.
    static let fillBytes = 1 << 20

    /// The simulated machine, its kernel and the library's backend over it.
    let machine: SimMachine
    var kernel: SimKernel { machine.kernel }
    var backend: SimKernelBackend { machine.backend }
    /// `/dev/NAME` in the simulator.
    let path: String
    /// The host file behind the original.
    let originalFile: String
    /// The original's size.
    let bytes: UInt64

    private let scratch: ScratchDirectory
    private let fileNames: [String]

    /// Adds the devices (files `TAG-orig.img`, `TAG-store.img` in `scratch`) and fills the
    /// original, piece by piece, with what `fill` writes into a 1 MiB buffer.
    init(scratch: ScratchDirectory, tag: String, name: String = "orig0", bytes: UInt64,
         fill: (UnsafeMutableRawBufferPointer) -> Void) throws(BenchError) {
        var params = Params()
        params.chunkMinimumShift = 16
        machine = SimMachine(params: params)
        self.scratch = scratch
        self.bytes = bytes
        let original = "\(tag)-orig.img", store = "\(tag)-store.img"
        fileNames = [original, store]
        originalFile = scratch.file(original)
        path = "/dev/" + name
        do throws(SimErrno) {
            try machine.addDevice(name, sectors: bytes / 512, backing: .file(path: originalFile))
            try machine.addDevice("store", sectors: bytes / 512 + 65_536, backing: .file(path: scratch.file(store)))
        } catch {
            scratch.unlink(fileNames)
            throw BenchError("cannot add a simulated device in \(scratch.path)", errno: error.code)
        }
        let raw = try HostFile.baseline(originalFile)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.fillBytes, alignment: 4096)
        defer { buffer.deallocate() }
        for offset in stride(from: UInt64(0), to: bytes, by: Self.fillBytes) {
            fill(buffer)
            raw.write(UnsafeRawBufferPointer(buffer), atByte: offset)
        }
    }

    /// Removes the backing files.
    func remove() {
        scratch.unlink(fileNames)
    }

    /// The original, opened through the library.
    func open() throws(BackupError) -> BlockDevice {
        do {
            return try BlockDevice(path: path, kernel: backend)
        } catch {
            throw BackupError(.io, error.description)
        }
    }

    /// The configuration every figure's session and backup run uses.
    var sessionConfiguration: SessionConfiguration {
        SessionConfiguration(devices: [path], pollMilliseconds: 10, hz: 1000)
    }

    /// Storage on `/dev/store`.
    func storage() throws(BackupError) -> DeviceRangeProvider {
        do {
            return try DeviceRangeProvider(kernel: backend, devicePath: "/dev/store")
        } catch {
            throw BackupError(.io, "\(error)")
        }
    }

    /// One `backup create` of the original into `repository`, in blocks of
    /// ``BackupBenchmark/blockBytes``.
    func backup(_ repository: BackupRepository, full: Bool, compression: BackupCompression? = nil) throws(BackupError) -> BackupRunResult {
        let run = BackupRun(repository: repository, kernel: backend, configuration: sessionConfiguration,
                            storage: try storage(), forceFull: full, blockBytes: BackupBenchmark.blockBytes,
                            compression: compression)
        return try run.run()
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Fills the buffer with `random`'s next 64-bit words.
    func fillRandomWords(_ random: inout BenchRandom) {
        let words = bindMemory(to: UInt64.self)
        for index in words.indices { words[index] = random.next() }
    }
}
