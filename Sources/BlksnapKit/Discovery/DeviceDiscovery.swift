#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Finds block devices on this machine: path ↔ device number, enumeration, and waiting
/// for a device node (a blksnap image, a new loop device) to appear or go away.
///
/// Works on the host's real devices, through `stat(2)` and libudev over sysfs; it needs
/// no `udevd` and no udev database. (Simulated devices live in the simulator's own
/// namespace and are not visible here.)
///
/// Owns a ``Udev`` context, so it is not `Sendable`: use one instance per task or
/// thread. Every method is synchronous; ``waitForNode(_:timeout:pollInterval:)`` and
/// ``waitForRemoval(_:timeout:pollInterval:)`` block the calling thread for at most
/// their timeout.
public final class DeviceDiscovery {
    /// The libudev context every lookup goes through.
    public let udev: Udev

    /// Whether waits may use a kernel-uevent monitor; tests clear it to exercise the
    /// polling fallback that unprivileged callers get.
    var usesKernelMonitor = true

    /// Creates a discovery object with a new ``Udev`` context.
    ///
    /// - Throws: ``DiscoveryError`` of kind `.udevUnavailable`.
    public convenience init() throws(DiscoveryError) {
        self.init(udev: try Udev())
    }

    /// Creates a discovery object over an existing context (owned by the same thread).
    public init(udev: Udev) {
        self.udev = udev
    }

    // MARK: - Lookups

    /// The device number of the block device node at `path`.
    ///
    /// `stat(2)`s the path (following symlinks such as `/dev/disk/by-id/…`), requires a
    /// block special file, and checks with libudev that the kernel knows that number
    /// (a stale node left by `mknod` is rejected).
    ///
    /// - Throws: ``DiscoveryError`` of kind `.statFailed` (errno of `stat`),
    ///   `.notABlockDevice` (`ENOTBLK`) or `.unknownDevice` (errno of libudev, e.g. `ENOENT`).
    public func deviceNumber(ofPath path: String) throws(DiscoveryError) -> DeviceNumber {
        try lookUpNode(path).record.deviceNumber
    }

    /// The device node path of the block device with this number, e.g. `/dev/loop0` for
    /// `7:0` (from `udev_device_new_from_devnum('b', …)`).
    ///
    /// - Throws: ``DiscoveryError`` of kind `.unknownDevice` when sysfs has no
    ///   `/sys/dev/block/MAJ:MIN`.
    public func devnodePath(of number: DeviceNumber) throws(DiscoveryError) -> String {
        try record(for: number).devnodePath
    }

    /// Everything sysfs says about the block device with this number.
    ///
    /// - Throws: ``DiscoveryError`` of kind `.unknownDevice`.
    public func record(for number: DeviceNumber) throws(DiscoveryError) -> BlockDeviceRecord {
        switch udev.blockDevice(number) {
        case .success(let device): return Self.record(of: device)
        case .failure(let errno): throw DiscoveryError(.unknownDevice, device: number.description, errno: errno)
        }
    }

    /// Everything sysfs says about the block device whose node is at `path`.
    ///
    /// - Throws: as ``deviceNumber(ofPath:)``.
    public func record(forPath path: String) throws(DiscoveryError) -> BlockDeviceRecord {
        try lookUpNode(path).record
    }

    /// A device as a user names it: `MAJ:MIN` (decimal) or a path.
    ///
    /// - Throws: as ``record(for:)`` or ``record(forPath:)``.
    public func resolve(_ device: String) throws(DiscoveryError) -> BlockDeviceRecord {
        if let number = DeviceNumber(parsing: device) { return try record(for: number) }
        return try record(forPath: device)
    }

    /// Every block device the kernel has (subsystem `block`: disks and partitions),
    /// ordered by device number.
    ///
    /// A device that disappears while the list is being read is left out.
    ///
    /// - Throws: ``DiscoveryError`` of kind `.enumerationFailed`.
    public func blockDevices() throws(DiscoveryError) -> [BlockDeviceRecord] {
        let syspaths: [String]
        switch udev.blockSyspaths() {
        case .success(let paths): syspaths = paths
        case .failure(let errno): throw DiscoveryError(.enumerationFailed, device: "block", errno: errno)
        }
        var records: [BlockDeviceRecord] = []
        for syspath in syspaths {
            guard case .success(let device) = udev.device(syspath: syspath), device.subsystem == "block" else {
                continue  // vanished between the scan and the lookup
            }
            records.append(Self.record(of: device))
        }
        return records.sorted { $0.deviceNumber < $1.deviceNumber }
    }

    // MARK: - Waiting

    /// Waits until a block device node appears, for at most `timeout`, and returns its record.
    ///
    /// Meant for nodes created by the kernel after a request, such as
    /// `/dev/blksnap-image_MAJ:MIN` after a snapshot is taken. The condition is checked
    /// at once (an existing node returns immediately), then again on every kernel uevent
    /// of the `block` subsystem, seen through a libudev monitor on source `"kernel"`
    /// (there is no `udevd` to relay events on source `"udev"`). Uevents are only a
    /// hint: the condition is also re-checked at least every 50 ms, and when the monitor
    /// cannot be created (not root, no netlink) the method polls sysfs and `/dev` every
    /// `pollInterval` instead.
    ///
    /// - Parameters:
    ///   - target: a node path, or a device number (see ``NodeWaitTarget``).
    ///   - timeout: the longest time to wait; zero checks once.
    ///   - pollInterval: the polling period when no monitor is available (default 5 ms).
    /// - Throws: ``DiscoveryError`` of kind `.timedOut` (`ETIMEDOUT`) naming the target,
    ///   or `.waitFailed` when polling the monitor fails.
    @discardableResult
    public func waitForNode(_ target: NodeWaitTarget, timeout: Duration,
                            pollInterval: Duration = .milliseconds(5)) throws(DiscoveryError) -> BlockDeviceRecord {
        var found: BlockDeviceRecord?
        try wait(for: target, timeout: timeout, pollInterval: pollInterval) {
            found = presentRecord(target)
            return found != nil
        }
        guard let found else { preconditionFailure("wait returned without its condition") }
        return found
    }

    /// Waits until a block device node is gone, for at most `timeout` (for example a
    /// snapshot image after the snapshot is destroyed).
    ///
    /// Gone means: for a path, no block special file there whose number the kernel knows;
    /// for a device number, no `/sys/dev/block/MAJ:MIN`. Same mechanism as
    /// ``waitForNode(_:timeout:pollInterval:)``.
    ///
    /// - Throws: ``DiscoveryError`` of kind `.timedOut` (`ETIMEDOUT`) or `.waitFailed`.
    public func waitForRemoval(_ target: NodeWaitTarget, timeout: Duration,
                               pollInterval: Duration = .milliseconds(5)) throws(DiscoveryError) {
        try wait(for: target, timeout: timeout, pollInterval: pollInterval) {
            switch target {
            case .path(let path): return (try? lookUpNode(path)) == nil
            case .deviceNumber(let number):
                if case .failure = udev.blockDevice(number) { return true }
                return false
            }
        }
    }

    /// The longest sleep between two checks while a monitor is listening.
    private static let monitorRecheckMilliseconds: CInt = 50

    /// The wait loop shared by both directions: monitor first (so no event between the
    /// first check and the first poll is lost), then check, then sleep or poll.
    private func wait(for target: NodeWaitTarget, timeout: Duration, pollInterval: Duration,
                      until satisfied: () -> Bool) throws(DiscoveryError) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: max(timeout, .zero))
        let monitor = usesKernelMonitor ? UdevMonitor(context: udev) : nil
        let pollMilliseconds = max(1, Self.milliseconds(roundingUp: pollInterval))
        while true {
            if satisfied() { return }
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero {
                throw DiscoveryError(.timedOut, device: target.description, errno: .timedOut)
            }
            let remainingMilliseconds = max(1, Self.milliseconds(roundingUp: remaining))
            if let monitor {
                do {
                    if try monitor.waitForEvent(timeoutMilliseconds: min(remainingMilliseconds, Self.monitorRecheckMilliseconds)) {
                        monitor.drain()
                    }
                } catch {
                    throw DiscoveryError(.waitFailed, device: target.description, errno: error)
                }
            } else {
                // At most one second per sleep, so the microsecond count cannot overflow.
                usleep(UInt32(min(remainingMilliseconds, pollMilliseconds, 1000)) * 1000)
            }
        }
    }

    /// The record for `target` if its node is present now, else nil.
    private func presentRecord(_ target: NodeWaitTarget) -> BlockDeviceRecord? {
        switch target {
        case .path(let path):
            return try? lookUpNode(path).record
        case .deviceNumber(let number):
            guard case .success(let device) = udev.blockDevice(number), let node = device.devnode,
                  let status = try? LinuxKernel().stat(node),
                  status.isBlockDevice, status.deviceNumber == number
            else { return nil }
            return Self.record(of: device)
        }
    }

    // MARK: - Building records

    /// `stat` + libudev lookup of a node path.
    private func lookUpNode(_ path: String) throws(DiscoveryError) -> (record: BlockDeviceRecord, status: KernelFileStatus) {
        let status: KernelFileStatus
        do {
            status = try LinuxKernel().stat(path)
        } catch {
            throw DiscoveryError(.statFailed, device: path, errno: error)
        }
        guard status.isBlockDevice else {
            throw DiscoveryError(.notABlockDevice, device: path, errno: .notBlockDevice)
        }
        switch udev.blockDevice(status.deviceNumber) {
        case .success(let device): return (Self.record(of: device), status)
        case .failure(let errno): throw DiscoveryError(.unknownDevice, device: path, errno: errno)
        }
    }

    /// Reads a record from a libudev device of the `block` subsystem.
    private static func record(of device: UdevDevice) -> BlockDeviceRecord {
        let sysname = device.sysname
        let isPartition = device.devtype == "partition"
        let parent = isPartition ? device.parentDisk() : nil
        // The request queue (and so the logical block size) belongs to the whole disk.
        let queueOwner = parent ?? device
        return BlockDeviceRecord(
            // The kernel's own rule when DEVNAME is missing: '!' in a name stands for '/'.
            devnodePath: device.devnode ?? "/dev/" + sysname.replacingOccurrences(of: "!", with: "/"),
            sysname: sysname,
            syspath: device.syspath,
            deviceNumber: device.deviceNumber,
            // sysfs `size` is always present for a block device; 0 only if it could not be read.
            capacitySectors: device.sysattr("size").flatMap(Self.number) ?? 0,
            // 512 is the kernel's default when a driver sets nothing.
            logicalBlockSizeBytes: queueOwner.sysattr("queue/logical_block_size").flatMap(Self.number)
                .flatMap { UInt32(exactly: $0) } ?? 512,
            isPartition: isPartition,
            wholeDisk: parent?.deviceNumber,
            wholeDiskSysname: parent?.sysname,
            filterName: device.sysattr("filter").map { $0.trimmingWhitespace() })
    }

    /// A decimal sysfs value, surrounding whitespace ignored.
    private static func number(_ text: String) -> UInt64? {
        UInt64(text.trimmingWhitespace())
    }

    /// Whole milliseconds in `duration`, rounded up, clamped to `CInt`.
    static func milliseconds(roundingUp duration: Duration) -> CInt {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        if seconds >= Int64(CInt.max / 1000) { return CInt.max }
        let perMillisecond: Int64 = 1_000_000_000_000_000
        let extra = (attoseconds + perMillisecond - 1) / perMillisecond
        return CInt(seconds * 1000 + extra)
    }
}

/// libudev handles must not cross threads.
@available(*, unavailable)
extension DeviceDiscovery: Sendable {}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines (sysfs values
    /// end with a newline).
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }),
              let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }

    /// Replaces every occurrence of one string by another (no Foundation).
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
