import BlksnapBackup
#if canImport(Glibc)
import Glibc
#endif

/// The *ideal COW* baseline of figure 1: the preads and pwrites copy-on-write cannot
/// avoid, with no bookkeeping — for each write, read the whole chunk from the original
/// file, write it to the next free slot of the storage file, then write the data.
final class IdealCOW {
    private let scratch: ScratchDirectory
    private let names: [String]
    private let originals: [HostFile]
    private let storage: HostFile
    private let chunkBytes: UInt64
    private let chunk: UnsafeMutableRawBufferPointer
    private var nextStorageByte: UInt64 = 0

    /// Creates `deviceCount` sparse original files of `deviceBytes` and a storage file.
    init(scratch: ScratchDirectory, deviceBytes: UInt64, deviceCount: Int, storageBytes: UInt64,
         chunkBytes: UInt64) throws(BenchError) {
        self.scratch = scratch
        self.chunkBytes = chunkBytes
        let names = (0..<deviceCount).map { "ideal-orig\($0).img" } + ["ideal-store.img"]
        self.names = names
        var originals: [HostFile] = []
        do throws(BenchError) {
            for index in 0..<deviceCount {
                originals.append(try HostFile.baseline(scratch.file(names[index]), sizeBytes: deviceBytes))
            }
            storage = try HostFile.baseline(scratch.file(names[deviceCount]), sizeBytes: storageBytes)
        } catch {
            scratch.unlink(names)
            throw error
        }
        self.originals = originals
        chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(chunkBytes), alignment: 4096)
        chunk.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// One first-touch write of `data` at `offset` of original `device`.
    func write(_ data: UnsafeRawBufferPointer, device: Int, atByte offset: UInt64) {
        let original = originals[device]
        original.read(into: chunk, atByte: offset / chunkBytes * chunkBytes)
        storage.write(UnsafeRawBufferPointer(chunk), atByte: nextStorageByte)
        nextStorageByte += chunkBytes
        original.write(data, atByte: offset)
    }

    /// Frees the buffer and unlinks the files.
    func close() {
        chunk.deallocate()
        scratch.unlink(names)
    }
}
