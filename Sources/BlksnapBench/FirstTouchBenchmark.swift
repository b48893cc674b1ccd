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

    let scratch: ScratchDirectory

    /// Runs one repetition of `writes` first-touch writes spread round-robin over
    /// `deviceCount` devices of `deviceBytes`; `simFirst` picks the order.
    func repetition(deviceBytes: UInt64, deviceCount: Int, writes: Int, seed: UInt64,
                    simFirst: Bool) throws(BenchError) -> Sample {
        var random = BenchRandom(seed: seed)
        let chunkCount = deviceBytes / Self.chunkBytes
        let perDevice = (writes + deviceCount - 1) / deviceCount
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

        var sim = (nanoseconds: 0.0, bytesPerChunk: 0.0)
        var ideal = 0.0
        if simFirst {
            sim = try runSim(targets, deviceBytes, deviceCount, storageBytes, data)
            ideal = try runIdeal(targets, deviceBytes, deviceCount, storageBytes, data)
        } else {
            ideal = try runIdeal(targets, deviceBytes, deviceCount, storageBytes, data)
            sim = try runSim(targets, deviceBytes, deviceCount, storageBytes, data)
        }
        return Sample(simNanosecondsPerWrite: sim.nanoseconds / Double(writes),
                      idealNanosecondsPerWrite: ideal / Double(writes),
                      bookkeepingBytesPerChunk: sim.bytesPerChunk)
    }

    private func runSim(_ targets: [Target], _ deviceBytes: UInt64, _ deviceCount: Int, _ storageBytes: UInt64,
                        _ data: UnsafeMutableRawBufferPointer) throws(BenchError) -> (nanoseconds: Double, bytesPerChunk: Double) {
        let fixture = try SimFixture(scratch: scratch, tag: "touch", originalBytes: deviceBytes,
                                     originalCount: deviceCount, storageBytes: storageBytes)
        defer { fixture.close() }
        guard fixture.chunkBytes == Self.chunkBytes else {
            throw BenchError("the take chose \(fixture.chunkBytes)-byte chunks, expected \(Self.chunkBytes)")
        }
        let source = UnsafeRawBufferPointer(data)
        let heapBefore = ProcessMemory.heapBytes()
        let elapsed = BenchClock.measure {
            for target in targets { fixture.write(source, device: target.device, atByte: target.offsetBytes) }
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
        return (Double(elapsed), bookkeeping / Double(descriptors))
    }

    private func runIdeal(_ targets: [Target], _ deviceBytes: UInt64, _ deviceCount: Int, _ storageBytes: UInt64,
                          _ data: UnsafeMutableRawBufferPointer) throws(BenchError) -> Double {
        let names = (0..<deviceCount).map { "ideal-orig\($0).img" } + ["ideal-store.img"]
        defer { scratch.unlink(names) }
        var originals: [HostFile] = []
        for index in 0..<deviceCount {
            originals.append(try HostFile(path: scratch.file(names[index]), sizeBytes: deviceBytes))
        }
        let storage = try HostFile(path: scratch.file(names[deviceCount]), sizeBytes: storageBytes)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(Self.chunkBytes), alignment: 4096)
        defer { chunk.deallocate() }
        chunk.initializeMemory(as: UInt8.self, repeating: 0)
        let source = UnsafeRawBufferPointer(data)
        var nextStorageByte: UInt64 = 0
        let elapsed = BenchClock.measure {
            for target in targets {
                let original = originals[target.device]
                let chunkStart = target.offsetBytes / Self.chunkBytes * Self.chunkBytes
                original.read(into: chunk, atByte: chunkStart)
                storage.write(UnsafeRawBufferPointer(chunk), atByte: nextStorageByte)
                nextStorageByte += Self.chunkBytes
                original.write(source, atByte: target.offsetBytes)
            }
        }
        return Double(elapsed)
    }
}
