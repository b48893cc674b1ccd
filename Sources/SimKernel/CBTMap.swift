#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import Synchronization

/// The change-block-tracking map of one tracked device (kernel: cbt_map.c, spec §3).
///
/// Fields (all under one lock, the kernel's `cbt_map->locker` spinlock):
/// - `capacitySectors`: the device capacity the map was sized for (at attach or reset);
///   a different device capacity is only noticed at take (§3.5);
/// - `blockShift`, `blockCount`: CBT block size (log2 bytes) and number of blocks (§3.1);
/// - `writeMap`: live, raised to `active` by every intercepted write (§3.2);
/// - `readMap`: the copy of the write map made at the last take, returned by `cbtmap`;
/// - `active`, `previous`: snap numbers (§3.3); `previous` is reported as `changes_number`;
/// - `generationID`: regenerated at attach, reset and wraparound;
/// - `isCorrupted`: set by a write-path marking past the map's end; disables COW (§3.5).
///
/// The write path's fast check (``markWrite(sector:count:)``): a write whose blocks all
/// already hold `active` changes nothing, so it is answered without the lock from
/// `writePath` (the write map's storage, block count, shift and active number) and the
/// atomic corrupted flag. `writePath` changes only in `init`, `switchNumbers` and
/// `reset`, which run under the disk's queue freeze (take step 4), while the write path
/// holds the queue's read side: it never reads a `writePath` that is being changed.
/// The map bytes themselves are atomics, because cbtdirty and image writes raise them
/// (under the lock) concurrently with the write path.
///
/// Owned by its ``Tracker``; lives as long as the tracker.
final class CBTMap: @unchecked Sendable {
    private struct State {
        var capacitySectors: UInt64
        var blockShift: UInt32
        var blockCount: UInt64
        var writeMap: AtomicByteMap
        var readMap: AtomicByteMap
        var active: UInt32
        var previous: UInt32
        var generationID: SimUUID
    }

    /// What the write path's lock-free check reads; see the type's documentation.
    private struct WritePath {
        var map: UnsafeMutablePointer<Atomic<UInt8>>
        var blockCount: UInt64
        var sectorShift: UInt64
        var active: UInt8

        init(_ s: State) {
            map = s.writeMap.base
            blockCount = s.blockCount
            sectorShift = UInt64(s.blockShift - 9)
            active = UInt8(truncatingIfNeeded: s.active)
        }
    }

    private let state: PthreadMutex<State>
    private let params: LiveParams
    /// Written only under `state`'s lock; read without it by the write path.
    private let corrupted = Atomic<Bool>(false)
    // Changed only under the queue freeze and `state`'s lock (see above).
    @exclusivity(unchecked) private var writePath: WritePath

    /// The CBT block size for a capacity (§3.1): starting at
    /// `tracking_block_minimum_shift`, the shift grows by one while the block count
    /// exceeds `tracking_block_maximum_count`, but never past
    /// `tracking_block_maximum_shift` (the count may then exceed the maximum).
    static func blockSize(capacitySectors: UInt64, params: Params) -> (shift: UInt32, count: UInt64) {
        // Shifts outside 9…63 make no sense for a byte size; clamp instead of trapping.
        var shift = min(max(params.trackingBlockMinimumShift, 9), 63)
        let maximumShift = min(params.trackingBlockMaximumShift, 63)
        func count(_ shift: UInt32) -> UInt64 {
            let blockSectors = UInt64(1) << UInt64(shift - 9)
            return capacitySectors / blockSectors + (capacitySectors % blockSectors == 0 ? 0 : 1)
        }
        var blocks = count(shift)
        while blocks > UInt64(params.trackingBlockMaximumCount) {
            if shift >= maximumShift { break }
            shift += 1
            blocks = count(shift)
        }
        return (shift, blocks)
    }

    /// Creates the map at attach: zeroed maps, previous 0, active 1, new generation.
    ///
    /// - Throws: `ENOMEM` for a zero-sized map (the kernel's `vmalloc(0)` fails, §1.3).
    init(capacitySectors: UInt64, params: LiveParams) throws(SimErrno) {
        self.params = params
        let (shift, count) = Self.blockSize(capacitySectors: capacitySectors, params: params.current)
        guard count > 0, count <= UInt64(Int.max) else { throw SimErrno(ENOMEM) }
        let initial = State(capacitySectors: capacitySectors, blockShift: shift, blockCount: count,
                            writeMap: AtomicByteMap(count: Int(count)),
                            readMap: AtomicByteMap(count: Int(count)),
                            active: 1, previous: 0, generationID: .random())
        writePath = WritePath(initial)
        state = PthreadMutex(initial)
    }

    /// Capacity the map was sized for, in sectors.
    var capacitySectors: UInt64 { state.withLock { $0.capacitySectors } }
    /// True once a write-path marking went past the map's end (§3.5).
    var isCorrupted: Bool { corrupted.load(ordering: .acquiring) }
    /// Number of CBT blocks.
    var blockCount: UInt64 { state.withLock { $0.blockCount } }
    /// CBT block size in bytes.
    var blockSizeBytes: UInt64 { state.withLock { UInt64(1) << UInt64($0.blockShift) } }
    /// The generation id.
    var generationID: SimUUID { state.withLock { $0.generationID } }
    /// The snap number written into the write map now.
    var activeNumber: UInt32 { state.withLock { $0.active } }
    /// The snap number of the last take (`changes_number`).
    var previousNumber: UInt32 { state.withLock { $0.previous } }

    /// Bytes of the two maps (what the kernel vmallocs): 2 × block count.
    var memoryBytes: UInt64 { state.withLock { UInt64($0.writeMap.count + $0.readMap.count) } }

    /// Raises every block of `[sector, sector+count-1]` in `map` to `value`
    /// (kernel `__cbt_map_set`). The last block is computed with wrapping arithmetic,
    /// which gives the zero-length quirk of §3.4. Returns 0 or `-EINVAL` at the first
    /// block index past the map (earlier blocks stay marked).
    private static func mark(_ map: AtomicByteMap, blockCount: UInt64, shift: UInt32,
                             sector: UInt64, count: UInt64, value: UInt8) -> Int32 {
        let sectorShift = UInt64(shift - 9)
        let first = sector >> sectorShift
        let last = (sector &+ count &- 1) >> sectorShift
        var index = first
        while index <= last {
            if index >= blockCount { return -EINVAL }
            let i = Int(index)
            if map[i] < value { map[i] = value }
            index += 1
        }
        return 0
    }

    /// The write path's marking (`cbt_map_set`, §2.1, §3.5): marks the write map
    /// with `active`. A corrupted map fails at once; a block past the end sets
    /// `isCorrupted`. Returns 0 or `-EINVAL`.
    ///
    /// Fast path: when the map is not corrupted and every block of the range lies inside
    /// the map and already holds `active`, marking would change nothing; that is
    /// answered from atomic loads without the lock. Anything else (a block to raise,
    /// the end of the map, the zero-length quirk, corruption) takes the locked path.
    func markWrite(sector: UInt64, count: UInt64) -> Int32 {
        if !corrupted.load(ordering: .acquiring) {
            let view = writePath
            let first = sector >> view.sectorShift
            let last = (sector &+ count &- 1) >> view.sectorShift
            if first <= last, last < view.blockCount {
                var index = first
                while index <= last, view.map[Int(index)].load(ordering: .relaxed) >= view.active { index += 1 }
                if index > last { return 0 }
            }
        }
        return state.withLock { s in
            if corrupted.load(ordering: .relaxed) { return -EINVAL }
            let result = Self.mark(s.writeMap, blockCount: s.blockCount, shift: s.blockShift,
                                   sector: sector, count: count, value: UInt8(truncatingIfNeeded: s.active))
            if result != 0 { corrupted.store(true, ordering: .releasing) }
            return result
        }
    }

    /// "Set both" (`cbt_map_set_both`, §3.4), used by cbtdirty and image writes: the
    /// write map gets `active`, and only if that succeeded the read map gets
    /// `previous`. Out of range → `-EINVAL` without setting the corrupted flag;
    /// a corrupted map → `-EINVAL` without marking.
    func markBoth(sector: UInt64, count: UInt64) -> Int32 {
        state.withLock { s in
            if corrupted.load(ordering: .relaxed) { return -EINVAL }
            var result = Self.mark(s.writeMap, blockCount: s.blockCount, shift: s.blockShift,
                                   sector: sector, count: count, value: UInt8(truncatingIfNeeded: s.active))
            if result == 0 {
                result = Self.mark(s.readMap, blockCount: s.blockCount, shift: s.blockShift,
                                   sector: sector, count: count, value: UInt8(truncatingIfNeeded: s.previous))
            }
            return result
        }
    }

    /// The switch at take (§3.3): previous := active, active += 1; at 256 the active
    /// number wraps to 1, the write map is zeroed and a new generation id is made,
    /// leaving the read map stale; otherwise the read map becomes a copy of the write map.
    ///
    /// - Parameter copyingReadMapFirst: VAL-6.3.1 (field spec §1.6.3): the read map is
    ///   copied from the write map before anything else, so the wraparound refreshes it too.
    func switchNumbers(copyingReadMapFirst: Bool = false) {
        state.withLock { s in
            if copyingReadMapFirst {
                for i in 0..<s.readMap.count { s.readMap[i] = s.writeMap[i] }
            }
            s.previous = s.active
            s.active += 1
            if s.active == 256 {
                s.active = 1
                s.writeMap.zero()
                s.generationID = .random()
            } else if !copyingReadMapFirst {
                for i in 0..<s.readMap.count { s.readMap[i] = s.writeMap[i] }
            }
            writePath = WritePath(s)
        }
    }

    /// The reset at take (§3.5): new zeroed maps for `capacitySectors` and the current
    /// block-size parameters, previous 0, active 1, new generation, not corrupted.
    ///
    /// - Returns: 0, or `-ENOMEM` when the new map would be empty (the old map is kept).
    func reset(capacitySectors: UInt64) -> Int32 {
        let (shift, count) = Self.blockSize(capacitySectors: capacitySectors, params: params.current)
        guard count > 0, count <= UInt64(Int.max) else { return -ENOMEM }
        let fresh = State(capacitySectors: capacitySectors, blockShift: shift, blockCount: count,
                          writeMap: AtomicByteMap(count: Int(count)),
                          readMap: AtomicByteMap(count: Int(count)),
                          active: 1, previous: 0, generationID: .random())
        state.withLock { s in
            s = fresh
            writePath = WritePath(fresh)
            corrupted.store(false, ordering: .releasing)
        }
        return 0
    }

    /// The `cbtinfo` answer (§1.4); padding zeroed.
    func info() -> blksnap_cbtinfo {
        state.withLock { s in
            var info = blksnap_cbtinfo()
            info.device_capacity = s.capacitySectors &* 512
            info.block_size = UInt32(truncatingIfNeeded: UInt64(1) << UInt64(s.blockShift))
            info.block_count = UInt32(truncatingIfNeeded: s.blockCount)
            withUnsafeMutableBytes(of: &info.generation_id.b) { $0.copyBytes(from: s.generationID.bytes) }
            info.changes_number = UInt8(truncatingIfNeeded: s.previous)
            return info
        }
    }

    /// `length` bytes of the read map from byte `offset` (the `cbtmap` range check of
    /// §1.4): nil when `length > block_count − offset`, and also when `offset >
    /// block_count` (the kernel's subtraction wraps and reads past the map).
    func readMapBytes(offset: UInt32, length: UInt32) -> [UInt8]? {
        state.withLock { s in
            let offset = UInt64(offset), length = UInt64(length)
            guard offset <= s.blockCount, length <= s.blockCount - offset else { return nil }
            return (Int(offset)..<Int(offset + length)).map { s.readMap[$0] }
        }
    }

    /// VAL-6.3.1's `cbt_map_read_to_user` (field spec §1.4.4): a corrupted map →
    /// `EFAULT`, `offset ≥ block_count` → `EINVAL`; otherwise the read map's bytes from
    /// `offset`, `length` clamped to the end of the map.
    func clampedReadMapBytes(offset: UInt32, length: UInt32) -> Result<[UInt8], SimErrno> {
        state.withLock { s in
            if corrupted.load(ordering: .relaxed) { return .failure(SimErrno(EFAULT)) }
            let offset = UInt64(offset)
            guard offset < s.blockCount else { return .failure(SimErrno(EINVAL)) }
            let count = min(s.blockCount - offset, UInt64(length))
            return .success((Int(offset)..<Int(offset + count)).map { s.readMap[$0] })
        }
    }

    /// A copy of the read map (tests, introspection).
    func readMapSnapshot() -> [UInt8] { state.withLock { $0.readMap.bytes } }
    /// A copy of the write map (tests, introspection).
    func writeMapSnapshot() -> [UInt8] { state.withLock { $0.writeMap.bytes } }
}
