#if canImport(Glibc)
import Glibc
#endif

/// One snapshot (kernel: snapshot.c, spec §2.2–§2.5).
///
/// Fields:
/// - `id`: random v4 UUID made at CREATE;
/// - `storage`: the difference storage (one per snapshot, shared by its devices);
/// - `events`: the event queue (§6);
/// - `rwLock`: the snapshot's `rw_lock`, held for writing by take, snapshotadd and the
///   final release; guards `trackers` and `isTaken`;
/// - `trackers`: members in snapshotadd order; each holds a reference on its tracker;
/// - `isTaken`: set by a take that got past the CBT switch (stays set in BROKEN);
/// - `references`: the global list holds one, every ioctl that looked the snapshot up
///   holds one while it runs (notably a WAIT_EVENT sleeper). The last `put` runs the
///   final release (§2.4).
final class Snapshot: @unchecked Sendable {
    let id: SimUUID
    let storage: DiffStorage
    let events: EventQueue
    private let params: LiveParams
    private let blockLayer: BlockLayer
    private let rwLock = RWSemaphore()
    // Guarded by rwLock.
    private var trackers: [Tracker] = []
    private var isTaken = false
    private let references = PthreadMutex(1)

    /// CREATE's allocation: a new id, an empty storage and event queue (with the codes
    /// of the namespace's dialect).
    init(params: LiveParams, blockLayer: BlockLayer) {
        id = .random()
        events = EventQueue(dialect: blockLayer.dialect)
        storage = DiffStorage(params: params, events: events)
        self.params = params
        self.blockLayer = blockLayer
    }

    /// `snapshot_get`: one more reference.
    func get() { references.withLock { $0 += 1 } }

    /// `snapshot_put`: drops a reference; the last one runs the final release.
    func put() {
        let last = references.withLock { count -> Bool in
            count -= 1
            precondition(count >= 0, "snapshot reference count underflow")
            return count == 0
        }
        if last { release() }
    }

    /// Current number of references (introspection).
    var referenceCount: Int { references.withLock { $0 } }

    /// True once a take passed the CBT switch (TAKEN or BROKEN).
    var taken: Bool { rwLock.withReadLock { isTaken } }

    /// The members' devices, in snapshotadd order (introspection).
    var memberDevices: [SimBlockDevice] { rwLock.withReadLock { trackers.compactMap(\.device) } }

    /// snapshotadd (§1.4): `EALREADY` if this tracker or one with the same `dev_t` is
    /// already a member; `EBUSY` if the tracker belongs to another snapshot. Accepted
    /// even after take (§2.2: useless, Quirk.snapshotaddAfterTake).
    func addDevice(_ tracker: Tracker) -> Int32 {
        // VAL-7.0: the device that is the storage answers 0 and is not added (field spec
        // §2.3, Quirk.val7StorageDeviceIgnored).
        if let device = storage.storageBlockDevice, device.major == tracker.major, device.minor == tracker.minor {
            return 0
        }
        return rwLock.withWriteLock {
            for member in trackers where member === tracker
                || (member.major == tracker.major && member.minor == tracker.minor) {
                return -EALREADY
            }
            guard tracker.link() else { return -EBUSY }
            trackers.append(tracker)
            return 0
        }
    }

    /// TAKE (§2.3), steps 1–10. Returns 0 or the negative errno.
    func take() -> Int32 {
        rwLock.withWriteLock {
            if isTaken { return -EALREADY }
            // 1. No members.
            if trackers.isEmpty { return -ENODEV }
            // 2. A diff area per member (opens the original by dev_t).
            var failure: Int32 = 0
            for tracker in trackers {
                // Members are original devices (snapshotadd refuses images, Quirk.noSnapshotOfImages).
                guard let device = tracker.device, let disk = blockLayer.disk(major: tracker.major, minor: tracker.minor),
                      disk.device === device else {
                    failure = -ENXIO
                    break
                }
                do throws(SimErrno) {
                    let area = try DiffArea(original: device, capacitySectors: device.capacitySectors,
                                            storage: storage, events: events, params: params,
                                            policy: .of(blockLayer.dialect))
                    tracker.diffArea = area
                } catch {
                    failure = -error.code
                    break
                }
            }
            if failure != 0 {
                releaseDiffAreas()
                // VAL-7.0 also removes every member: a retry needs new snapshotadds
                // (field spec §2.8.3, Quirk.val7TakeFailureRemovesMembers).
                if blockLayer.dialect == .val7 { unlinkMembers() }
                return failure
            }
            // 3. freeze_bdev of every original: no filesystem in the simulator.
            // 4. Per member, under a queue freeze: reset if corrupted or resized, switch, COW on.
            for tracker in trackers {
                let result: Int32 = tracker.queue.withWriteLock {
                    let capacity = tracker.device?.capacitySectors ?? tracker.cbt.capacitySectors
                    if tracker.cbt.isCorrupted || capacity != tracker.cbt.capacitySectors {
                        let reset = tracker.cbt.reset(capacitySectors: capacity)
                        // v5 leaves this queue frozen (Quirk.takeResetFailureLeavesQueueFrozen).
                        if reset != 0 { return reset }
                    }
                    tracker.cbt.switchNumbers()
                    tracker.snapshotIsTaken = true
                    return 0
                }
                if result != 0 {
                    failure = result
                    break
                }
            }
            // 5. All switched.
            if failure == 0 { isTaken = true }
            // 6. thaw_bdev: nothing to do.
            // 7. A reset failed: drop the diff areas (earlier members keep snapshot_is_taken).
            if failure != 0 {
                releaseDiffAreas()
                return failure
            }
            // 8. A diff area already corrupted.
            if trackers.contains(where: { $0.diffArea?.isCorrupted ?? false }) {
                releaseMembers()
                return -EFAULT
            }
            // 9. One image per member. add_disk fails EEXIST when the name is taken (a
            // re-attached device of another taken snapshot has the same image name).
            for tracker in trackers {
                guard let area = tracker.diffArea, let device = tracker.device else { continue }
                guard let image = blockLayer.addImage(original: device,
                                                      capacitySectors: tracker.cbt.capacitySectors,
                                                      diffArea: area, originalCBT: tracker.cbt) else {
                    // 10. BROKEN.
                    releaseMembers()
                    return -EEXIST
                }
                tracker.image = image
            }
            return 0
        }
    }

    // MARK: VAL-6.3.1 (field spec §1.4.6, §1.4.9, §1.8)

    /// CREATE's member list (`snapshot->tracker_array`): `tracker`, already owned by this
    /// snapshot (linked), becomes the next member. Only before the snapshot is listed.
    func appendVAL6Member(_ tracker: Tracker) {
        rwLock.withWriteLock { trackers.append(tracker) }
    }

    /// The members in CREATE order with their images (nil: not taken, or the image
    /// could not be created), as `COLLECT_IMAGES` and MARK_DIRTY_BLOCKS walk them.
    var val6Members: [(major: UInt32, minor: UInt32, image: GenDisk?)] {
        rwLock.withReadLock { trackers.map { ($0.major, $0.minor, $0.image) } }
    }

    /// The member tracker whose image is `major:minor` (MARK_DIRTY_BLOCKS of an image):
    /// `.found`, `.none`, or `.emptySlot` when the walk meets a member without an image
    /// before a match (the module dereferences that NULL slot and oopses, §1.4.5).
    enum ImageLookup {
        case found(CBTMap)
        case none
        case emptySlot
    }

    /// ``ImageLookup`` for the image `major:minor`, walking members in CREATE order.
    func val6ImageCBT(major: UInt32, minor: UInt32) -> ImageLookup {
        rwLock.withReadLock {
            for tracker in trackers {
                guard let image = tracker.image else { return .emptySlot }
                if image.major == major && image.minor == minor { return .found(tracker.cbt) }
            }
            return .none
        }
    }

    /// VAL-6.3.1's TAKE (`snapshot.c:snapshot_take`, §1.4.9). Returns the result and
    /// whether the caller must destroy the snapshot (unlink it from the list and drop
    /// the list's reference): a failing diff area, CBT reset or an already corrupted diff
    /// area destroys it; `EALREADY` and `ENODEV` do not; an image failure returns its
    /// error and leaves the snapshot TAKEN with the remaining image slots empty.
    ///
    /// Devices are switched one at a time (`BLK_SNAP_SEQUENTALFREEZE`, §1.8.2); the
    /// switch copies the read map first (``CowPolicy/cbtSwitchCopiesReadMapFirst``).
    func takeVAL6() -> (result: Int32, destroy: Bool) {
        let policy = CowPolicy.of(blockLayer.dialect)
        return rwLock.withWriteLock {
            if isTaken { return (-EALREADY, false) }
            if trackers.isEmpty { return (-ENODEV, false) }
            // diff_area_new per member: opens the original by dev_t, chunk size, storage.
            for tracker in trackers {
                guard let device = tracker.device, let disk = blockLayer.disk(major: tracker.major, minor: tracker.minor),
                      disk.device === device else {
                    return (-ENXIO, true)
                }
                do throws(SimErrno) {
                    tracker.diffArea = try DiffArea(original: device, capacitySectors: device.capacitySectors,
                                                    storage: storage, events: events, params: params, policy: policy)
                } catch {
                    return (-error.code, true)
                }
            }
            // Sequential: per member, under its queue freeze, reset if needed, switch, COW on.
            for tracker in trackers {
                let result: Int32 = tracker.queue.withWriteLock {
                    let capacity = tracker.device?.capacitySectors ?? tracker.cbt.capacitySectors
                    if tracker.cbt.isCorrupted || capacity != tracker.cbt.capacitySectors {
                        // The module then hangs with the global tracker lock held
                        // (Quirk.val6TakeResetFailureHangs); the simulator fails the take.
                        let reset = tracker.cbt.reset(capacitySectors: capacity)
                        if reset != 0 { return reset }
                    }
                    tracker.cbt.switchNumbers(copyingReadMapFirst: policy.cbtSwitchCopiesReadMapFirst)
                    tracker.snapshotIsTaken = true
                    return 0
                }
                if result != 0 { return (result, true) }
            }
            isTaken = true
            if trackers.contains(where: { $0.diffArea?.isCorrupted ?? false }) { return (-EFAULT, true) }
            for tracker in trackers {
                guard let area = tracker.diffArea, let device = tracker.device else { continue }
                guard let image = blockLayer.addImage(original: device, capacitySectors: tracker.cbt.capacitySectors,
                                                      diffArea: area, originalCBT: tracker.cbt) else {
                    return (-ENOSPC, false)  // idr_alloc: no minor left
                }
                tracker.image = image
            }
            return (0, false)
        }
    }

    /// Take step 2/7 failure path: release every diff area created so far.
    private func releaseDiffAreas() {
        for tracker in trackers {
            let area = tracker.diffArea
            tracker.diffArea = nil
            area?.release()
        }
    }

    /// Take step 10 failure path: remove images, stop COW, drop diff areas; `isTaken`
    /// stays set, so the snapshot is BROKEN (Quirk.brokenSnapshot). VAL-7.0 also removes
    /// the members, whose devices are then free for another snapshot (field spec §2.8.3).
    private func releaseMembers() {
        for tracker in trackers {
            if let image = tracker.image {
                blockLayer.remove(image)
                tracker.image = nil
            }
            tracker.releaseSnapshot()
        }
        if blockLayer.dialect == .val7 { unlinkMembers() }
    }

    /// Removes every member (VAL-7.0's `snapshot_release_trackers`).
    private func unlinkMembers() {
        for tracker in trackers { tracker.unlink() }
        trackers.removeAll()
    }

    /// The final release (§2.4), run by the last `put`.
    private func release() {
        rwLock.withWriteLock {
            for tracker in trackers {
                if let image = tracker.image {
                    blockLayer.remove(image)
                    tracker.image = nil
                }
                tracker.releaseSnapshot()
                tracker.unlink()
            }
            trackers.removeAll()
        }
        storage.release()
        events.clear()
    }
}

/// The global snapshot list (`snapshots` + `snapshots_lock`), in creation order.
/// The list holds one reference on each listed snapshot.
///
/// VAL-6.3.1's CREATE inserts with `list_add_tail`'s arguments swapped, which leaves the
/// list holding only the new snapshot (field spec §1.8.4): ``appendOrphaningOthers(_:)``
/// moves every listed snapshot to `orphans`, where it keeps its reference forever.
final class SnapshotList: @unchecked Sendable {
    private let lock = RWSemaphore()
    private var snapshots: [Snapshot] = []
    /// VAL-6.3.1: snapshots no walk from the list head reaches any more, never released.
    private var orphans: [Snapshot] = []

    /// Appends a new snapshot (its initial reference becomes the list's).
    func append(_ snapshot: Snapshot) { lock.withWriteLock { snapshots.append(snapshot) } }

    /// VAL-6.3.1's insert (`list_add_tail(&snapshots, &snapshot->link)`, Quirk.val6CreateOrphansOlder):
    /// the new snapshot becomes the only listed one; the others are orphaned, keeping
    /// their references (images, COW and device ownership stay).
    func appendOrphaningOthers(_ snapshot: Snapshot) {
        lock.withWriteLock {
            orphans.append(contentsOf: snapshots)
            snapshots = [snapshot]
        }
    }

    /// Number of orphaned snapshots (VAL-6.3.1, introspection).
    var orphanCount: Int { lock.withReadLock { orphans.count } }

    /// `snapshot_get_by_id`: the listed snapshot with a reference taken, or nil.
    func get(_ id: SimUUID) -> Snapshot? {
        lock.withReadLock {
            guard let snapshot = snapshots.first(where: { $0.id == id }) else { return nil }
            snapshot.get()
            return snapshot
        }
    }

    /// DESTROY: unlinks the snapshot and returns it (the caller drops the list's
    /// reference), or nil when no listed snapshot has this id.
    func unlink(_ id: SimUUID) -> Snapshot? {
        lock.withWriteLock {
            guard let index = snapshots.firstIndex(where: { $0.id == id }) else { return nil }
            return snapshots.remove(at: index)
        }
    }

    /// Runs `body` on the listed snapshots under the list's read lock.
    func withSnapshots<R>(_ body: ([Snapshot]) -> R) -> R { lock.withReadLock { body(snapshots) } }
}
