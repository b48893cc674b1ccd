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

/// The difference storage of one snapshot (kernel: diff_storage.c, spec §5).
///
/// INTERFACE AGREED FOR PARALLEL WORK — bodies to be written by the COW-engine work.
final class DiffStorage: @unchecked Sendable {
    /// Creates an empty storage whose events go to `events`.
    init(params: LiveParams, events: EventQueue) {
        fatalError("DiffStorage.init: not yet implemented")
    }

    /// Sum of all appended range counts, in sectors.
    var capacitySectors: UInt64 { fatalError("not yet implemented") }
    /// Sectors consumed by regions or wasted as abandoned range tails.
    var filledSectors: UInt64 { fatalError("not yet implemented") }
    /// Sectors requested from user space through low_free_space events.
    var requestedSectors: UInt64 { fatalError("not yet implemented") }

    /// CREATE's unconditional low_free_space event (§5.3 a): queues the event with
    /// `diff_storage_minimum` and adds it to `requested`; does not set the flag.
    func emitCreationEvent() { fatalError("not yet implemented") }

    /// APPEND_STORAGE steps 4–6 once the path is resolved: adds `ranges` of `device`
    /// (reusing the device if already known) to the tail of the free list and to
    /// `capacity`. When `completed` (every range was copied from user memory without
    /// fault), runs the re-arm rule of §5.3 (flag cleared if capacity ≥ requested).
    func append(device: SimBlockDevice, ranges: [(offset: UInt64, count: UInt64)], completed: Bool) {
        fatalError("not yet implemented")
    }

    /// Region allocation of §5.2 for one chunk of `sectors`; errors as negative-free
    /// `SimErrno`: ENOSPC (overflow, permanent), ENOTBLK (storage logical block size
    /// larger than the original's).
    func allocateRegion(sectors: UInt64, originalLogicalBlockSize: UInt32) -> Result<DiffRegion, SimErrno> {
        fatalError("not yet implemented")
    }

    /// Final release (§2.4): forgets ranges and devices.
    func release() { fatalError("not yet implemented") }
}
