import SystemPackage

/// The check ``BlockDevice/attach()`` makes before `BLKFILTER_ATTACH`: a zero-sector
/// device is refused before the kernel sees it.
///
/// v5 sizes the CBT map from the capacity: for 0 sectors the allocation is a size-0
/// `vmalloc`, which fails with `ENOMEM` *and* prints a kernel WARNING with a call trace;
/// on a kernel with `panic_on_warn` that panics (§1.3, §12 fact 6). A zero-sector device
/// has nothing to track, so the guard refuses it.
public enum AttachGuard {
    /// Refuses a zero-sector device (``SafetyHazard/zeroSectorAttach``, `EINVAL`).
    ///
    /// The corresponding ioctl is `BLKGETSIZE64`.
    public static func check(_ device: BlockDevice) throws(BlksnapError) {
        if try device.capacityBytes() == 0 {
            throw .guarded(.zeroSectorAttach, .attachFilter,
                           "device \(device.path) has 0 sectors: v5 would fail with ENOMEM after a kernel WARNING (a panic under panic_on_warn); give the device a size first",
                           errno: .invalidArgument, devicePath: device.path)
        }
    }
}
