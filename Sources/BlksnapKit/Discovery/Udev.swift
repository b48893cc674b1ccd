#if canImport(Glibc)
import Glibc
#endif
import CUdev
import SystemPackage

/// A libudev context (`struct udev *`), owned by one thread at a time.
///
/// libudev is not thread-safe, so this class is deliberately not `Sendable`: create one
/// per task or thread, and let every ``DeviceDiscovery`` own its own.
///
/// Only sysfs-backed data is used (devnode, sysname, device number, sysfs attributes):
/// it works without a running `udevd`, which is the normal case in containers and CI,
/// where the udev database (`ID_*` properties) is absent.
public final class Udev {
    /// The owned context; released in `deinit`.
    let handle: OpaquePointer

    /// Creates a context with `udev_new()`.
    ///
    /// - Throws: ``DiscoveryError`` of kind `.udevUnavailable` with the errno libudev set.
    public init() throws(DiscoveryError) {
        let (context, code) = Self.newContext()
        guard let context else {
            throw DiscoveryError(.udevUnavailable, device: "udev", errno: Errno(rawValue: code == 0 ? ENOMEM : code))
        }
        handle = context
    }

    deinit { udev_unref(handle) }

    /// The block device with this number, from `udev_device_new_from_devnum('b', …)`.
    ///
    /// Returns the device, or the errno libudev reported (`ENOENT`/`ENODEV` when sysfs
    /// has no `/sys/dev/block/MAJ:MIN`).
    func blockDevice(_ number: DeviceNumber) -> Result<UdevDevice, Errno> {
        let (device, code) = Self.newDevice(handle, dev_t(number.rawValue))
        guard let device else { return .failure(Errno(rawValue: code == 0 ? ENODEV : code)) }
        return .success(UdevDevice(adopting: device))
    }

    /// The device at a sysfs path, from `udev_device_new_from_syspath`.
    func device(syspath: String) -> Result<UdevDevice, Errno> {
        let (device, code) = syspath.withCString { cPath in
            let device = udev_device_new_from_syspath(handle, cPath)
            return (device, device == nil ? Glibc.errno : 0)
        }
        guard let device else { return .failure(Errno(rawValue: code == 0 ? ENODEV : code)) }
        return .success(UdevDevice(adopting: device))
    }

    /// The syspaths of every device of the `block` subsystem (disks and partitions).
    func blockSyspaths() -> Result<[String], Errno> {
        guard let enumerate = udev_enumerate_new(handle) else { return .failure(Errno(rawValue: Glibc.errno)) }
        defer { udev_enumerate_unref(enumerate) }
        var code = udev_enumerate_add_match_subsystem(enumerate, "block")
        if code < 0 { return .failure(Errno(rawValue: -code)) }
        code = udev_enumerate_scan_devices(enumerate)
        if code < 0 { return .failure(Errno(rawValue: -code)) }
        var paths: [String] = []
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            if let name = udev_list_entry_get_name(current) { paths.append(String(cString: name)) }
            entry = udev_list_entry_get_next(current)
        }
        return .success(paths)
    }

    @inline(never)
    private static func newContext() -> (OpaquePointer?, CInt) {
        let context = udev_new()
        return (context, context == nil ? Glibc.errno : 0)
    }

    @inline(never)
    private static func newDevice(_ context: OpaquePointer, _ number: dev_t) -> (OpaquePointer?, CInt) {
        let device = udev_device_new_from_devnum(context, CChar(UInt8(ascii: "b")), number)
        return (device, device == nil ? Glibc.errno : 0)
    }
}

/// libudev handles must not cross threads.
@available(*, unavailable)
extension Udev: Sendable {}
