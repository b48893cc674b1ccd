import BlksnapKit

/// What the VAL-6.x guards must know and the module cannot be asked, kept in
/// ``SnapshotRecords`` (shared by every process on the real kernel): one lock from "no
/// snapshot exists" to the request that relies on it (§1.8.4), one waiter per snapshot
/// (§1.5), and the storage appended to a snapshot not yet taken (§1.4.9). A separate
/// `blksnapctl snapshot take` therefore knows what `snapshot create` and
/// `snapshot append-storage` did.
struct VAL6Coordination: Sendable {
    let records: SnapshotRecords

    private static let storageKey = "storage-sectors"
    private static let waitLock = "wait"

    /// The lock held from the check that no snapshot exists to the create.
    func withLifecycleLock<Value: Sendable>(_ body: () throws(BlksnapError) -> Value) throws(BlksnapError) -> Value {
        try records.withLock("lifecycle", body)
    }

    /// Registers the caller as the one waiter on `id`; nil when another thread (or, on
    /// the real kernel, another process) already waits on it.
    func beginWaiting(_ id: SnapshotID) -> SnapshotRecords.HeldLock? {
        records.tryLock("\(id).\(Self.waitLock)")
    }

    /// Ends ``beginWaiting(_:)``.
    func endWaiting(_ waiter: SnapshotRecords.HeldLock) { records.release(waiter) }

    /// Records that `id` was created with no storage yet.
    func created(_ id: SnapshotID) {
        records.update(Self.storageKey, of: id) { _ in ["0"] }
    }

    /// Adds `sectors` to what `id` holds, if its create was recorded.
    func appended(_ sectors: UInt64, to id: SnapshotID) {
        records.update(Self.storageKey, of: id) { lines in
            guard let before = lines?.first.flatMap({ UInt64($0) }) else { return lines }
            let (sum, overflow) = before.addingReportingOverflow(sectors)
            return [String(overflow ? .max : sum)]
        }
    }

    /// The sectors appended to `id` since its create, or nil when its create was not
    /// recorded (created by another tool, or already taken).
    func appendedSectors(_ id: SnapshotID) -> UInt64? {
        records.lines(Self.storageKey, of: id)?.first.flatMap { UInt64($0) }
    }

    /// Forgets `id` (taken or destroyed).
    func forget(_ id: SnapshotID) {
        records.forget(id, keys: [Self.storageKey], locks: [Self.waitLock])
    }
}
