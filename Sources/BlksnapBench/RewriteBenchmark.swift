#if canImport(Glibc)
import Glibc
#endif
import SimKernel

/// Figure 2: random 4 KiB rewrites of chunks already copied (no COW left to do)
/// through the tracked original, against the same writes to an untracked simulated
/// device of the same size in the same simulator.
struct RewriteBenchmark {
    /// One repetition's outcome, in nanoseconds per write.
    struct Sample {
        var trackedNanosecondsPerWrite: Double
        var untrackedNanosecondsPerWrite: Double
    }

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    /// Sets up once, then times `repetitions` rounds of rewrites (order alternating).
    func run() throws(BenchError) -> [Sample] {
        let chunkBytes = FirstTouchBenchmark.chunkBytes
        let deviceBytes = configuration.cowDeviceBytes
        let chunks = min(UInt64(configuration.rewriteChunks), deviceBytes / chunkBytes)
        let fixture = try SimFixture(scratch: scratch, tag: "rewrite", originalBytes: deviceBytes,
                                     storageBytes: chunks * chunkBytes + (16 << 20))
        defer { fixture.close() }
        let plainName = "rewrite-plain.img"
        defer { scratch.unlink([plainName]) }
        do throws(SimErrno) {
            try fixture.machine.addDevice("plain", sectors: deviceBytes / 512, backing: .file(path: scratch.file(plainName)))
        } catch {
            throw BenchError("cannot add the untracked device", errno: error.code)
        }
        let plain = fixture.kernel.open("/dev/plain", flags: O_RDWR)
        defer { _ = fixture.kernel.close(plain) }

        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: FirstTouchBenchmark.writeBytes, alignment: 4096)
        defer { data.deallocate() }
        data.initializeMemory(as: UInt8.self, repeating: 0x5A)
        let source = UnsafeRawBufferPointer(data)
        // Copy every chunk of the rewrite area once (and give the plain device the same data).
        for chunk in 0..<chunks {
            fixture.write(source, device: 0, atByte: chunk * chunkBytes)
            _ = fixture.kernel.pwrite(plain, from: source, at: chunk * chunkBytes)
        }
        guard fixture.kernel.cowStatistics(device: "orig0")?.descriptorCount == Int(chunks) else {
            throw BenchError("the first touches did not copy \(chunks) chunks")
        }
        var random = BenchRandom(seed: 2)
        let blocksPerArea = chunks * chunkBytes / UInt64(FirstTouchBenchmark.writeBytes)
        let offsets = (0..<configuration.rewriteWrites).map { _ in
            random.below(blocksPerArea) * UInt64(FirstTouchBenchmark.writeBytes)
        }
        let tracked = fixture.originalDescriptors[0]
        let kernel = fixture.kernel
        func timed(_ fd: Int32) -> Double {
            Double(BenchClock.measure {
                for offset in offsets {
                    let written = kernel.pwrite(fd, from: source, at: offset)
                    precondition(written == source.count, "rewrite failed: \(written)")
                }
            }) / Double(offsets.count)
        }
        _ = timed(plain)  // warm-up: both files fully allocated in the page cache
        _ = timed(tracked)
        var samples: [Sample] = []
        for repetition in 0..<configuration.repetitions {
            var sample = Sample(trackedNanosecondsPerWrite: 0, untrackedNanosecondsPerWrite: 0)
            if repetition % 2 == 0 {
                sample.trackedNanosecondsPerWrite = timed(tracked)
                sample.untrackedNanosecondsPerWrite = timed(plain)
            } else {
                sample.untrackedNanosecondsPerWrite = timed(plain)
                sample.trackedNanosecondsPerWrite = timed(tracked)
            }
            samples.append(sample)
        }
        return samples
    }
}
