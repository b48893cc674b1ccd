import CUdev

/// One libudev device (`struct udev_device *`), owned; not thread-safe.
///
/// Keeps its context alive through libudev's own reference counting (a device holds a
/// reference on its `struct udev`).
final class UdevDevice {
    /// The owned device; released in `deinit`.
    let handle: OpaquePointer

    /// Takes ownership of a reference returned by a `udev_device_new_*` call.
    init(adopting handle: OpaquePointer) { self.handle = handle }

    deinit { udev_device_unref(handle) }

    /// The kernel name, e.g. `loop0` or `sda1`.
    var sysname: String { udev_device_get_sysname(handle).map { String(cString: $0) } ?? "" }

    /// The sysfs path, e.g. `/sys/devices/virtual/block/loop0`.
    var syspath: String { udev_device_get_syspath(handle).map { String(cString: $0) } ?? "" }

    /// The device node, e.g. `/dev/loop0` (from `DEVNAME` in sysfs `uevent`), if any.
    var devnode: String? { udev_device_get_devnode(handle).map { String(cString: $0) } }

    /// The subsystem, `block` for block devices.
    var subsystem: String? { udev_device_get_subsystem(handle).map { String(cString: $0) } }

    /// The device type within the subsystem: `disk` or `partition` for block devices.
    var devtype: String? { udev_device_get_devtype(handle).map { String(cString: $0) } }

    /// The device number.
    var deviceNumber: DeviceNumber { DeviceNumber(rawValue: UInt64(udev_device_get_devnum(handle))) }

    /// A sysfs attribute's value (read from sysfs each time it is first asked), or nil
    /// when the attribute does not exist. `name` may contain `/` (`queue/logical_block_size`).
    func sysattr(_ name: String) -> String? {
        udev_device_get_sysattr_value(handle, name).map { String(cString: $0) }
    }

    /// The whole disk a partition belongs to, or nil for a whole disk.
    func parentDisk() -> UdevDevice? {
        // The parent is owned by the child: take our own reference.
        guard let parent = udev_device_get_parent_with_subsystem_devtype(handle, "block", "disk"),
              let owned = udev_device_ref(parent) else { return nil }
        return UdevDevice(adopting: owned)
    }
}
