#if canImport(Glibc)
import Glibc
#endif

/// A region of the difference storage: where one chunk's data is stored.
struct DiffRegion: Sendable, Equatable {
    /// The storage device.
    let device: SimBlockDevice
    /// First sector of the region on that device.
    let sector: UInt64
    /// Length in sectors (always the full chunk size, §4.5).
    let count: UInt64

    static func == (a: DiffRegion, b: DiffRegion) -> Bool {
        a.device === b.device && a.sector == b.sector && a.count == b.count
    }
}

/// One appended range of a storage device (kernel: `struct storage_block`).
///
/// Fields: `deviceIndex` — index into ``DiffStorage``'s device list (the kernel keeps
/// the bdev pointer); `sector` — first sector of the range; `count` — its length in
/// sectors as appended (never validated, §1.2 APPEND_STORAGE); `usedSectors` — how
/// much of it regions have consumed. Owned by the storage's free list, then by its
/// retired list once abandoned.
struct StorageRange: Sendable, Equatable {
    /// Index of the device in the storage's device list.
    var deviceIndex: Int
    /// First sector of the range on its device.
    var sector: UInt64
    /// Length of the range in sectors.
    var count: UInt64
    /// Sectors already handed out as regions.
    var usedSectors: UInt64
}

/// The difference storage of one snapshot (kernel: diff_storage.c, spec §5).
///
/// Shared by every device of the snapshot: all state lives behind one mutex (the
/// kernel's spinlock). Fields (all in ``State``):
/// - `devices` — storage devices, each held once (APPEND_STORAGE reuses a known one);
/// - `freeRanges` — FIFO of ranges with room left (kernel `empty_blocks`), consumed
///   from `freeHead`;
/// - `retiredRanges` — ranges whose remainder could not hold a chunk (kernel
///   `filled_blocks`); kept only as a record, never reused;
/// - `capacitySectors` / `filledSectors` / `requestedSectors` — the three counters of
///   §5.1 (none is visible through any ioctl);
/// - `lowSpaceFlag` — set when a threshold low_free_space event fired, cleared only by
///   a re-arming append (§5.3);
/// - `overflowFlag` — set when no range could hold a chunk; never cleared (§5.4).
final class DiffStorage: @unchecked Sendable {
    private struct State {
        var devices: [SimBlockDevice] = []
        var freeRanges: [StorageRange] = []
        var freeHead = 0
        var retiredRanges: [StorageRange] = []
        var capacitySectors: UInt64 = 0
        var filledSectors: UInt64 = 0
        var requestedSectors: UInt64 = 0
        var lowSpaceFlag = false
        var overflowFlag = false
    }

    private let params: LiveParams
    private let events: EventQueue
    // A pthread mutex (WaitQueue) rather than Synchronization.Mutex: ThreadSanitizer
    // understands it, so sanitizer runs of the concurrent tests stay meaningful.
    private let lock = WaitQueue()
    private var state = State()

    private func withState<R>(_ body: (inout State) -> R) -> R { lock.withLock { body(&state) } }

    /// Creates an empty storage whose events go to `events`.
    init(params: LiveParams, events: EventQueue) {
        self.params = params
        self.events = events
    }

    /// Sum of all appended range counts, in sectors.
    var capacitySectors: UInt64 { withState { $0.capacitySectors } }
    /// Sectors consumed by regions or wasted as abandoned range tails.
    var filledSectors: UInt64 { withState { $0.filledSectors } }
    /// Sectors requested from user space through low_free_space events.
    var requestedSectors: UInt64 { withState { $0.requestedSectors } }

    /// True while a threshold low_free_space event is outstanding (not re-armed).
    var isLowSpaceFlagSet: Bool { withState { $0.lowSpaceFlag } }
    /// True once an allocation found no room (permanent, §5.4).
    var isOverflowed: Bool { withState { $0.overflowFlag } }
    /// Number of distinct storage devices held.
    var deviceCount: Int { withState { $0.devices.count } }
    /// Ranges still in the free FIFO, first to be used first.
    var freeRanges: [StorageRange] { withState { Array($0.freeRanges[$0.freeHead...]) } }
    /// Ranges abandoned because their remainder could not hold a chunk, in order.
    var retiredRanges: [StorageRange] { withState { $0.retiredRanges } }

    /// CREATE's unconditional low_free_space event (§5.3 a): queues the event with
    /// `diff_storage_minimum` and adds it to `requested`; does not set the flag.
    func emitCreationEvent() {
        let minimum = UInt64(params.current.diffStorageMinimum)
        withState { $0.requestedSectors &+= minimum }
        events.pushLowFreeSpace(requestedSectors: minimum)
    }

    /// APPEND_STORAGE steps 4–6 once the path is resolved: adds `ranges` of `device`
    /// (reusing the device if already known) to the tail of the free list and to
    /// `capacity`. When `completed` (every range was copied from user memory without
    /// fault), runs the re-arm rule of §5.3 (flag cleared if capacity ≥ requested).
    func append(device: SimBlockDevice, ranges: [(offset: UInt64, count: UInt64)], completed: Bool) {
        withState { st in
            let index: Int
            if let known = st.devices.firstIndex(where: { $0 === device || ($0.major == device.major && $0.minor == device.minor) }) {
                index = known
            } else {
                st.devices.append(device)
                index = st.devices.count - 1
            }
            for range in ranges {
                // §1.2: offset, size, alignment, overlap and zero length are not validated.
                st.freeRanges.append(StorageRange(deviceIndex: index, sector: range.offset,
                                                  count: range.count, usedSectors: 0))
                st.capacitySectors &+= range.count
            }
            // Only the capacity check re-arms, even with no ranges (Quirk.lowSpaceRearmByAppendOnly).
            if completed, st.lowSpaceFlag, st.capacitySectors >= st.requestedSectors {
                st.lowSpaceFlag = false
            }
        }
    }

    /// Region allocation of §5.2 for one chunk of `sectors`; errors as negative-free
    /// `SimErrno`: ENOSPC (overflow, permanent), ENOTBLK (storage logical block size
    /// larger than the original's).
    func allocateRegion(sectors: UInt64, originalLogicalBlockSize: UInt32) -> Result<DiffRegion, SimErrno> {
        let minimum = UInt64(params.current.diffStorageMinimum)
        // §5.2-3: half of the minimum, rounded down to a page (8 sectors).
        let halfSectors = (minimum >> 1) & ~UInt64(7)
        let outcome: Result<(DiffRegion, emit: Bool), SimErrno> = withState { st in
            if st.overflowFlag { return .failure(SimErrno(ENOSPC)) }
            var region: DiffRegion?
            while region == nil {
                guard st.freeHead < st.freeRanges.count else {
                    st.overflowFlag = true  // never cleared (Quirk.overflowPermanent)
                    return .failure(SimErrno(ENOSPC))
                }
                var range = st.freeRanges[st.freeHead]
                let device = st.devices[range.deviceIndex]
                // Checked lazily, the range is not skipped (Quirk.enotblkLazy).
                if originalLogicalBlockSize < device.logicalBlockSize { return .failure(SimErrno(ENOTBLK)) }
                let availableSectors = range.count &- range.usedSectors
                if availableSectors >= sectors {
                    region = DiffRegion(device: device, sector: range.sector &+ range.usedSectors, count: sectors)
                    range.usedSectors &+= sectors
                    st.freeRanges[st.freeHead] = range
                    st.filledSectors &+= sectors
                } else {
                    // The tail is abandoned and counted as filled (Quirk.abandonedRangeTails).
                    st.retiredRanges.append(range)
                    st.filledSectors &+= availableSectors
                    st.freeHead += 1
                    if st.freeHead > 64, st.freeHead * 2 > st.freeRanges.count {
                        st.freeRanges.removeFirst(st.freeHead)
                        st.freeHead = 0
                    }
                }
            }
            // Unsigned: wraps when filled > requested, and then never fires (Quirk.lowSpaceThreshold).
            let leftSectors = st.requestedSectors &- st.filledSectors
            var emit = false
            if leftSectors <= halfSectors, !st.lowSpaceFlag {
                st.lowSpaceFlag = true
                st.requestedSectors &+= minimum
                emit = true
            }
            return .success((region!, emit))
        }
        switch outcome {
        case .failure(let error):
            return .failure(error)
        case .success(let (region, emit)):
            if emit { events.pushLowFreeSpace(requestedSectors: minimum) }
            return .success(region)
        }
    }

    /// Final release (§2.4): forgets ranges and devices.
    func release() {
        withState { $0 = State() }
    }
}
