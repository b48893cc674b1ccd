import Synchronization
import SystemPackage

/// The blksnap control device: version, snapshot lifecycle, difference storage and
/// events, over the module's driver (``BlksnapDriver``: v5's `/dev/blksnap-control` by
/// default, or the driver of the module that is loaded).
///
/// Opened through any ``KernelInterface`` (the real kernel, the in-process simulator
/// or a simulator client) and closed by ``close()`` or when the value goes away.
/// Every method throws ``BlksnapError`` naming the request, the snapshot and the errno.
public final class Control: Sendable {
    /// Path of v5's control device: `/dev/` + `BLKSNAP_CTL`.
    public static let defaultPath = V5Driver.defaultControlPath

    /// The driver all requests go through.
    public let driver: any BlksnapDriver
    /// The kernel this control device belongs to.
    public var kernel: any KernelInterface { driver.kernel }
    /// The path that was opened.
    public var path: String { driver.controlPath }

    private let isClosed = Atomic<Bool>(false)

    /// Opens v5's control device.
    ///
    /// A missing node (`ENOENT`, `ENXIO`, `ENODEV`) means the blksnap module is not
    /// loaded: the error's category is ``BlksnapErrorCategory/moduleUnavailable``.
    public convenience init(kernel: any KernelInterface = LinuxKernel(), path: String = Control.defaultPath) throws(BlksnapError) {
        try self.init(driver: V5Driver(kernel: kernel, controlPath: path))
    }

    /// Opens the control device of `driver`'s module now.
    public init(driver: any BlksnapDriver) throws(BlksnapError) {
        self.driver = driver
        try driver.openControl()
    }

    /// Closes the control device (and the driver's other nodes). Further calls on this
    /// value fail with `EBADF`; closing twice does nothing. A new ``Control`` or
    /// ``BlockDevice`` on the same driver opens the nodes again.
    public func close() throws(BlksnapError) {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try driver.closeControl()
    }

    /// `EBADF` once ``close()`` was called.
    private func checkOpen(_ operation: BlksnapOperation, snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        if isClosed.load(ordering: .acquiring) {
            throw .invalidRequest(operation, "\(path) was already closed", errno: .badFileDescriptor,
                                  devicePath: path, snapshotID: snapshotID)
        }
    }

    // MARK: - Requests

    /// The module's version (v5 reports 2.0.0.0, VAL-6.x 1.0.0.0, VAL-7.0 7.0.0.0).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_VERSION`.
    public func version() throws(BlksnapError) -> Version {
        try checkOpen(.version)
        return try driver.version()
    }

    /// Creates an empty snapshot and returns its id (v5's CREATE; on the other ABIs a
    /// snapshot with no devices and range storage, see ``createSnapshot(_:)``).
    ///
    /// v5 queues a `low_free_space` event at creation, so the first ``waitEvent(_:timeoutTicks:)``
    /// returns at once.
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_CREATE`.
    public func createSnapshot() throws(BlksnapError) -> SnapshotID {
        try checkOpen(.createSnapshot)
        return try driver.createSnapshot(SnapshotCreation())
    }

    /// Creates a snapshot with what the module's ABI takes at create: the devices
    /// (VAL-6.x fixes them here) and the storage form (VAL-7.0 chooses it here).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_CREATE`.
    public func createSnapshot(_ creation: SnapshotCreation) throws(BlksnapError) -> SnapshotID {
        try checkOpen(.createSnapshot)
        return try driver.createSnapshot(creation)
    }

    /// Destroys a snapshot: its images disappear, its difference storage is released.
    /// Trackers stay attached and keep their CBT.
    ///
    /// An unknown id fails with `ENODEV` (not `ESRCH`).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_DESTROY`.
    public func destroySnapshot(_ id: SnapshotID) throws(BlksnapError) {
        try checkOpen(.destroySnapshot, snapshotID: id)
        try driver.destroySnapshot(id)
    }

    /// Appends sector ranges of a block device to a snapshot's difference storage, after
    /// the checks the module leaves out (``StorageGuard``): ranges inside the device and
    /// aligned to its logical blocks, not overlapping, not on a tracked device or a
    /// member, a block size the members can use. Returns the guard's warnings.
    ///
    /// The kernel opens `devicePath` itself (in its own namespace). `ranges` may be empty
    /// (the device is just opened; this also re-arms the low-space event when capacity
    /// already covers the requested total).
    ///
    /// - Parameters:
    ///   - id: the snapshot, created and not taken yet.
    ///   - devicePath: the storage device, as the kernel will open it.
    ///   - ranges: the sector ranges of `devicePath` to append (may be empty).
    ///   - allowSameDevice: allow storage on a tracked device or a member (a warning only).
    ///   - knownMembers: node paths of devices the caller knows are in the snapshot.
    /// - Throws: the guard's refusal (``BlksnapError/hazard``, with `id`), or the
    ///   module's errno.
    ///
    /// The corresponding ioctls are `BLKGETSIZE64`, `BLKSSZGET`, `BLKFILTER_CTL`
    /// snapshotinfo (reads), then `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE`.
    @discardableResult
    public func appendStorage(_ id: SnapshotID, devicePath: String, ranges: [SectorRange],
                              allowSameDevice: Bool = false, knownMembers: [String] = []) throws(BlksnapError) -> [String] {
        try checkOpen(.appendStorage, snapshotID: id)
        let warnings: [String]
        do {
            warnings = try StorageGuard.check(driver: driver, devicePath: devicePath, ranges: ranges,
                                              allowSameDevice: allowSameDevice, knownMembers: knownMembers)
        } catch {
            var refusal = error
            refusal.snapshotID = id
            throw refusal
        }
        try driver.appendStorage(id, devicePath: devicePath, ranges: ranges)
        return warnings
    }

    /// `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE` without ``appendStorage(_:devicePath:ranges:allowSameDevice:knownMembers:)``'s
    /// checks: the module takes any ranges and fails later (§1.2). For conformance runs,
    /// tests of the module's own answers, and callers that ran ``StorageGuard`` themselves.
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE`.
    public func appendStorageUnchecked(_ id: SnapshotID, devicePath: String, ranges: [SectorRange]) throws(BlksnapError) {
        try checkOpen(.appendStorage, snapshotID: id)
        try driver.appendStorage(id, devicePath: devicePath, ranges: ranges)
    }

    /// Takes the snapshot: every member device is frozen, its CBT switched, and an image
    /// appears for each (v5: `/dev/blksnap-image_<major>:<minor>`).
    ///
    /// Needs at least one device (`ENODEV`) and, on v5, appended storage (`EFAULT`).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_TAKE`.
    public func takeSnapshot(_ id: SnapshotID) throws(BlksnapError) {
        try checkOpen(.takeSnapshot, snapshotID: id)
        try driver.takeSnapshot(id)
    }

    /// The ids of all snapshots, in creation order.
    ///
    /// Asks for the count first (`ids = 0`), then for that many ids. v5 does not
    /// report the needed size when the array is too small: it fills the array and
    /// fails with `ENODATA`. When that happens (a snapshot was created in between) the
    /// partial list is thrown away and the protocol restarts, up to `attempts` times.
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_COLLECT`.
    public func collectSnapshots(attempts: Int = 8) throws(BlksnapError) -> [SnapshotID] {
        try checkOpen(.collectSnapshots)
        return try driver.collectSnapshots(attempts: attempts)
    }

    /// The largest `timeout_ms` one WAIT_EVENT may carry: 2^31 − 1 ticks.
    ///
    /// v5 keeps the remaining time of the wait in an `int` (spec §12.1 item 10): with
    /// 2^31 ticks or more, an event already queued makes the call fail (EPERM for
    /// `UInt32.max`, the event stays queued), a later event gives a meaningless errno
    /// (678 seen) or oopses the kernel and kills the caller. Every wait of this type is
    /// therefore sent as a series of waits of at most this many ticks.
    public static let maximumTimeoutTicks: UInt32 = 0x7FFF_FFFF

    /// Waits for the next event of a snapshot.
    ///
    /// - Parameters:
    ///   - id: the snapshot.
    ///   - timeoutTicks: the wait limit in kernel **jiffies**. The v5 field is
    ///     called `timeout_ms`, but the kernel passes it to its wait primitive as jiffies
    ///     (HZ per second, 250 on common distribution kernels). Convert milliseconds with
    ///     ``ticks(milliseconds:hz:)`` or call ``waitEvent(_:timeoutMilliseconds:hz:)``.
    ///     0 polls. A value above ``maximumTimeoutTicks`` is never sent as is (v5 would
    ///     fail or crash, §12.1 item 10): it is split into consecutive waits of at most
    ///     ``maximumTimeoutTicks`` that together last as long.
    /// - Returns: the event, or nil when none arrived before the timeout (the kernel's `ENOENT`).
    /// - Throws: `ESRCH` for an unknown (or destroyed) snapshot, `EINTR` when a signal
    ///   ended the wait (not restarted: the caller decides; a split wait ends at once).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT`.
    public func waitEvent(_ id: SnapshotID, timeoutTicks: UInt32) throws(BlksnapError) -> SnapshotEvent? {
        try boundedWaits(id, totalTicks: UInt64(timeoutTicks))
    }

    /// Waits for the next event of a snapshot, with the timeout in milliseconds,
    /// converted to jiffies for a kernel running at `hz` ticks per second (rounded up).
    /// A wait longer than ``maximumTimeoutTicks`` is split like in
    /// ``waitEvent(_:timeoutTicks:)``; nothing is clamped.
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT`.
    public func waitEvent(_ id: SnapshotID, timeoutMilliseconds: UInt64, hz: UInt32 = 250) throws(BlksnapError) -> SnapshotEvent? {
        try boundedWaits(id, totalTicks: Self.totalTicks(milliseconds: timeoutMilliseconds, hz: hz))
    }

    /// Waits for the next event of a snapshot with no time limit: consecutive waits of
    /// ``maximumTimeoutTicks`` each, until an event arrives.
    ///
    /// - Returns: the event.
    /// - Throws: `ESRCH` for an unknown (or destroyed) snapshot, `EINTR` when a signal
    ///   ended the wait (at once, not restarted).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT`.
    public func waitEventWithoutTimeout(_ id: SnapshotID) throws(BlksnapError) -> SnapshotEvent {
        while true {
            if let event = try singleWait(id, timeoutTicks: Self.maximumTimeoutTicks) { return event }
        }
    }

    /// Milliseconds converted to jiffies at `hz` ticks per second, rounded up and
    /// saturated at `UInt32.max` (the width of `timeout_ms`). The result can exceed
    /// ``maximumTimeoutTicks``: ``waitEvent(_:timeoutTicks:)`` splits such a wait.
    public static func ticks(milliseconds: UInt64, hz: UInt32) -> UInt32 {
        UInt32(clamping: totalTicks(milliseconds: milliseconds, hz: hz))
    }

    /// Milliseconds converted to jiffies, rounded up, saturated at `UInt64.max` only.
    static func totalTicks(milliseconds: UInt64, hz: UInt32) -> UInt64 {
        let (product, overflow) = milliseconds.multipliedReportingOverflow(by: UInt64(hz))
        if overflow { return .max }
        return product / 1000 + (product % 1000 == 0 ? 0 : 1)
    }

    /// Waits of at most ``maximumTimeoutTicks`` each, `totalTicks` in all, until one
    /// returns an event. A total of 0 is one poll. An error (EINTR included) ends the
    /// series at once.
    private func boundedWaits(_ id: SnapshotID, totalTicks: UInt64) throws(BlksnapError) -> SnapshotEvent? {
        var remaining = totalTicks
        repeat {
            let slice = UInt32(min(remaining, UInt64(Self.maximumTimeoutTicks)))
            if let event = try singleWait(id, timeoutTicks: slice) { return event }
            remaining -= UInt64(slice)
        } while remaining != 0
        return nil
    }

    /// One WAIT_EVENT with `timeoutTicks` ≤ ``maximumTimeoutTicks``.
    private func singleWait(_ id: SnapshotID, timeoutTicks: UInt32) throws(BlksnapError) -> SnapshotEvent? {
        try checkOpen(.waitEvent, snapshotID: id)
        return try driver.waitEventOnce(id, timeoutTicks: timeoutTicks)
    }
}
