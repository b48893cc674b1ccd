#if canImport(Glibc)
import Glibc
#endif
import SimKernel

/// Figure 1 (and the first-touch half of figure 6): random 4 KiB writes, each to a chunk
/// not yet copied, through the simulator with a taken snapshot, against the *ideal
/// COW* loop — the same preads and pwrites on the same kind of files (read the chunk,
/// write it to the next storage slot, write the data) with no bookkeeping.
struct FirstTouchBenchmark {
    /// One repetition's outcome.
    struct Sample {
        /// Nanoseconds per write through the simulator.
        var simNanosecondsPerWrite: Double
        /// Nanoseconds per write of the ideal loop.
        var idealNanosecondsPerWrite: Double
        /// Heap bytes per touched chunk the simulator kept, chunk buffers excluded.
        var bookkeepingBytesPerChunk: Double
    }

    /// Where a write goes.
    private struct Target {
        var device: Int
        var offsetBytes: UInt64
    }

    /// Size of each write.
    static let writeBytes = 4096
    /// The default chunk size (the take's §4.1 rule gives it for every size used here).
    static let chunkBytes: UInt64 = 256 << 10
    /// Chunks the store worker writes at once with the default `chunk_maximum_in_queue`
    /// of 16: it runs when the queue exceeds 16 (§4.5, §12 fact 1).
    static let storeBatchChunks = 17
    /// Writes per timed segment; the simulator and the ideal loop alternate segments.
    static let segmentWrites = 4 * storeBatchChunks

    let scratch: ScratchDirectory

    /// Runs one repetition of about `writes` first-touch writes (rounded down to whole
    /// store batches per device, at least one) spread round-robin over
    /// `deviceCount` devices of `deviceBytes`; `simFirst` picks who starts.
    func repetition(deviceBytes: UInt64, deviceCount: Int, writes: Int, seed: UInt64,
                    simFirst: Bool) throws(BenchError) -> Sample {
        var random = BenchRandom(seed: seed)
        let chunkCount = deviceBytes / Self.chunkBytes
        // Whole store batches per device: otherwise the last chunks of each device stay
        // queued in memory, and the simulator would skip storage writes the ideal loop does.
        let perDevice = max(Self.storeBatchChunks, writes / deviceCount / Self.storeBatchChunks * Self.storeBatchChunks)
        let writes = perDevice * deviceCount
        let chunks = (0..<deviceCount).map { _ in random.distinct(perDevice, below: chunkCount) }
        var targets: [Target] = []
        targets.reserveCapacity(writes)
        for index in 0..<writes {
            let device = index % deviceCount
            let chunk = chunks[device][index / deviceCount]
            let within = random.below(Self.chunkBytes / UInt64(Self.writeBytes)) * UInt64(Self.writeBytes)
            targets.append(Target(device: device, offsetBytes: chunk * Self.chunkBytes + within))
        }
        let storageBytes = UInt64(writes) * Self.chunkBytes + (16 << 20)
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.writeBytes, alignment: 4096)
        defer { data.deallocate() }
        data.initializeMemory(as: UInt8.self, repeating: 0xA5)

        // Both set up at once, then timed in alternating segments, so that whatever the
        // machine does meanwhile (other processes, page-cache state) hits both alike.
        let fixture = try SimFixture(scratch: scratch, tag: "touch", originalBytes: deviceBytes,
                                     originalCount: deviceCount, storageBytes: storageBytes)
        defer { fixture.close() }
        guard fixture.chunkBytes == Self.chunkBytes else {
            throw BenchError("the take chose \(fixture.chunkBytes)-byte chunks, expected \(Self.chunkBytes)")
        }
        let ideal = try IdealCOW(scratch: scratch, deviceBytes: deviceBytes, deviceCount: deviceCount,
                                 storageBytes: storageBytes, chunkBytes: Self.chunkBytes)
        defer { ideal.close() }
        let source = UnsafeRawBufferPointer(data)
        var simNanoseconds: UInt64 = 0
        var idealNanoseconds: UInt64 = 0
        let heapBefore = ProcessMemory.heapBytes()
        var segmentStart = 0
        var simFirstNow = simFirst
        while segmentStart < targets.count {
            let segment = targets[segmentStart..<min(segmentStart + Self.segmentWrites, targets.count)]
            let runSim = {
                simNanoseconds += BenchClock.measure {
                    for target in segment { fixture.write(source, device: target.device, atByte: target.offsetBytes) }
                }
            }
            let runIdeal = {
                idealNanoseconds += BenchClock.measure {
                    for target in segment { ideal.write(source, device: target.device, atByte: target.offsetBytes) }
                }
            }
            if simFirstNow { runSim(); runIdeal() } else { runIdeal(); runSim() }
            simFirstNow.toggle()
            segmentStart += Self.segmentWrites
        }
        let heapAfter = ProcessMemory.heapBytes()
        var descriptors = 0
        var buffers = 0
        for info in fixture.originals {
            guard let statistics = fixture.kernel.cowStatistics(device: info.name) else {
                throw BenchError("device \(info.name) lost its diff area during the run")
            }
            descriptors += statistics.descriptorCount
            buffers += statistics.queuedChunkCount + statistics.idleBufferCount
        }
        guard descriptors == targets.count else {
            throw BenchError("expected \(targets.count) copied chunks, the diff areas hold \(descriptors) (storage full or corrupted?)")
        }
        let bufferBytes = buffers * MemoryBenchmark.heapBytesPerBuffer(chunkBytes: Int(Self.chunkBytes))
        let bookkeeping = Double(heapAfter - heapBefore) - Double(bufferBytes)
        return Sample(simNanosecondsPerWrite: Double(simNanoseconds) / Double(writes),
                      idealNanosecondsPerWrite: Double(idealNanoseconds) / Double(writes),
                      bookkeepingBytesPerChunk: bookkeeping / Double(descriptors))
    }
}
