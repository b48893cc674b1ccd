import BlksnapBackup
#if canImport(Glibc)
import Glibc
#endif
import SimKernel

/// Figure 3: sequential 1 MiB reads of a whole snapshot image with 0 %, 50 % or 100 %
/// of its chunks changed since the take, against sequential 1 MiB reads of the
/// original's backing file on the host.
struct ImageReadBenchmark {
    /// One repetition's outcome, in nanoseconds per 1 MiB read.
    struct Sample {
        var imageNanosecondsPerRead: Double
        var rawNanosecondsPerRead: Double
    }

    /// Size of each read.
    static let readBytes = 1 << 20

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    /// Sets up an image with `changedPercent` % of its chunks changed and times
    /// `repetitions` full reads of it and of the raw file (order alternating).
    func run(changedPercent: Int) throws(BenchError) -> [Sample] {
        let chunkBytes = FirstTouchBenchmark.chunkBytes
        let deviceBytes = configuration.imageDeviceBytes
        let chunks = deviceBytes / chunkBytes
        let fixture = try SimFixture(scratch: scratch, tag: "image\(changedPercent)", originalBytes: deviceBytes,
                                     storageBytes: deviceBytes + (16 << 20), take: false)
        defer { fixture.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readBytes, alignment: 4096)
        defer { buffer.deallocate() }
        // Real data in the original (not holes), written on the host before the take.
        let raw = try HostFile.baseline(fixture.originalPaths[0])
        var fill = BenchRandom(seed: 3)
        var offset: UInt64 = 0
        while offset < deviceBytes {
            let words = buffer.bindMemory(to: UInt64.self)
            for index in words.indices { words[index] = fill.next() }
            raw.write(UnsafeRawBufferPointer(buffer), atByte: offset)
            offset += UInt64(Self.readBytes)
        }
        try fixture.takeSnapshot()
        // 50 %: every other chunk, so changed and unchanged chunks alternate in each read.
        let selected: [UInt64]
        switch changedPercent {
        case 0: selected = []
        case 50: selected = (0..<chunks).filter { $0 % 2 == 0 }
        default: selected = Array(0..<chunks)
        }
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: FirstTouchBenchmark.writeBytes, alignment: 4096)
        defer { data.deallocate() }
        data.initializeMemory(as: UInt8.self, repeating: 0xC3)
        for chunk in selected { fixture.write(UnsafeRawBufferPointer(data), device: 0, atByte: chunk * chunkBytes) }
        guard (fixture.kernel.cowStatistics(device: "orig0")?.descriptorCount ?? -1) == selected.count else {
            throw BenchError("the writes did not copy \(selected.count) chunks")
        }
        let image = fixture.kernel.open(fixture.imagePath(0), flags: O_RDONLY)
        guard image >= 0 else { throw BenchError("cannot open \(fixture.imagePath(0))", errno: -image) }
        defer { _ = fixture.kernel.close(image) }
        let kernel = fixture.kernel
        let reads = Int(deviceBytes / UInt64(Self.readBytes))
        func readImage() -> Double {
            Double(BenchClock.measure {
                for index in 0..<reads {
                    let n = kernel.pread(image, into: buffer, at: UInt64(index * Self.readBytes))
                    precondition(n == Self.readBytes, "image read failed: \(n)")
                }
            }) / Double(reads)
        }
        func readRaw() -> Double {
            Double(BenchClock.measure {
                for index in 0..<reads { raw.read(into: buffer, atByte: UInt64(index * Self.readBytes)) }
            }) / Double(reads)
        }
        _ = readImage()  // warm-up
        _ = readRaw()
        var samples: [Sample] = []
        for repetition in 0..<configuration.repetitions {
            var sample = Sample(imageNanosecondsPerRead: 0, rawNanosecondsPerRead: 0)
            if repetition % 2 == 0 {
                sample.imageNanosecondsPerRead = readImage()
                sample.rawNanosecondsPerRead = readRaw()
            } else {
                sample.rawNanosecondsPerRead = readRaw()
                sample.imageNanosecondsPerRead = readImage()
            }
            samples.append(sample)
        }
        return samples
    }
}
