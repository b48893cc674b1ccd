#if canImport(Glibc)
import Glibc
#endif
import CUdev
import SystemPackage

/// A libudev monitor on the kernel's own uevents (source `"kernel"`), filtered to the
/// `block` subsystem; owned, not thread-safe.
///
/// The source is `"kernel"`, not `"udev"`: without a running `udevd` nothing is ever
/// rebroadcast on the `"udev"` source. Kernel uevents need root (or `CAP_NET_ADMIN` in
/// some setups) and may not reach a network namespace other than the initial one, so
/// callers must treat the monitor as a wake-up hint and re-check the condition anyway.
final class UdevMonitor {
    /// The owned monitor; released in `deinit`.
    let handle: OpaquePointer

    /// Creates, filters and enables the monitor, or returns nil when any step fails
    /// (no privilege, no netlink in this sandbox, …).
    init?(context: Udev) {
        guard let monitor = udev_monitor_new_from_netlink(context.handle, "kernel") else { return nil }
        guard udev_monitor_filter_add_match_subsystem_devtype(monitor, "block", nil) >= 0,
              udev_monitor_enable_receiving(monitor) >= 0,
              udev_monitor_get_fd(monitor) >= 0
        else {
            udev_monitor_unref(monitor)
            return nil
        }
        handle = monitor
    }

    deinit { udev_monitor_unref(handle) }

    /// The monitor's socket, for `poll(2)`. Non-blocking (libudev opens it that way).
    var fileDescriptor: CInt { udev_monitor_get_fd(handle) }

    /// Waits until an event is pending or `timeoutMilliseconds` pass.
    ///
    /// Returns true when an event is readable. EINTR counts as "no event" (the caller
    /// re-checks and loops); other errors are thrown.
    func waitForEvent(timeoutMilliseconds: CInt) throws(Errno) -> Bool {
        var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        let (ready, code) = Self.sysPoll(&descriptor, timeoutMilliseconds)
        if ready < 0 {
            if code == EINTR { return false }
            throw Errno(rawValue: code)
        }
        return ready > 0
    }

    /// Reads and discards every pending event (the caller re-checks sysfs itself, which
    /// also covers events that were merged or lost to a full socket buffer).
    func drain() {
        while let device = udev_monitor_receive_device(handle) {
            udev_device_unref(device)
        }
    }

    @inline(never)
    private static func sysPoll(_ descriptor: UnsafeMutablePointer<pollfd>, _ timeout: CInt) -> (CInt, CInt) {
        let ready = poll(descriptor, 1, timeout)
        return (ready, ready < 0 ? errno : 0)
    }
}

/// libudev handles must not cross threads.
@available(*, unavailable)
extension UdevMonitor: Sendable {}
