#if canImport(Glibc)
import Glibc
#endif
import SimKernel

/// Figure 5: what a tracked, snapshotted, sparse 16 TiB device keeps in memory after
/// `memoryWriteBytes` of random writes. Heap is measured with glibc `mallinfo2`
/// (in-use + mmapped bytes, one arena), resident memory with `/proc/self/statm`; both
/// as deltas from just after the take, so the two CBT maps (allocated and filled at
/// attach and take) are excluded.
struct MemoryBenchmark {
    /// One repetition's outcome.
    struct Sample {
        /// Heap bytes per touched chunk, chunk buffers excluded: the bookkeeping.
        var bookkeepingBytesPerChunk: Double
        /// Heap delta in bytes (bookkeeping + chunk buffers).
        var heapDeltaBytes: Double
        /// Resident-set delta in bytes.
        var residentDeltaBytes: Double
        /// Bytes of chunk buffers held (queued + idle pool).
        var bufferBytes: Double
        /// Chunks touched.
        var touchedChunks: Int
        /// Bytes of the two CBT maps (not in the deltas).
        var cbtMapBytes: Double
    }

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    /// What one chunk buffer really costs the heap: allocated like `DiffBuffer` does
    /// (page-aligned), measured as a heap delta; malloc serves it with mmap and adds a
    /// page of header and alignment slack.
    static func heapBytesPerBuffer(chunkBytes: Int) -> Int {
        let before = ProcessMemory.heapBytes()
        let probe = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 4096)
        let after = ProcessMemory.heapBytes()
        probe.deallocate()
        // The DiffBuffer object around it: header, byte count and buffer pointer.
        return max(after - before, chunkBytes) + 48
    }

    /// One repetition with a fresh simulator.
    func repetition(seed: UInt64) throws(BenchError) -> Sample {
        let chunkBytes = FirstTouchBenchmark.chunkBytes
        let writeBytes = UInt64(configuration.memoryWriteSizeBytes)
        let writes = Int(configuration.memoryWriteBytes / writeBytes)
        let chunksPerWrite = Int(max(1, writeBytes / chunkBytes))
        var random = BenchRandom(seed: seed)
        let offsets = random.distinct(writes, below: configuration.memoryDeviceBytes / writeBytes).map { $0 * writeBytes }
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(writeBytes), alignment: 4096)
        defer { data.deallocate() }
        data.initializeMemory(as: UInt8.self, repeating: 0x77)
        let fixture = try SimFixture(scratch: scratch, tag: "memory", originalBytes: configuration.memoryDeviceBytes,
                                     storageBytes: UInt64(writes * chunksPerWrite) * chunkBytes + (16 << 20))
        defer { fixture.close() }
        let heapBefore = ProcessMemory.heapBytes()
        let residentBefore = ProcessMemory.residentBytes()
        for offset in offsets { fixture.write(UnsafeRawBufferPointer(data), device: 0, atByte: offset) }
        let heapAfter = ProcessMemory.heapBytes()
        let residentAfter = ProcessMemory.residentBytes()
        guard let statistics = fixture.kernel.cowStatistics(device: "orig0"),
              statistics.descriptorCount == writes * chunksPerWrite else {
            throw BenchError("the random writes did not copy \(writes * chunksPerWrite) chunks")
        }
        let heapDelta = Double(heapAfter - heapBefore)
        let bufferCount = statistics.queuedChunkCount + statistics.idleBufferCount
        let buffers = Double(bufferCount * Self.heapBytesPerBuffer(chunkBytes: Int(chunkBytes)))
        return Sample(bookkeepingBytesPerChunk: (heapDelta - buffers) / Double(statistics.descriptorCount),
                      heapDeltaBytes: heapDelta, residentDeltaBytes: Double(residentAfter - residentBefore),
                      bufferBytes: buffers, touchedChunks: statistics.descriptorCount,
                      cbtMapBytes: Double(fixture.kernel.cbtState(device: "orig0")?.mapMemoryBytes ?? 0))
    }
}
