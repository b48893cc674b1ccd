import BlksnapBackup
import BlksnapNBD
import BlksnapSimulator
import Testing

/// `BackupChainSource`, the export of `backup serve`, without a server: its reads and
/// its `base:allocation` through an `NBDExtentBuilder`.
@Suite("a backup's chain as an NBD export source")
struct BackupChainSourceTests {
    @Test("reads are the disk; base:allocation: clusters the chain holds are data, the others holes, clipped and merged")
    func servesTheChain() throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        let data = DataPattern(seed: 5).bytes(atByte: 0, count: 2 * 65536)
        try fixture.write(data, at: 65536)
        try fixture.write(Array(data.prefix(4096)), at: 5 * 65536)
        let record = try #require(try fixture.run(repository).records.first)
        let source = try BackupChainSource(repository: repository, id: try #require(record.id), name: "disk")
        #expect(source.name == "disk" && source.sizeBytes == UInt64(fixture.deviceBytes))
        #expect(source.preferredBlockBytes == 65536, "one cluster")
        #expect(source.metaContexts == [.allocation])

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 3 * 65536, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xff)
        try source.read(into: buffer, at: 65536 - 1000)
        #expect(Array(buffer) == [UInt8](repeating: 0, count: 1000) + data + [UInt8](repeating: 0, count: 65536 - 1000))

        let hole = NBDAllocationState.hole | NBDAllocationState.zero
        var window = NBDExtentBuilder(offsetBytes: 32768, lengthBytes: 6 * 65536)
        try source.blockStatus(.allocation, into: &window)
        #expect(window.extents() == [
            NBDExtent(lengthBytes: 32768, flags: hole), NBDExtent(lengthBytes: 2 * 65536, flags: 0),
            NBDExtent(lengthBytes: 2 * 65536, flags: hole), NBDExtent(lengthBytes: 65536, flags: 0),
            NBDExtent(lengthBytes: 32768, flags: hole),
        ])
        var one = NBDExtentBuilder(offsetBytes: 65536, lengthBytes: UInt64(fixture.deviceBytes) - 65536, limit: 1)
        try source.blockStatus(.allocation, into: &one)
        #expect(one.extents() == [NBDExtent(lengthBytes: 2 * 65536, flags: 0)], "REQ_ONE: the whole run of data")
        var bitmap = NBDExtentBuilder(offsetBytes: 0, lengthBytes: 65536)
        try source.blockStatus(.dirtyBitmap("cbt"), into: &bitmap)
        #expect(bitmap.extents() == [NBDExtent(lengthBytes: 65536, flags: 0)], "no bitmap offered: clean")
    }
}
