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
///
/// VAL-7.0 (``Policy/val7Ranges(limitSectors:)``, ``Policy/val7BlockDevice(_:)``, field spec
/// §2.7) keeps the same counters with other rules: see ``allocateVAL7(sectors:)``.
final class DiffStorage: @unchecked Sendable {
    /// Which module's rules the storage follows.
    enum Policy {
        /// v5 (§5): appended ranges, a creation event, the threshold rounded to a page.
        case v5
        /// VAL-7.0 range mode (§2.7.3): ranges appended within `limitSectors`.
        case val7Ranges(limitSectors: UInt64)
        /// VAL-7.0 block-device mode (§2.7.1): the whole device from sector 4096.
        case val7BlockDevice(SimBlockDevice)
    }

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
        /// VAL-7.0: `diff_storage->limit`.
        var limitSectors: UInt64 = 0
    }

    private let params: LiveParams
    private let events: EventQueue
    /// The rules in force (set at CREATE, before the snapshot is listed).
    private(set) var policy: Policy = .v5
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

    /// Sum of all appended range counts, in sectors (VAL-7.0 block device: its size).
    var capacitySectors: UInt64 { withState { $0.capacitySectors } }

    /// Whether TAKE needs appended storage (v5 and VAL-6.x: `EFAULT` without; VAL-7.0
    /// does not check, field spec §2.4.4).
    var checksCapacityAtTake: Bool {
        if case .v5 = policy { return true }
        return false
    }

    /// The device VAL-7.0 uses whole as storage, if any (`snapshotadd` of it answers 0
    /// and adds nothing, §2.3).
    var storageBlockDevice: SimBlockDevice? {
        if case .val7BlockDevice(let device) = policy { return device }
        return nil
    }
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
            Self.addRanges(&st, device, ranges)
            // Only the capacity check re-arms, even with no ranges (Quirk.lowSpaceRearmByAppendOnly).
            if completed, st.lowSpaceFlag, st.capacitySectors >= st.requestedSectors {
                st.lowSpaceFlag = false
            }
        }
    }

    /// Region allocation of §5.2 for one chunk of `sectors` (VAL-7.0: ``allocateVAL7(sectors:)``); errors as negative-free
    /// `SimErrno`: ENOSPC (overflow, permanent), ENOTBLK (storage logical block size
    /// larger than `originalLogicalBlockSize`; nil skips that check, as VAL-6.3.1 does).
    func allocateRegion(sectors: UInt64, originalLogicalBlockSize: UInt32?) -> Result<DiffRegion, SimErrno> {
        if case .v5 = policy {} else { return allocateVAL7(sectors: sectors) }
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
                if let originalLogicalBlockSize, originalLogicalBlockSize < device.logicalBlockSize {
                    return .failure(SimErrno(ENOTBLK))
                }
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

    // MARK: - VAL-7.0 (field spec §2.7)

    /// `diff_storage_set` in range mode (§2.7.3): stores the limit, sets the low-space
    /// flag, asks `min(diff_storage_minimum, limit)` and queues a low_free_space event
    /// with it. `requested` grows by the portion twice: `diff_storage_calculate_requested`
    /// adds it and `diff_storage_event_low` adds it again (Quirk.val7RequestedTwice,
    /// seen on the real module; the spec says once). A limit of 0 asks nothing.
    func setVAL7Ranges(limitSectors: UInt64) {
        policy = .val7Ranges(limitSectors: limitSectors)
        let request: UInt64 = withState { st in
            st.limitSectors = limitSectors
            st.lowSpaceFlag = true
            let portion = Self.calculateRequested(&st, minimum: UInt64(params.current.diffStorageMinimum))
            st.requestedSectors &+= portion
            return portion
        }
        if request > 0 { events.pushLowFreeSpace(requestedSectors: request) }
    }

    /// `diff_storage_set` of a block device (§2.7.1): the whole device from sector 4096;
    /// `requested` = capacity = its size. A device of at most `diff_storage_minimum/2`
    /// sectors below the limit makes `requested` exceed the device: the module only
    /// warns, and stores past the end fail later (I/O errors). Larger than the limit and
    /// that small: `ENOSPC`.
    func setVAL7BlockDevice(_ device: SimBlockDevice, limitSectors: UInt64) -> Int32 {
        let minimum = UInt64(params.current.diffStorageMinimum)
        let size = device.capacitySectors
        return withState { st in
            st.filledSectors = 4096
            st.capacitySectors = size
            st.requestedSectors = size
            st.limitSectors = limitSectors
            guard size <= minimum / 2 else {
                policy = .val7BlockDevice(device)
                return 0
            }
            if size > limitSectors { return -ENOSPC }
            if size < limitSectors { st.requestedSectors &+= min(minimum, limitSectors - size) }
            policy = .val7BlockDevice(device)
            return 0
        }
    }

    /// VAL-7.0 APPEND_STORAGE's ranges (§2.4.8): each to the tail of the free list and
    /// to `capacity`; afterwards, even after a fault, the flag is cleared when
    /// `capacity ≥ requested`. In block-device mode the ranges are kept and never used.
    func appendVAL7(device: SimBlockDevice, ranges: [(offset: UInt64, count: UInt64)]) {
        withState { st in
            Self.addRanges(&st, device, ranges)
            if st.lowSpaceFlag, st.capacitySectors >= st.requestedSectors {
                st.lowSpaceFlag = false
            }
        }
    }

    /// `diff_storage_alloc` (§2.7.3, §2.7.1) for one chunk of `sectors`: overflow set →
    /// `ENOSPC`; `filled + sectors > requested` → overflow set (permanent), `ENOSPC` —
    /// the module never stores more than it asked for, whatever was appended. In range
    /// mode the first free range that holds the chunk serves it and smaller leading
    /// ranges are dropped without counting as filled; none left → `ENOSPC` without the
    /// overflow flag. Then, at `requested − filled ≤ diff_storage_minimum/2` (no page
    /// rounding) and the flag's 0 → 1 step, range mode asks for
    /// `min(minimum, limit − requested)` with an event (twice into `requested`, as at
    /// create); block-device mode only sets the flag.
    func allocateVAL7(sectors: UInt64) -> Result<DiffRegion, SimErrno> {
        let minimum = UInt64(params.current.diffStorageMinimum)
        let outcome: Result<(DiffRegion, request: UInt64), SimErrno> = withState { st in
            if st.overflowFlag { return .failure(SimErrno(ENOSPC)) }
            if st.filledSectors &+ sectors > st.requestedSectors {
                st.overflowFlag = true
                return .failure(SimErrno(ENOSPC))
            }
            let region: DiffRegion
            switch policy {
            case .val7BlockDevice(let device):
                region = DiffRegion(device: device, sector: st.filledSectors, count: sectors)
            case .val7Ranges, .v5:
                var found: DiffRegion?
                while st.freeHead < st.freeRanges.count {
                    var range = st.freeRanges[st.freeHead]
                    if range.count &- range.usedSectors >= sectors {
                        found = DiffRegion(device: st.devices[range.deviceIndex],
                                           sector: range.sector &+ range.usedSectors, count: sectors)
                        range.usedSectors &+= sectors
                        st.freeRanges[st.freeHead] = range
                        break
                    }
                    // Dropped, not counted as filled (Quirk.val7DroppedRangeTails).
                    st.retiredRanges.append(range)
                    st.freeHead += 1
                }
                guard let found else { return .failure(SimErrno(ENOSPC)) }
                region = found
            }
            st.filledSectors &+= sectors
            let left = st.requestedSectors &- st.filledSectors
            // The module counts with atomic_inc_return; only its 0 → 1 step warns.
            guard left <= minimum / 2, !st.lowSpaceFlag else { return .success((region, 0)) }
            st.lowSpaceFlag = true
            guard case .val7Ranges = policy else { return .success((region, 0)) }
            let portion = Self.calculateRequested(&st, minimum: minimum)
            st.requestedSectors &+= portion
            return .success((region, portion))
        }
        switch outcome {
        case .failure(let error):
            return .failure(error)
        case .success(let (region, request)):
            if request > 0 { events.pushLowFreeSpace(requestedSectors: request) }
            return .success(region)
        }
    }

    /// `diff_storage_calculate_requested`: `min(minimum, limit − requested)` while below
    /// the limit, added to `requested`; 0 at the limit.
    private static func calculateRequested(_ st: inout State, minimum: UInt64) -> UInt64 {
        guard st.requestedSectors < st.limitSectors else { return 0 }
        let portion = min(minimum, st.limitSectors - st.requestedSectors)
        st.requestedSectors &+= portion
        return portion
    }

    /// Appends `ranges` of `device` to the tail of the free list and to `capacity`; the
    /// device is held once, matched by `dev_t`. Nothing is validated (offsets, sizes,
    /// alignment, overlap, zero lengths: v5 §1.2, VAL-7.0 §2.4.8).
    private static func addRanges(_ st: inout State, _ device: SimBlockDevice, _ ranges: [(offset: UInt64, count: UInt64)]) {
        let index: Int
        if let known = st.devices.firstIndex(where: { $0 === device || ($0.major == device.major && $0.minor == device.minor) }) {
            index = known
        } else {
            st.devices.append(device)
            index = st.devices.count - 1
        }
        for range in ranges {
            st.freeRanges.append(StorageRange(deviceIndex: index, sector: range.offset, count: range.count, usedSectors: 0))
            st.capacitySectors &+= range.count
        }
    }

    /// Final release (§2.4): forgets ranges and devices.
    func release() {
        withState { $0 = State() }
    }
}
