#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBlksnapUAPI
import SystemPackage

/// The blksnap control device, `/dev/blksnap-control`: version, snapshot lifecycle,
/// difference storage and events.
///
/// Opened through any ``KernelInterface`` (the real kernel, the in-process simulator
/// or a simulator client) and closed by ``close()`` or when the value goes away.
/// Every method throws ``BlksnapError`` naming the request, the snapshot and the errno.
public final class Control: Sendable {
    /// Path of the control device: `/dev/` + `BLKSNAP_CTL`.
    public static let defaultPath = "/dev/blksnap-control"

    /// The kernel this control device belongs to.
    public var kernel: any KernelInterface { descriptor.kernel }
    /// The path that was opened.
    public var path: String { descriptor.path }

    private let descriptor: OpenDescriptor

    /// Opens the control device.
    ///
    /// A missing node (`ENOENT`, `ENXIO`, `ENODEV`) means the blksnap module is not
    /// loaded: the error's category is ``BlksnapErrorCategory/moduleUnavailable``.
    public init(kernel: any KernelInterface = LinuxKernel(), path: String = Control.defaultPath) throws(BlksnapError) {
        self.descriptor = try OpenDescriptor(kernel: kernel, path: path, flags: O_RDWR, operation: .openControl)
    }

    /// Closes the control device. Further calls fail with `EBADF`; closing twice does nothing.
    public func close() throws(BlksnapError) {
        try descriptor.close()
    }

    // MARK: - Requests

    /// The module's version (v5 reports 2.0.0.0).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_VERSION`.
    public func version() throws(BlksnapError) -> Version {
        var version = blksnap_version()
        try perform(.version, BLKSNAP_REQ_VERSION, on: &version)
        return Version(version)
    }

    /// Creates an empty snapshot and returns its id.
    ///
    /// v5 queues a `low_free_space` event at creation, so the first ``waitEvent(_:timeoutTicks:)``
    /// returns at once.
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_CREATE`.
    public func createSnapshot() throws(BlksnapError) -> SnapshotID {
        var uuid = blksnap_uuid()
        try perform(.createSnapshot, BLKSNAP_REQ_SNAPSHOT_CREATE, on: &uuid)
        return SnapshotID(uuid)
    }

    /// Destroys a snapshot: its images disappear, its difference storage is released.
    /// Trackers stay attached and keep their CBT.
    ///
    /// An unknown id fails with `ENODEV` (not `ESRCH`) in v5.
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_DESTROY`.
    public func destroySnapshot(_ id: SnapshotID) throws(BlksnapError) {
        var uuid = id.uuid
        try perform(.destroySnapshot, BLKSNAP_REQ_SNAPSHOT_DESTROY, on: &uuid, snapshotID: id)
    }

    /// Appends sector ranges of a block device to a snapshot's difference storage.
    ///
    /// The kernel opens `devicePath` itself (in its own namespace) and does not check
    /// the ranges against the device's size or block size. `ranges` may be empty (the
    /// device is just opened; this also re-arms the low-space event when capacity
    /// already covers the requested total).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE`.
    public func appendStorage(_ id: SnapshotID, devicePath: String, ranges: [SectorRange]) throws(BlksnapError) {
        guard !devicePath.isEmpty, !devicePath.utf8.contains(0) else {
            throw .invalidRequest(.appendStorage, "the storage device path is empty or contains a NUL byte",
                                  devicePath: devicePath, snapshotID: id)
        }
        var path = Array(devicePath.utf8CString)  // NUL included: bdev_path_size = strlen + 1
        guard let pathSize = UInt32(exactly: path.count), let count = UInt32(exactly: ranges.count) else {
            throw .invalidRequest(.appendStorage, "the path or the range list is too long",
                                  devicePath: devicePath, snapshotID: id)
        }
        var sectors = ranges.map(\.sectors)
        var argument = blksnap_snapshot_append_storage()
        argument.id = id.uuid
        argument.bdev_path_size = pathSize
        argument.count = count
        let fd = try descriptor.descriptor(for: .appendStorage, snapshotID: id)
        let result = path.withUnsafeMutableBufferPointer { pathBuffer in
            sectors.withUnsafeMutableBufferPointer { rangeBuffer in
                argument.bdev_path = userAddress(pathBuffer.baseAddress)
                argument.ranges = rangeBuffer.isEmpty ? 0 : userAddress(rangeBuffer.baseAddress)
                return kernel.ioctlResult(fd, BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, on: &argument)
            }
        }
        try check(result, .appendStorage, devicePath: devicePath, snapshotID: id)
    }

    /// Takes the snapshot: every member device is frozen, its CBT switched, and an image
    /// `/dev/blksnap-image_<major>:<minor>` appears for each.
    ///
    /// Needs at least one device (`ENODEV`) and appended storage (`EFAULT`).
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_TAKE`.
    public func takeSnapshot(_ id: SnapshotID) throws(BlksnapError) {
        var uuid = id.uuid
        try perform(.takeSnapshot, BLKSNAP_REQ_SNAPSHOT_TAKE, on: &uuid, snapshotID: id)
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
        let fd = try descriptor.descriptor(for: .collectSnapshots)
        var lastError = Errno.noData
        for _ in 0..<max(1, attempts) {
            var query = blksnap_snapshot_collect()
            query.count = 0
            query.ids = 0
            try check(kernel.ioctlResult(fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &query), .collectSnapshots)
            let expected = Int(query.count)
            if expected == 0 { return [] }

            var ids = [blksnap_uuid](repeating: blksnap_uuid(), count: expected)
            var request = blksnap_snapshot_collect()
            request.count = UInt32(expected)
            let result = ids.withUnsafeMutableBufferPointer { buffer in
                request.ids = userAddress(buffer.baseAddress)
                return kernel.ioctlResult(fd, BLKSNAP_REQ_SNAPSHOT_COLLECT, on: &request)
            }
            switch result {
            case .success:
                let written = min(Int(request.count), expected)
                return ids[0..<written].map(SnapshotID.init)
            case .failure(let error) where error == .noData:
                lastError = error  // the list grew between the two calls: ask again
            case .failure(let error):
                throw BlksnapError(operation: .collectSnapshots, errno: error)
            }
        }
        throw BlksnapError(operation: .collectSnapshots, errno: lastError)
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
        precondition(timeoutTicks <= Self.maximumTimeoutTicks, "WAIT_EVENT timeout above 2^31-1 ticks crashes v5")
        let fd = try descriptor.descriptor(for: .waitEvent, snapshotID: id)
        let event = UnsafeMutablePointer<blksnap_snapshot_event>.allocate(capacity: 1)
        defer { event.deallocate() }
        event.initialize(to: blksnap_snapshot_event())
        event.pointee.id = id.uuid
        event.pointee.timeout_ms = timeoutTicks
        switch kernel.ioctlResult(fd, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, UnsafeMutableRawPointer(event)) {
        case .success:
            return SnapshotEvent(event.pointee)
        case .failure(let error) where error == .noSuchFileOrDirectory:
            return nil
        case .failure(let error):
            throw BlksnapError(operation: .waitEvent, errno: error, snapshotID: id)
        }
    }

    // MARK: - Plumbing

    private func perform<T>(_ operation: BlksnapOperation, _ request: UInt, on value: inout T,
                            snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        let fd = try descriptor.descriptor(for: operation, snapshotID: snapshotID)
        try check(kernel.ioctlResult(fd, request, on: &value), operation, snapshotID: snapshotID)
    }

    private func check(_ result: Result<CInt, Errno>, _ operation: BlksnapOperation,
                       devicePath: String? = nil, snapshotID: SnapshotID? = nil) throws(BlksnapError) {
        if case .failure(let error) = result {
            throw BlksnapError(operation: operation, errno: error, devicePath: devicePath, snapshotID: snapshotID)
        }
    }
}
