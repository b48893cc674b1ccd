#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Waits for snapshot image nodes to appear (after take) and to vanish (after destroy).
///
/// The real kernel's nodes are watched through udev/sysfs (``DiscoveryImageWatcher``);
/// a simulator's exist only in its namespace and are polled with its `stat`
/// (``KernelStatImageWatcher``).
public protocol ImageNodeWatcher {
    /// Returns once `path` is a block device node, or throws `ETIMEDOUT` after `timeout`.
    func waitForNode(_ path: String, timeout: Duration) throws(Errno)
    /// Returns once `path` is gone, or throws `ETIMEDOUT` after `timeout`.
    func waitForRemoval(_ path: String, timeout: Duration) throws(Errno)
}

/// Polls a ``KernelInterface``'s `stat` (every 2 ms): works for the simulator in
/// process, a simulator client, and the real kernel alike.
public struct KernelStatImageWatcher: ImageNodeWatcher {
    /// The kernel whose namespace holds the images.
    public let kernel: any KernelInterface

    /// Creates a watcher over `kernel`.
    public init(kernel: any KernelInterface) { self.kernel = kernel }

    /// Polls until `stat` finds a block device at `path`.
    public func waitForNode(_ path: String, timeout: Duration) throws(Errno) {
        try poll(timeout) { (try? kernel.stat(path))?.isBlockDevice == true }
    }

    /// Polls until `stat` fails with `ENOENT`.
    public func waitForRemoval(_ path: String, timeout: Duration) throws(Errno) {
        try poll(timeout) {
            let result = Result { () throws(Errno) -> KernelFileStatus in try kernel.stat(path) }
            if case .failure(let error) = result { return error == Errno.noSuchFileOrDirectory }
            return false
        }
    }

    private func poll(_ timeout: Duration, _ done: () -> Bool) throws(Errno) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !done() {
            if clock.now >= deadline { throw .timedOut }
            usleep(2000)
        }
    }
}

/// Watches the host's nodes with ``DeviceDiscovery`` (kernel uevents, sysfs); for the
/// real kernel.
public struct DiscoveryImageWatcher: ImageNodeWatcher {
    /// Creates a watcher (a libudev context is made per wait, on the waiting thread).
    public init() {}

    /// ``DeviceDiscovery/waitForNode(_:timeout:pollInterval:)`` on the path.
    public func waitForNode(_ path: String, timeout: Duration) throws(Errno) {
        do {
            try DeviceDiscovery().waitForNode(.path(path), timeout: timeout)
        } catch {
            throw error.errno
        }
    }

    /// ``DeviceDiscovery/waitForRemoval(_:timeout:pollInterval:)`` on the path.
    public func waitForRemoval(_ path: String, timeout: Duration) throws(Errno) {
        do {
            try DeviceDiscovery().waitForRemoval(.path(path), timeout: timeout)
        } catch {
            throw error.errno
        }
    }
}
