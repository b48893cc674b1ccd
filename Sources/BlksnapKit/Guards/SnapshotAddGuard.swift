import SystemPackage

/// `snapshotadd` that refuses a snapshot already taken.
///
/// v5 (and VAL-7.0, field spec §2.3) accepts `snapshotadd` after take with 0, but the device gets no difference area,
/// no image and no copy-on-write, and stays busy for other snapshots until destroy
/// (§2.2). Nothing in v5 says whether snapshot ID is taken without side effects (TAKE
/// would take it, WAIT_EVENT consumes an event). The guard infers it:
/// - no image exists anywhere → no snapshot is taken (a BROKEN snapshot, left by a
///   failed take, has no images and cannot be told apart: adding to it is just as useless);
/// - COLLECT lists only this snapshot and images exist → it is taken (an image held
///   alive by a waiter on a destroyed snapshot could mislead; rare);
/// - several snapshots and images exist → unknown: the images cannot be attributed.
/// Callers that know (their own records) pass `knownTaken`.
public enum SnapshotAddGuard {
    /// Whether a snapshot is taken, as far as it can be told without side effects.
    public enum TakenState: Sendable, Hashable {
        /// No image exists: no snapshot is taken.
        case notTaken
        /// The snapshot is taken.
        case taken
        /// Cannot be told: the reason.
        case unknown(String)
    }

    /// Infers whether `id` is taken (see the type's discussion).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_COLLECT`.
    public static func takenState(of id: SnapshotID, control: Control) throws(BlksnapError) -> TakenState {
        let inventory = DeviceInventory.read(from: control.kernel)
        guard inventory.isComplete else {
            return .unknown("the devices of this kernel cannot be listed")
        }
        if inventory.images.isEmpty { return .notTaken }
        let snapshots = try control.collectSnapshots()
        if snapshots == [id] { return .taken }
        if !snapshots.contains(id) { return .notTaken }  // the kernel answers ESRCH
        return .unknown("\(snapshots.count) snapshots exist and \(inventory.images.count) image(s): "
                        + "\(control.driver.abi.displayName) does not say which snapshot an image belongs to")
    }

    /// Adds `device` to snapshot `id` unless the snapshot is taken.
    ///
    /// - Parameters:
    ///   - device: the tracked device to add.
    ///   - id: the snapshot.
    ///   - control: the control device the snapshot's state is asked through.
    ///   - knownTaken: the caller's own knowledge; nil to infer it.
    /// - Returns: warnings (e.g. the state could not be told).
    /// - Throws: a ``SafetyHazard/addAfterTake`` refusal (`EALREADY`) without a kernel
    ///   call that changes anything, or the kernel's error.
    ///
    /// The corresponding ioctl is `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_snapshotadd`.
    @discardableResult
    public static func add(_ device: BlockDevice, to id: SnapshotID, control: Control,
                           knownTaken: Bool? = nil) throws(BlksnapError) -> [String] {
        let state: TakenState
        if let knownTaken {
            state = knownTaken ? .taken : .notTaken
        } else {
            state = try takenState(of: id, control: control)
        }
        var warnings: [String] = []
        switch state {
        case .taken:
            throw .guarded(.addAfterTake, .addToSnapshot,
                           "snapshot \(id) is already taken: \(control.driver.abi.displayName) would accept \(device.path) but "
                           + "give it no image and no copy-on-write, and keep it busy until destroy; create a new snapshot for it",
                           errno: .alreadyInProcess, devicePath: device.path, snapshotID: id)
        case .unknown(let reason):
            warnings.append("cannot tell whether snapshot \(id) is taken (\(reason)): if it is, \(device.path) gets no image")
        case .notTaken:
            break
        }
        try device.addToSnapshot(id)
        return warnings
    }
}
