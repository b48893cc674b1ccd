import BlksnapKit
import Synchronization

/// What every ``VAL6Driver`` of the process shares: the VAL-6.x hazards are module-wide
/// (one snapshot list, one event list per snapshot), so two driver values — or two
/// threads on one — must see each other's requests.
///
/// Nothing here reaches other processes: a second process can still create a snapshot
/// between this process's check and its create. Run one VAL-6.x client at a time.
enum VAL6ProcessState {
    /// Held from "no snapshot exists" to the request that relies on it (CREATE, the
    /// attach emulation's CREATE + DESTROY, TRACKER_REMOVE), so that two threads of this
    /// process cannot both pass the check and orphan a snapshot (spec §1.8.4).
    static let lifecycle = Mutex<Void>(())

    /// The snapshots a thread of this process is waiting on (spec §1.5: a second waiter
    /// corrupts the kernel's event list).
    static let waiters = Mutex<Set<SnapshotID>>([])

    /// Sectors of difference storage appended to each snapshot this process created and
    /// has not taken or destroyed yet (a TAKE with none destroys the snapshot, §1.4.9).
    static let storageSectors = Mutex<[SnapshotID: UInt64]>([:])

    /// Registers the caller as the one waiter on `id`; false when another thread of this
    /// process already waits on it.
    static func beginWaiting(_ id: SnapshotID) -> Bool {
        waiters.withLock { $0.insert(id).inserted }
    }

    /// Ends ``beginWaiting(_:)``.
    static func endWaiting(_ id: SnapshotID) {
        _ = waiters.withLock { $0.remove(id) }
    }
}
