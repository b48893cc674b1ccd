#if canImport(Glibc)
import Glibc
#endif

/// The copy-on-write state of one original device while its snapshot is taken
/// (kernel: diff_area.c, spec §4).
///
/// Fields and owners:
/// - `original`, `storage`, `events`, `params` — shared with the snapshot; the diff
///   area holds them until it is released;
/// - `chunkShift`, `chunkSectors`, `chunkCount`, `capacitySectors` — fixed at take
///   (§4.1); the last chunk may be shorter;
/// - `originalLogicalBlockSize`, `originalPhysicalBlockSize` — recorded at take;
///   the logical size is passed to every region allocation (§4.7);
/// - behind `lock` (the kernel's diff-area spinlock plus the wait queue on which
///   chunk-lock waiters sleep): `chunks` — the lazy index of chunk descriptors keyed
///   by chunk number; `buffers` — the RAM buffer of each chunk being loaded or
///   IN_MEMORY (a side table, so that descriptors stay 12 bytes); `storeQueue` — chunk
///   numbers of IN_MEMORY chunks waiting to be stored, FIFO; `pool` — idle chunk
///   buffers; `storageDevices` — the storage devices that STORED chunks point into (a
///   chunk keeps a slot number, not a reference);
///   `storeRunning` — a store worker is running; `lockedChunkCount` — chunk locks held;
///   `error` — the negative errno once corrupted; `isReleased`.
///
/// Concurrency: index, queue, chunk states and chunk lock bits change only under
/// `lock`. Data I/O (loads, stores, redirected image I/O) runs outside `lock` while the
/// chunk's own lock is held, so writers and readers of different chunks proceed in
/// parallel (exception: image reads of chunks without descriptor read the original
/// under `lock`, see `Quirk.imageReadOriginalRace`). Loads and the store worker run synchronously in the calling thread (the
/// kernel uses asynchronous bios and a work queue); the worker is guarded so that only
/// one runs per diff area, which reproduces the batches of 17 of §12 fact 1.
///
/// Rewrite fast path: `captured` (a ``CapturedChunkCache``) remembers recently seen
/// chunks that are captured and unlocked, so a write to such a chunk — which the
/// locked check would answer with "skip" — needs neither the lock nor an index lookup.
/// Every chunk lock is taken through `lockChunkLocked`, which first removes the chunk
/// from the cache; `release` empties it.
final class DiffArea: @unchecked Sendable {
    /// The original device.
    let original: SimBlockDevice
    /// The snapshot's difference storage.
    let storage: DiffStorage
    /// The snapshot's event queue (corrupted events).
    let events: EventQueue
    /// Module parameters (queue limit and pool size are read live).
    let params: LiveParams
    /// log2 of the chunk size in bytes.
    let chunkShift: UInt32
    /// Capacity of the original at take (the CBT capacity), in sectors.
    let capacitySectors: UInt64
    /// The original's logical block size, recorded at take.
    let originalLogicalBlockSize: UInt32
    /// The original's physical block size, recorded at take.
    let originalPhysicalBlockSize: UInt32
    /// Where the module simulated differs (store timing, region alignment, image bug).
    let policy: CowPolicy

    private let chunkSectorsValue: UInt64
    private let chunkCountValue: UInt64
    private let chunkBytes: UInt64

    private let lock = WaitQueue()
    private let captured: CapturedChunkCache
    // Every access to the state below holds `lock`, so the runtime's dynamic
    // exclusivity checks (a swift_beginAccess/endAccess pair per access, ~10 % of a
    // 4 KiB rewrite) can only ever pass: they are switched off for these fields.
    @exclusivity(unchecked) private var chunks: [UInt64: Chunk] = [:]
    @exclusivity(unchecked) private var buffers: [UInt64: DiffBuffer] = [:]
    @exclusivity(unchecked) private var storeQueue: [UInt64] = []
    /// Chunks an image write loaded that wait unstored in memory, oldest first
    /// (``CowPolicy/imageWriteCacheChunks``; always empty without it).
    @exclusivity(unchecked) private var imageCached: [UInt64] = []
    @exclusivity(unchecked) private var pool: DiffBufferPool
    @exclusivity(unchecked) private var storageDevices: [SimBlockDevice] = []
    @exclusivity(unchecked) private var storeRunning = false
    @exclusivity(unchecked) private var lockedChunkCount = 0
    @exclusivity(unchecked) private var error: Int32 = 0
    @exclusivity(unchecked) private var isReleased = false

    /// Take step 2 for one member (§2.3, §4.1): computes the chunk size from the
    /// original's capacity and io_min. Fails with EFAULT when the chunk would exceed
    /// `chunk_maximum_shift`, or (v5) when `storage.capacitySectors == 0`.
    init(original: SimBlockDevice, capacitySectors: UInt64, storage: DiffStorage,
         events: EventQueue, params: LiveParams, policy: CowPolicy = .of(.v5)) throws(SimErrno) {
        self.original = original
        let current = params.current
        let shift = Self.chunkShift(capacitySectors: capacitySectors, ioMinBytes: original.ioMin, params: current)
        if shift > current.chunkMaximumShift { throw SimErrno(EFAULT) }  // Quirk.chunkMaximumShiftIsALimit
        // "In-memory difference storage is not supported."
        // VAL-7.0 does not check (field spec §2.4.4): no storage shows up as overflow at the first store.
        if storage.checksCapacityAtTake && storage.capacitySectors == 0 { throw SimErrno(EFAULT) }
        self.storage = storage
        self.events = events
        self.params = params
        self.policy = policy
        self.chunkShift = shift
        self.capacitySectors = capacitySectors
        self.originalLogicalBlockSize = original.logicalBlockSize
        self.originalPhysicalBlockSize = original.physicalBlockSize
        chunkSectorsValue = UInt64(1) << UInt64(shift - 9)
        chunkCountValue = capacitySectors / chunkSectorsValue + (capacitySectors % chunkSectorsValue == 0 ? 0 : 1)
        chunkBytes = chunkSectorsValue * 512
        pool = DiffBufferPool(bufferByteCount: Int(chunkBytes))
        captured = CapturedChunkCache(chunkCount: chunkCountValue)
    }

    /// The chunk-size rule of §4.1: the smallest shift ≥ `chunk_minimum_shift` such
    /// that the chunk count is ≤ 2^`chunk_maximum_count_shift` and the chunk is at least
    /// `io_min`. Not capped: the caller compares the result with `chunk_maximum_shift`.
    static func chunkShift(capacitySectors: UInt64, ioMinBytes: UInt32, params: Params) -> UInt32 {
        // A shift below 9 (smaller than a sector) makes no sense; the kernel's would be
        // undefined, SimKernel starts at one sector.
        var shift = max(params.chunkMinimumShift, 9)
        let ioMinSectors = UInt64(ioMinBytes) / 512
        while shift - 9 < 63 {
            let sectors = UInt64(1) << UInt64(shift - 9)
            let count = capacitySectors / sectors + (capacitySectors % sectors == 0 ? 0 : 1)
            let tooMany = params.chunkMaximumCountShift < 64 && count > (UInt64(1) << UInt64(params.chunkMaximumCountShift))
            if !tooMany && sectors >= ioMinSectors { break }
            shift += 1
        }
        return shift
    }

    /// Chunk size in sectors.
    var chunkSectors: UInt64 { chunkSectorsValue }
    /// Number of chunks.
    var chunkCount: UInt64 { chunkCountValue }

    /// The stored negative errno if corrupted, else 0.
    var errorCode: Int32 { lock.withLock { error } }
    /// True once `setCorrupted` ran.
    var isCorrupted: Bool { errorCode != 0 }

    /// Real size of chunk `number` in sectors (the last one may be shorter, §4.1).
    func sectorCount(ofChunk number: UInt64) -> UInt64 {
        number == chunkCountValue - 1 ? capacitySectors - chunkSectorsValue * (chunkCountValue - 1) : chunkSectorsValue
    }

    /// §4.6: effective the first time only; stores `error` (negative errno) and queues
    /// one corrupted event {major, minor, abs(error)}.
    func setCorrupted(_ error: Int32) { lock.withLock { setCorruptedLocked(error) } }

    private func setCorruptedLocked(_ code: Int32) {
        guard error == 0, code != 0 else { return }
        error = code < 0 ? code : -code
        // The event carries the positive errno, error_code the negative one (Quirk.corruptedEventPositive).
        events.pushCorrupted(major: original.major, minor: original.minor, errorCode: -error)
    }

    // MARK: Chunk locks (call holding `lock`)

    /// Takes chunk `number`'s lock, sleeping while another holder has it. False when
    /// the diff area was released meanwhile.
    private func lockChunkLocked(_ number: UInt64) -> Bool {
        while true {
            if isReleased { return false }
            guard let chunk = chunks[number] else { return false }
            if !chunk.isLocked { break }
            lock.wait()
        }
        captured.remove(number)
        chunks[number]!.isLocked = true
        lockedChunkCount += 1
        return true
    }

    private func unlockChunkLocked(_ number: UInt64) {
        chunks[number]!.isLocked = false
        lockedChunkCount -= 1
        lock.wakeAll()
    }

    /// Appends a freshly loaded chunk to the store queue; true when the worker must
    /// run (queue length after the append exceeds `chunk_maximum_in_queue`, §4.5;
    /// VAL-6.3.1: always, ``CowPolicy/storesEachChunkAtOnce``).
    private func enqueueLocked(_ number: UInt64) -> Bool {
        storeQueue.append(number)
        if policy.storesEachChunkAtOnce { return true }
        return storeQueue.count > Int(params.current.chunkMaximumInQueue)  // Quirk.storeBatching
    }

    private func releaseBufferLocked(_ buffer: DiffBuffer) {
        pool.release(buffer, poolSize: params.current.freeDiffBufferPoolSize)
    }

    private func storageSlotLocked(_ device: SimBlockDevice) -> UInt32 {
        if let index = storageDevices.firstIndex(where: { $0 === device }) { return UInt32(index) }
        storageDevices.append(device)
        // 2^29 distinct storage devices cannot exist in one process.
        precondition(storageDevices.count - 1 <= Int(Chunk.maximumDeviceSlot), "too many storage devices")
        return UInt32(storageDevices.count - 1)
    }

    /// Reads the whole chunk (its real size) from the original into `buffer`; zeros the
    /// rest of a short last chunk's buffer. False on a read error.
    private func load(chunk number: UInt64, into buffer: DiffBuffer) -> Bool {
        let realBytes = Int(sectorCount(ofChunk: number) * 512)
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[0..<realBytes])
        let read = original.readRaw(into: target, atByte: number * chunkBytes)
        if realBytes < buffer.byteCount {
            UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[realBytes...]).initializeMemory(as: UInt8.self, repeating: 0)
        }
        return read == realBytes
    }

    // MARK: Copy-on-write (§4.3)

    private enum CowStep {
        case skip, again, stop, runWorker
        case load(DiffBuffer)
    }

    /// §4.3: copy-on-write before a write of `count` sectors at `sector` of the
    /// original lands. Loads every NEW overlapped chunk (read-before-write), queues
    /// it for storing (store worker when the queue exceeds `chunk_maximum_in_queue`).
    /// Returns 0, or `-EAGAIN` for a `nowait` write meeting a NEW or busy chunk.
    func copyOnWrite(sector: UInt64, count: UInt64, nowait: Bool) -> Int32 {
        guard count > 0, chunkCountValue > 0 else { return 0 }
        let shift = UInt64(chunkShift - 9)
        let first = sector >> shift
        guard first < chunkCountValue else { return 0 }
        let lastSector = sector.addingReportingOverflow(count - 1).overflow ? UInt64.max : sector + count - 1
        let last = min(lastSector >> shift, chunkCountValue - 1)
        for number in first...last {
            // Lock-free fast path: known captured and unlocked (see `captured`). After a
            // release or corruption the locked path would stop with 0; skipping gives
            // the same result (a later chunk not in the cache takes the locked path).
            if captured.contains(number) { continue }
            let step: CowStep = lock.withLock {
                // COW stops for a corrupted device (§4.6); after release nothing is left.
                if isReleased || error != 0 { return .stop }
                // A chunk an image write keeps in memory is stored once a COW touches it.
                if !imageCached.isEmpty, let index = imageCached.firstIndex(of: number) {
                    imageCached.remove(at: index)
                    return enqueueLocked(number) ? .runWorker : .skip
                }
                // Fast path (one index lookup): a chunk already captured and not locked
                // needs nothing; taking and dropping its lock would change no state.
                if let chunk = chunks[number], !chunk.isLocked, chunk.state != .new {
                    captured.insert(number)
                    return .skip
                }
                if chunks[number] == nil { chunks[number] = Chunk() }
                if chunks[number]!.isLocked && nowait { return .again }
                guard lockChunkLocked(number) else { return .stop }
                guard chunks[number]!.state == .new else {
                    unlockChunkLocked(number)
                    return .skip
                }
                if nowait {
                    // §4.3-3: the NEW descriptor stays in the index (Quirk.nowaitLeavesNewDescriptor).
                    unlockChunkLocked(number)
                    return .again
                }
                let buffer = pool.take()
                buffers[number] = buffer
                return .load(buffer)
            }
            switch step {
            case .skip: continue
            case .runWorker: runStoreWorker()
            case .again: return -EAGAIN
            case .stop: return 0
            case .load(let buffer):
                // A load error leaves the chunk FAILED and the device corrupted; the write still lands.
                finishLoad(chunk: number, buffer: buffer, loaded: load(chunk: number, into: buffer))
            }
        }
        return 0
    }

    /// Ends a load that ran with the chunk locked (§4.3 COW, §4.4 image write to a NEW
    /// chunk) and unlocks the chunk: a loaded chunk becomes IN_MEMORY and is queued for
    /// storing (the store worker runs once the queue is long enough); a failed load makes
    /// the chunk FAILED, returns its buffer and corrupts the diff area with −EIO.
    ///
    /// An image write's chunk (`byImageWrite`) under ``CowPolicy/imageWriteCacheChunks``
    /// stays in memory instead; the oldest such chunk is queued once there are more.
    private func finishLoad(chunk number: UInt64, buffer: DiffBuffer, loaded: Bool, byImageWrite: Bool = false) {
        let runWorker: Bool = lock.withLock {
            defer { unlockChunkLocked(number) }
            if loaded {
                chunks[number]!.state = .inMemory
                if byImageWrite, let limit = policy.imageWriteCacheChunks {
                    imageCached.append(number)
                    guard imageCached.count > limit else { return false }
                    return enqueueLocked(imageCached.removeFirst())
                }
                return enqueueLocked(number)
            }
            chunks[number]!.state = .failed
            buffers[number] = nil
            releaseBufferLocked(buffer)
            setCorruptedLocked(-EIO)
            return false
        }
        if runWorker { runStoreWorker() }
    }

    // MARK: Store worker (§4.5)

    private enum StoreJob {
        case handled
        case store(UInt64, DiffBuffer)
    }

    /// Stores queued chunks until the queue is empty or only locked chunks remain.
    /// Returns at once when a worker is already running for this diff area (that one
    /// drains the queue, including what the caller just appended).
    func runStoreWorker() {
        let start: Bool = lock.withLock {
            if storeRunning || isReleased { return false }
            storeRunning = true
            return true
        }
        guard start else { return }
        while true {
            let job: StoreJob? = lock.withLock {
                guard !isReleased,
                      let index = storeQueue.firstIndex(where: { chunks[$0]?.isLocked == false })
                else {
                    storeRunning = false
                    lock.wakeAll()
                    return nil
                }
                let number = storeQueue.remove(at: index)
                _ = lockChunkLocked(number)
                guard let buffer = buffers[number] else {
                    // Only IN_MEMORY chunks are queued; nothing to store otherwise.
                    unlockChunkLocked(number)
                    return .handled
                }
                if error != 0 {
                    // Corrupted meanwhile: FAILED, no new error code (§4.2).
                    chunks[number]!.state = .failed
                    buffers[number] = nil
                    releaseBufferLocked(buffer)
                    unlockChunkLocked(number)
                    return .handled
                }
                return .store(number, buffer)
            }
            guard let job else { return }
            guard case .store(let number, let buffer) = job else { continue }
            let result = store(buffer)
            lock.withLock {
                defer { unlockChunkLocked(number) }
                releaseBufferLocked(buffer)
                switch result {
                case .success(let region):
                    // A STORED chunk has a region and no buffer: drop the index entry too,
                    // or every stored chunk keeps 16+ bytes here and a reference to a
                    // buffer the pool has meanwhile reused or freed.
                    buffers[number] = nil
                    chunks[number]!.state = .stored
                    chunks[number]!.regionSector = region.sector
                    chunks[number]!.regionDeviceSlot = storageSlotLocked(region.device)
                case .failure(let failure):
                    chunks[number]!.state = .failed
                    buffers[number] = nil
                    setCorruptedLocked(-failure.code)
                }
            }
        }
    }

    /// Allocates a full-chunk region and writes the whole buffer there.
    private func store(_ buffer: DiffBuffer) -> Result<DiffRegion, SimErrno> {
        let allocated = storage.allocateRegion(sectors: chunkSectorsValue,
                                               originalLogicalBlockSize: policy.checksStorageLogicalBlockSize
                                                   ? originalLogicalBlockSize : nil)
        guard case .success(let region) = allocated else { return allocated }
        // VAL-6.3.1's diff_io_do refuses a region not starting on a page (§1.4.8,
        // Quirk.val6MisalignedRangeCorrupts).
        if let alignment = policy.regionAlignmentSectors, region.sector % alignment != 0 {
            return .failure(SimErrno(EINVAL))
        }
        let (byteOffset, overflow) = region.sector.multipliedReportingOverflow(by: 512)
        // Misaligned or out-of-device regions fail as an I/O error would (Quirk.misalignedRegionEIO).
        guard !overflow, byteOffset % UInt64(region.device.logicalBlockSize) == 0 else {
            return .failure(SimErrno(EIO))
        }
        let written = region.device.writeRaw(UnsafeRawBufferPointer(buffer.bytes), atByte: byteOffset)
        return written == buffer.byteCount ? .success(region) : .failure(SimErrno(EIO))
    }

    // MARK: Image I/O (§4.4)

    private enum ImageStep {
        case done(Int32)
        case original
        case memory(DiffBuffer)
        case region(SimBlockDevice, UInt64)
        case loadNew(DiffBuffer)
    }

    /// Splits an image access at chunk borders; `body` gets chunk number, byte offset
    /// within the chunk, and the byte range of the caller's buffer.
    private func forEachChunk(atByte offset: UInt64, byteCount: Int,
                              _ body: (UInt64, Int, Range<Int>) -> Int32) -> Int32 {
        var done = 0
        while done < byteCount {
            let (position, overflow) = offset.addingReportingOverflow(UInt64(done))
            guard !overflow else { return -EIO }
            let number = position / chunkBytes
            guard number < chunkCountValue else { return -EIO }
            let within = Int(position % chunkBytes)
            let realBytes = Int(sectorCount(ofChunk: number) * 512)
            guard within < realBytes else { return -EIO }
            let length = min(byteCount - done, realBytes - within)
            let result = body(number, within, done..<done + length)
            if result != 0 { return result }
            done += length
        }
        return 0
    }

    /// §4.4 image read of `buffer.count` bytes at byte offset `offset` of the image.
    /// Returns 0 or `-EIO`.
    func imageRead(into buffer: UnsafeMutableRawBufferPointer, atByte offset: UInt64) -> Int32 {
        if let refused = lock.withLock({ isReleased ? -EIO : (error != 0 ? -policy.corruptedImageErrno : nil) }) {
            return refused
        }
        return forEachChunk(atByte: offset, byteCount: buffer.count) { number, within, range in
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[range])
            let byteOffset = number * chunkBytes + UInt64(within)
            let step: ImageStep = lock.withLock {
                guard !isReleased else { return .done(-EIO) }
                guard chunks[number] != nil else {
                    // No descriptor: read the original (Quirk.imageReadOriginalRace). Under the diff-area lock so
                    // that a concurrent COW of this chunk (which must first insert a
                    // descriptor) cannot let the original change under this read.
                    let read = original.readRaw(into: part, atByte: byteOffset)
                    return .done(read == part.count ? 0 : -EIO)
                }
                guard lockChunkLocked(number) else { return .done(-EIO) }
                switch chunks[number]!.state {
                case .failed:
                    unlockChunkLocked(number)
                    return .done(-EIO)
                case .new:
                    return .original
                case .inMemory:
                    guard let data = buffers[number] else { unlockChunkLocked(number); return .done(-EIO) }
                    return .memory(data)
                case .stored:
                    let chunk = chunks[number]!
                    return .region(storageDevices[Int(chunk.regionDeviceSlot)], chunk.regionSector)
                }
            }
            let result: Int32
            switch step {
            case .done(let code): return code
            case .original:
                result = original.readRaw(into: part, atByte: byteOffset) == part.count ? 0 : -EIO
            case .memory(let data):
                part.copyMemory(from: UnsafeRawBufferPointer(rebasing: data.bytes[within..<within + part.count]))
                result = 0
            case .region(let device, let sector):
                result = device.readRaw(into: part, atByte: sector * 512 + UInt64(within)) == part.count ? 0 : -EIO
            case .loadNew:
                result = -EIO  // not produced by reads
            }
            lock.withLock { unlockChunkLocked(number) }
            return result
        }
    }

    /// Bytes per segment of the bio an image write is taken to be: one page, as an
    /// `O_DIRECT` write from an ordinary user buffer gives (Quirk.multichunkImageWrite).
    static let bioSegmentBytes = 4096

    /// §4.4 image write (the caller has already marked the original's CBT): one bio.
    /// Returns 0 or `-EIO`. Never touches the original.
    ///
    /// Quirk.multichunkImageWrite (§12.1 item 9): v5's `chunk_load_and_schedule_io`
    /// advances the bio over a NEW chunk with `bio_advance_iter_single`, correct only
    /// when that stays inside the current segment (a page here). When it does not,
    /// every later part of the bio takes its data from memory beyond that segment: those
    /// parts (whatever their chunks' state) receive ``SimKernel/imageWritePoison``
    /// instead of the caller's bytes. No error, no event. Off with the simulator
    /// parameter `fix_multichunk_image_write`.
    func imageWrite(_ buffer: UnsafeRawBufferPointer, atByte offset: UInt64) -> Int32 {
        if let refused = lock.withLock({ isReleased ? -EIO : (error != 0 ? -policy.corruptedImageErrno : nil) }) {
            return refused
        }
        let reproduceOverrun = policy.imageWriteOverrunPossible && params.current.fixMultichunkImageWrite == 0
        var overrun = false
        return forEachChunk(atByte: offset, byteCount: buffer.count) { number, within, range in
            var poison: UnsafeMutableRawBufferPointer?
            defer { poison?.deallocate() }
            var part = UnsafeRawBufferPointer(rebasing: buffer[range])
            if overrun {
                let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: part.count, alignment: 16)
                SimKernel.fillWithImageWritePoison(bytes, atByte: number * chunkBytes + UInt64(within))
                poison = bytes
                part = UnsafeRawBufferPointer(bytes)
            }
            let step: ImageStep = lock.withLock {
                guard !isReleased else { return .done(-EIO) }
                if chunks[number] == nil { chunks[number] = Chunk() }
                guard lockChunkLocked(number) else { return .done(-EIO) }
                switch chunks[number]!.state {
                case .failed:
                    unlockChunkLocked(number)
                    return .done(-EIO)
                case .new:
                    let data = pool.take()
                    buffers[number] = data
                    return .loadNew(data)
                case .inMemory:
                    guard let data = buffers[number] else { unlockChunkLocked(number); return .done(-EIO) }
                    return .memory(data)
                case .stored:
                    let chunk = chunks[number]!
                    return .region(storageDevices[Int(chunk.regionDeviceSlot)], chunk.regionSector)
                }
            }
            switch step {
            case .done(let code):
                return code
            case .memory(let data):
                // Modifies the snapshot data that will later be stored.
                UnsafeMutableRawBufferPointer(rebasing: data.bytes[within..<within + part.count]).copyMemory(from: part)
                lock.withLock { unlockChunkLocked(number) }
                return 0
            case .region(let device, let sector):
                // The stored copy is overwritten in place.
                let written = device.writeRaw(part, atByte: sector * 512 + UInt64(within))
                lock.withLock { unlockChunkLocked(number) }
                return written == part.count ? 0 : -EIO
            case .loadNew(let data):
                let loaded = load(chunk: number, into: data)
                if loaded {
                    UnsafeMutableRawBufferPointer(rebasing: data.bytes[within..<within + part.count]).copyMemory(from: part)
                }
                finishLoad(chunk: number, buffer: data, loaded: loaded, byImageWrite: true)
                // The advance over this chunk leaves the current segment: the rest of the bio is garbage.
                if reproduceOverrun && within % Self.bioSegmentBytes + part.count > Self.bioSegmentBytes {
                    overrun = true
                }
                return loaded ? 0 : -EIO
            case .original:
                lock.withLock { unlockChunkLocked(number) }
                return -EIO  // not produced by writes
            }
        }
    }

    // MARK: Release (§2.4)

    /// Final release (§2.4): waits for a running store, frees chunks and buffers.
    func release() {
        lock.withLock {
            while storeRunning || lockedChunkCount > 0 { lock.wait() }
            isReleased = true
            captured.removeAll()
            // Queued-but-unstored chunks are simply discarded.
            chunks = [:]
            buffers = [:]
            storeQueue = []
            imageCached = []
            pool.removeAll()
            storageDevices = []
            lock.wakeAll()
        }
    }

    // MARK: Introspection (tests and diagnostics)

    /// State of chunk `number`, or nil when it has no descriptor.
    func state(ofChunk number: UInt64) -> ChunkState? { lock.withLock { chunks[number]?.state } }
    /// Where chunk `number` is stored, if STORED.
    func region(ofChunk number: UInt64) -> DiffRegion? {
        lock.withLock {
            guard let chunk = chunks[number], chunk.state == .stored else { return nil }
            return DiffRegion(device: storageDevices[Int(chunk.regionDeviceSlot)], sector: chunk.regionSector,
                              count: chunkSectorsValue)
        }
    }
    /// Number of chunk descriptors in the index.
    var descriptorCount: Int { lock.withLock { chunks.count } }
    /// Chunk numbers waiting in the store queue, in order.
    var queuedChunks: [UInt64] { lock.withLock { storeQueue } }
    /// Idle buffers in the pool.
    var idleBufferCount: Int { lock.withLock { pool.idle.count } }
    /// Runs `body` while holding chunk `number`'s lock (not the diff-area lock), as a
    /// load or store in flight would. Nil when the chunk has no descriptor.
    func withChunkLockHeld<R>(_ number: UInt64, _ body: () -> R) -> R? {
        guard lock.withLock({ chunks[number] != nil && lockChunkLocked(number) }) else { return nil }
        defer { lock.withLock { unlockChunkLocked(number) } }
        return body()
    }

    /// Runs `body` on the chunk index under the diff-area lock (memory measurements).
    func withChunkIndex<R>(_ body: ([UInt64: Chunk]) -> R) -> R { lock.withLock { body(chunks) } }
    /// Bytes of the index's hash-table storage (keys + descriptors, one bucket each,
    /// plus one metadata bit per bucket): Swift's Dictionary keeps between 3/8 and 3/4
    /// of its power-of-two bucket count filled.
    var indexStorageBytes: Int {
        lock.withLock {
            guard chunks.capacity > 0 else { return 0 }
            // capacity = floor(buckets × 3/4); buckets is a power of two.
            var buckets = 1
            while buckets * 3 / 4 < chunks.capacity { buckets <<= 1 }
            return buckets * (MemoryLayout<UInt64>.stride + MemoryLayout<Chunk>.stride) + buckets / 8
        }
    }
}
