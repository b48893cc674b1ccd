#if canImport(Glibc)
import Glibc
#endif
import BlksnapSimulator
import CBlksnapUAPI
import Testing
@testable import SimKernel

/// Shared set-up for the COW-engine tests: memory-backed devices, 64 KiB chunks
/// (chunk_minimum_shift 16 = 128 sectors), diff_storage_minimum 8192.
enum CowFixture {
    static let chunkSectors: UInt64 = 128
    static let chunkBytes = 65_536

    static func params(_ adjust: (inout Params) -> Void = { _ in }) -> LiveParams {
        var p = Params()
        p.chunkMinimumShift = 16
        p.diffStorageMinimum = 8192
        adjust(&p)
        return LiveParams(p)
    }

    static func device(_ name: String, sectors: UInt64, minor: UInt32 = 0, logicalBlockSize: UInt32 = 512,
                       ioMin: UInt32 = 512) -> SimBlockDevice {
        // Memory backing cannot fail.
        try! SimBlockDevice(name: name, major: 240, minor: minor, capacitySectors: sectors,
                            logicalBlockSize: logicalBlockSize, ioMin: ioMin)
    }

    /// Fills a whole device with generation `generation`.
    static func fill(_ device: SimBlockDevice, generation: UInt8) {
        let bytes = DataPattern(seed: generation).bytes(atByte: 0, count: Int(device.capacityBytes))
        _ = bytes.withUnsafeBytes { device.writeRaw($0, atByte: 0) }
    }

    static func read(_ device: SimBlockDevice, atByte offset: UInt64, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xEE, count: count)
        let n = bytes.withUnsafeMutableBytes { device.readRaw(into: $0, atByte: offset) }
        precondition(n == count)
        return bytes
    }

    /// A write to the original through the filter: COW first, then the write lands.
    @discardableResult
    static func write(_ area: DiffArea, _ bytes: [UInt8], atByte offset: UInt64, nowait: Bool = false) -> Int32 {
        let result = area.copyOnWrite(sector: offset / 512, count: UInt64(bytes.count + 511) / 512, nowait: nowait)
        if result == 0 { _ = bytes.withUnsafeBytes { area.original.writeRaw($0, atByte: offset) } }
        return result
    }

    /// Overwrites chunk `number` of the original with generation `generation`.
    @discardableResult
    static func writeChunk(_ area: DiffArea, _ number: UInt64, generation: UInt8) -> Int32 {
        let offset = Int(number) * chunkBytes
        let count = Int(area.sectorCount(ofChunk: number)) * 512
        return write(area, DataPattern(seed: generation).bytes(atByte: offset, count: count), atByte: UInt64(offset))
    }

    static func imageRead(_ area: DiffArea, atByte offset: UInt64, count: Int) -> (Int32, [UInt8]) {
        var bytes = [UInt8](repeating: 0xEE, count: count)
        let result = bytes.withUnsafeMutableBytes { area.imageRead(into: $0, atByte: offset) }
        return (result, bytes)
    }

    static func imageWrite(_ area: DiffArea, _ bytes: [UInt8], atByte offset: UInt64) -> Int32 {
        bytes.withUnsafeBytes { area.imageWrite($0, atByte: offset) }
    }

    /// Every event queued so far, dequeued.
    static func drain(_ events: EventQueue) -> [SimEvent] {
        var all: [SimEvent] = []
        while case .success(let event) = events.wait(timeoutNanoseconds: 0) { all.append(event) }
        return all
    }

    static func lowSpaceSectors(_ event: SimEvent) -> UInt64? {
        guard event.code == UInt32(blksnap_event_code_low_free_space.rawValue), event.payload.count == 8 else { return nil }
        return event.payload.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    static func corrupted(_ event: SimEvent) -> (major: UInt32, minor: UInt32, errorCode: Int32)? {
        guard event.code == UInt32(blksnap_event_code_corrupted.rawValue), event.payload.count == 12 else { return nil }
        return event.payload.withUnsafeBytes {
            ($0.loadUnaligned(fromByteOffset: 0, as: UInt32.self), $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self),
             $0.loadUnaligned(fromByteOffset: 8, as: Int32.self))
        }
    }

    /// An original of `chunks` full chunks plus `extraSectors`, filled with generation 1,
    /// and one storage device with the given ranges.
    struct Setup {
        let params: LiveParams
        let events: EventQueue
        let storage: DiffStorage
        let storageDevice: SimBlockDevice
        let area: DiffArea
    }

    static func make(chunks: UInt64 = 16, extraSectors: UInt64 = 0,
                     storageSectors: UInt64 = 1 << 20, ranges: [(offset: UInt64, count: UInt64)]? = nil,
                     storageLogicalBlockSize: UInt32 = 512,
                     adjust: (inout Params) -> Void = { _ in }) throws -> Setup {
        let params = params(adjust)
        let events = EventQueue()
        let storage = DiffStorage(params: params, events: events)
        let storageDevice = device("st", sectors: storageSectors, minor: 100, logicalBlockSize: storageLogicalBlockSize)
        storage.append(device: storageDevice, ranges: ranges ?? [(0, storageSectors)], completed: true)
        let original = device("orig", sectors: chunks * chunkSectors + extraSectors, minor: 1)
        fill(original, generation: 1)
        let area = try DiffArea(original: original, capacitySectors: original.capacitySectors,
                                storage: storage, events: events, params: params)
        return Setup(params: params, events: events, storage: storage, storageDevice: storageDevice, area: area)
    }
}

@Suite("COW engine: chunk size (§4.1)")
struct CowEngineChunkSizeTests {
    @Test("table of §4.1 with the default parameters", arguments: [
        // (capacity sectors, io_min bytes, expected shift, expected chunk count)
        (UInt64(2_097_152), UInt32(512), UInt32(18), UInt64(4096)),  // 1 GiB
        (UInt64(1) << 31, UInt32(512), UInt32(18), UInt64(4_194_304)),  // 1 TiB
        (UInt64(1) << 31, UInt32(1 << 20), UInt32(20), UInt64(1_048_576)),  // 1 TiB, io_min 1 MiB
        (UInt64(2_097_152), UInt32(300_000), UInt32(19), UInt64(2048)),  // io_min not a power of two
        (UInt64(2_097_152), UInt32(64 << 20), UInt32(26), UInt64(16)),  // io_min 64 MiB: still allowed
    ])
    func defaultTable(capacity: UInt64, ioMin: UInt32, shift: UInt32, count: UInt64) throws {
        let params = LiveParams(Params())
        let events = EventQueue()
        let storage = DiffStorage(params: params, events: events)
        storage.append(device: CowFixture.device("st", sectors: 1024), ranges: [(0, 1024)], completed: true)
        let original = CowFixture.device("big", sectors: capacity, ioMin: ioMin)
        let area = try DiffArea(original: original, capacitySectors: capacity, storage: storage, events: events, params: params)
        #expect(area.chunkShift == shift)
        #expect(area.chunkSectors == UInt64(1) << UInt64(shift - 9))
        #expect(area.chunkCount == count)
        #expect(storage.filledSectors == 0)
    }

    @Test("io_min above chunk_maximum_shift fails EFAULT")
    func ioMinTooLarge() {
        let params = LiveParams(Params())
        let events = EventQueue()
        let storage = DiffStorage(params: params, events: events)
        storage.append(device: CowFixture.device("st", sectors: 1024), ranges: [(0, 1024)], completed: true)
        let original = CowFixture.device("big", sectors: 2_097_152, ioMin: 128 << 20)
        #expect(throws: SimErrno(EFAULT)) {
            _ = try DiffArea(original: original, capacitySectors: 2_097_152, storage: storage, events: events, params: params)
        }
        #expect(DiffArea.chunkShift(capacitySectors: 2_097_152, ioMinBytes: 128 << 20, params: Params()) == 27)
    }

    @Test("chunk_maximum_count_shift raises the chunk size; beyond chunk_maximum_shift → EFAULT")
    func countShift() throws {
        var p = Params()
        p.chunkMinimumShift = 16
        p.chunkMaximumCountShift = 10  // at most 1024 chunks
        // 1 GiB / 1024 = 1 MiB chunks.
        #expect(DiffArea.chunkShift(capacitySectors: 2_097_152, ioMinBytes: 512, params: p) == 20)
        // 1 GiB + 1 sector needs 2 MiB chunks.
        #expect(DiffArea.chunkShift(capacitySectors: 2_097_153, ioMinBytes: 512, params: p) == 21)
        // 1 TiB / 1024 = 1 GiB chunks: shift 30 > 26.
        p.chunkMaximumShift = 26
        let params = LiveParams(p)
        let events = EventQueue()
        let storage = DiffStorage(params: params, events: events)
        storage.append(device: CowFixture.device("st", sectors: 1024), ranges: [(0, 1024)], completed: true)
        let original = CowFixture.device("huge", sectors: 1 << 31)
        #expect(throws: SimErrno(EFAULT)) {
            _ = try DiffArea(original: original, capacitySectors: 1 << 31, storage: storage, events: events, params: params)
        }
    }

    @Test("empty difference storage fails EFAULT; zero-length ranges do not help")
    func emptyStorage() {
        let params = CowFixture.params()
        let events = EventQueue()
        let storage = DiffStorage(params: params, events: events)
        let original = CowFixture.device("o", sectors: 4096)
        #expect(throws: SimErrno(EFAULT)) {
            _ = try DiffArea(original: original, capacitySectors: 4096, storage: storage, events: events, params: params)
        }
        storage.append(device: CowFixture.device("st", sectors: 1024), ranges: [(0, 0)], completed: true)
        #expect(throws: SimErrno(EFAULT)) {
            _ = try DiffArea(original: original, capacitySectors: 4096, storage: storage, events: events, params: params)
        }
    }

    @Test("last chunk is partial: 10 GiB + 7 sectors")
    func partialLastChunk() throws {
        let capacity: UInt64 = 10 * 2_097_152 + 7
        let params = LiveParams(Params())
        let events = EventQueue()
        let storage = DiffStorage(params: params, events: events)
        storage.append(device: CowFixture.device("st", sectors: 1024), ranges: [(0, 1024)], completed: true)
        let area = try DiffArea(original: CowFixture.device("o", sectors: capacity), capacitySectors: capacity,
                                storage: storage, events: events, params: params)
        #expect(area.chunkCount == 40_961)
        #expect(area.sectorCount(ofChunk: 40_960) == 7)
        #expect(area.sectorCount(ofChunk: 40_959) == 512)
        #expect(area.descriptorCount == 0)
    }
}

@Suite("COW engine: copy-on-write and image reads (§4.3, §4.4)")
struct CowEngineCopyTests {
    @Test("COW captures the old data; the image keeps it after the original changes")
    func capturesOldData() throws {
        let s = try CowFixture.make()
        let area = s.area
        #expect(area.state(ofChunk: 3) == nil)
        #expect(CowFixture.writeChunk(area, 3, generation: 2) == 0)
        #expect(area.state(ofChunk: 3) == .inMemory)
        #expect(area.queuedChunks == [3])
        let offset = UInt64(3 * CowFixture.chunkBytes)
        #expect(CowFixture.read(area.original, atByte: offset, count: 4096) == DataPattern(seed: 2).bytes(atByte: Int(offset), count: 4096))
        let (result, image) = CowFixture.imageRead(area, atByte: offset, count: CowFixture.chunkBytes)
        #expect(result == 0)
        #expect(image == DataPattern(seed: 1).bytes(atByte: Int(offset), count: CowFixture.chunkBytes))
        // A second write to the same chunk does not copy again.
        #expect(CowFixture.writeChunk(area, 3, generation: 3) == 0)
        #expect(area.queuedChunks == [3])
        #expect(CowFixture.imageRead(area, atByte: offset, count: 512).1 == DataPattern(seed: 1).bytes(atByte: Int(offset), count: 512))
        // Untouched chunks are read from the original and get no descriptor.
        let untouched = UInt64(5 * CowFixture.chunkBytes + 1000)
        #expect(CowFixture.imageRead(area, atByte: untouched, count: 3000).1 == DataPattern(seed: 1).bytes(atByte: Int(untouched), count: 3000))
        #expect(area.descriptorCount == 1)
        // Nothing reached the storage (≤ 16 queued).
        #expect(s.storage.filledSectors == 0)
        #expect(CowFixture.read(s.storageDevice, atByte: 0, count: 4096) == [UInt8](repeating: 0, count: 4096))
    }

    @Test("a write straddling a chunk border copies both chunks; straddling image reads")
    func straddling() throws {
        let s = try CowFixture.make()
        let area = s.area
        // Two sectors: last of chunk 1, first of chunk 2.
        let offset = UInt64(2 * CowFixture.chunkBytes - 512)
        #expect(CowFixture.write(area, [UInt8](repeating: 0xAB, count: 1024), atByte: offset) == 0)
        #expect(area.state(ofChunk: 1) == .inMemory)
        #expect(area.state(ofChunk: 2) == .inMemory)
        #expect(area.state(ofChunk: 0) == nil)
        #expect(area.state(ofChunk: 3) == nil)
        // Image read over chunks 0..3 (untouched, IN_MEMORY, IN_MEMORY, untouched).
        let (result, image) = CowFixture.imageRead(area, atByte: 1000, count: 4 * CowFixture.chunkBytes - 2000)
        #expect(result == 0)
        #expect(image == DataPattern(seed: 1).bytes(atByte: 1000, count: 4 * CowFixture.chunkBytes - 2000))
    }

    @Test("partial last chunk: COW of its real size, image bounded by the capacity")
    func lastChunk() throws {
        let s = try CowFixture.make(chunks: 4, extraSectors: 7)
        let area = s.area
        #expect(area.chunkCount == 5)
        #expect(area.sectorCount(ofChunk: 4) == 7)
        let last = UInt64(4 * CowFixture.chunkBytes)
        #expect(CowFixture.writeChunk(area, 4, generation: 2) == 0)
        #expect(area.state(ofChunk: 4) == .inMemory)
        let (result, image) = CowFixture.imageRead(area, atByte: last, count: 7 * 512)
        #expect(result == 0)
        #expect(image == DataPattern(seed: 1).bytes(atByte: Int(last), count: 7 * 512))
        // Past the end of the image: EIO.
        #expect(CowFixture.imageRead(area, atByte: last, count: 8 * 512).0 == -EIO)
        #expect(CowFixture.imageRead(area, atByte: last + 7 * 512, count: 512).0 == -EIO)
        // A write range past the capacity only copies existing chunks.
        #expect(area.copyOnWrite(sector: 4 * 128 + 6, count: 1000, nowait: false) == 0)
        #expect(area.descriptorCount == 1)
    }

    @Test("REQ_NOWAIT: NEW chunk → EAGAIN, descriptor stays NEW, nothing loaded")
    func nowait() throws {
        let s = try CowFixture.make()
        let area = s.area
        let bytes = [UInt8](repeating: 0x55, count: 512)
        #expect(CowFixture.write(area, bytes, atByte: 0, nowait: true) == -EAGAIN)
        #expect(area.state(ofChunk: 0) == .new)
        #expect(area.queuedChunks.isEmpty)
        #expect(CowFixture.read(area.original, atByte: 0, count: 512) == DataPattern(seed: 1).bytes(atByte: 0, count: 512))
        // A NEW chunk still reads from the original.
        #expect(CowFixture.imageRead(area, atByte: 0, count: 512).1 == DataPattern(seed: 1).bytes(atByte: 0, count: 512))
        // After a blocking write copied it, a nowait write passes.
        #expect(CowFixture.write(area, bytes, atByte: 0) == 0)
        #expect(area.state(ofChunk: 0) == .inMemory)
        #expect(CowFixture.write(area, bytes, atByte: 512, nowait: true) == 0)
        // A nowait write over a copied chunk and a NEW one fails at the NEW one.
        #expect(area.copyOnWrite(sector: 100, count: 100, nowait: true) == -EAGAIN)
        #expect(area.state(ofChunk: 1) == .new)
        #expect(area.queuedChunks == [0])
    }

    @Test("original read error during a load: chunk FAILED, corrupted −EIO, write passes")
    func loadError() throws {
        let s = try CowFixture.make()
        let area = s.area
        // The device shrank under the snapshot: loads of chunk 15 come back short.
        try area.original.resize(capacitySectors: 15 * 128)
        #expect(area.copyOnWrite(sector: 15 * 128, count: 8, nowait: false) == 0)
        #expect(area.state(ofChunk: 15) == .failed)
        #expect(area.errorCode == -EIO)
        let events = CowFixture.drain(s.events)
        #expect(events.count == 1)
        #expect(CowFixture.corrupted(events[0])! == (240, 1, EIO))
        #expect(CowFixture.imageRead(area, atByte: 0, count: 512).0 == -EIO)
        // COW stops for a corrupted device.
        #expect(area.copyOnWrite(sector: 0, count: 8, nowait: false) == 0)
        #expect(area.state(ofChunk: 0) == nil)
    }

    @Test("setCorrupted is effective once; errorCode negative, event positive")
    func setCorruptedOnce() throws {
        let s = try CowFixture.make()
        s.area.setCorrupted(-ENOSPC)
        s.area.setCorrupted(-EIO)
        #expect(s.area.errorCode == -ENOSPC)
        #expect(s.area.isCorrupted)
        let events = CowFixture.drain(s.events)
        #expect(events.count == 1)
        #expect(CowFixture.corrupted(events[0])!.errorCode == ENOSPC)
    }

    @Test("release discards queued chunks and buffers; later I/O fails or passes")
    func release() throws {
        let s = try CowFixture.make()
        for chunk in 0..<5 { CowFixture.writeChunk(s.area, UInt64(chunk), generation: 2) }
        #expect(s.area.descriptorCount == 5)
        s.area.release()
        #expect(s.area.descriptorCount == 0)
        #expect(s.area.queuedChunks.isEmpty)
        #expect(s.area.idleBufferCount == 0)
        #expect(s.storage.filledSectors == 0)
        #expect(CowFixture.imageRead(s.area, atByte: 0, count: 512).0 == -EIO)
        #expect(CowFixture.imageWrite(s.area, [1], atByte: 0) == -EIO)
        #expect(s.area.copyOnWrite(sector: 0, count: 8, nowait: false) == 0)
        #expect(s.area.descriptorCount == 0)
    }
}

@Suite("COW engine: quirk list")
struct CowEngineQuirkListTests {
    @Test("ids are unique, distinct from the control plane's, and every entry names a section")
    func uniqueIds() {
        let ids = SimKernel.cowEngineQuirks.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(Set(ids).isDisjoint(with: SimKernel.quirks.map(\.id)))
        #expect(SimKernel.cowEngineQuirks.allSatisfy { $0.specSection.hasPrefix("§") && !$0.summary.isEmpty })
    }
}

@Suite("COW engine: file-backed devices")
struct CowEngineFileBackingTests {
    @Test("COW and store work the same with host-file originals and storage")
    func fileBacked() throws {
        let directory = "/tmp/cow-engine-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        #expect(mkdir(directory, 0o700) == 0)
        defer {
            unlink(directory + "/orig")
            unlink(directory + "/st")
            rmdir(directory)
        }
        let params = CowFixture.params()
        let events = EventQueue()
        let storage = DiffStorage(params: params, events: events)
        let storageDevice = try SimBlockDevice(name: "st", major: 240, minor: 100, capacitySectors: 8192,
                                               backing: .file(path: directory + "/st"))
        storage.append(device: storageDevice, ranges: [(1024, 4096)], completed: true)
        let original = try SimBlockDevice(name: "orig", major: 240, minor: 1, capacitySectors: 20 * 128 + 3,
                                          backing: .file(path: directory + "/orig"))
        CowFixture.fill(original, generation: 1)
        let area = try DiffArea(original: original, capacitySectors: original.capacitySectors,
                                storage: storage, events: events, params: params)
        for chunk in 0..<16 { CowFixture.writeChunk(area, UInt64(chunk), generation: 2) }
        CowFixture.writeChunk(area, 20, generation: 2)  // the 3-sector last chunk, 17th queued
        #expect(area.queuedChunks.isEmpty)
        #expect(area.region(ofChunk: 20) == DiffRegion(device: storageDevice, sector: 1024 + 16 * 128, count: 128))
        let size = Int(original.capacityBytes)
        #expect(CowFixture.imageRead(area, atByte: 0, count: size).1 == DataPattern(seed: 1).bytes(atByte: 0, count: size))
        #expect(CowFixture.read(storageDevice, atByte: 1024 * 512, count: CowFixture.chunkBytes)
                == DataPattern(seed: 1).bytes(atByte: 0, count: CowFixture.chunkBytes))
        #expect(!area.isCorrupted)
        area.release()
        storage.release()
    }
}
