/// A way a blksnap module stops protecting a snapshot (or harms the system) without an
/// error: the silent failure modes that BlksnapKit's guards refuse or report.
///
/// Each case names the spec section that describes the kernel's behaviour. The
/// ``category`` says whether a guard *refuses* a request before it reaches the kernel
/// (CLI exit 1) or *reports* a loss of protection that already happened
/// (corruption-class, CLI exit 65).
@frozen
public enum SafetyHazard: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Detaching the filter of a device that belongs to a live snapshot (§2.1): v5 never
    /// refuses; the image silently stops being a point-in-time copy.
    case detachMember
    /// A member of a taken snapshot is no longer intercepted: detached (or detached and
    /// re-attached) after take, or detached between add and take (§2.1).
    case unprotectedMember
    /// A member grew or shrank after take, or one write past its old end corrupted its
    /// CBT, which disables copy-on-write without an event (§3.5).
    case resizedMember
    /// `snapshotadd` to an already taken snapshot: accepted (0) but no image, no COW,
    /// the device stays busy until destroy (§2.2).
    case addAfterTake
    /// `BLKFILTER_ATTACH` of a zero-sector device: `ENOMEM` plus a kernel WARNING
    /// (a panic under `panic_on_warn`) (§1.3, §12 fact 6).
    case zeroSectorAttach
    /// Difference storage on a snapshotted or tracked device, or on its partition or
    /// whole disk: storage writes bypass the filter, so they are neither CBT-marked nor
    /// copied (§4.5).
    case storageOnTrackedDevice
    /// Storage ranges past the end of the storage device, misaligned to its logical
    /// block size, or overlapping: the kernel accepts them and fails stores later with
    /// `EIO` (§1.2 APPEND_STORAGE, §4.7).
    case storageRange
    /// A storage device whose logical block size is larger than a member's: every store
    /// fails with `ENOTBLK` and corrupts the snapshot (§4.7).
    case storageBlockSize
    /// VAL-7.0: the device holding a snapshot's storage added to it — accepted and
    /// ignored for file and block-device storage (no image, no protection), an ordinary
    /// member copying its own storage for range storage (field spec §2.3, §6 #10).
    case storageDeviceAdded
    /// VAL-6.x: a second snapshot while one exists orphans the older for good — its
    /// devices stay owned until reboot and unloading the module hangs (field spec §1.8.4).
    case secondSnapshot
    /// VAL-6.x: a storage range whose start is not a multiple of 8 sectors is accepted
    /// and corrupts the snapshot at its first copy-on-write (field spec §1.4.8).
    case misalignedStorageRange
    /// VAL-6.x: the devices of a multi-device snapshot are switched one at a time, so
    /// their images are not one point in time (field spec §1.8.2).
    case sequentialMultiDeviceTake
    /// VAL-6.x: a second waiter on one snapshot's events corrupts the kernel's event
    /// list (field spec §1.5).
    case concurrentWaiter
    /// VAL-6.x: removing a member's tracker before take is accepted and the image is
    /// then never copy-on-write protected (field spec §1.4.2).
    case removeMemberBeforeTake
    /// VAL-6.x: a take without storage fails and destroys the snapshot (field spec §1.4.9).
    case takeWithoutStorage

    /// The spec section describing the kernel's behaviour (`blksnap-v5.md`, or the named
    /// module's section of `veeam-field-modules.md`).
    public var specSection: String {
        switch self {
        case .detachMember, .unprotectedMember: return "§2.1"
        case .resizedMember: return "§3.5"
        case .addAfterTake: return "§2.2"
        case .zeroSectorAttach: return "§1.3, §12"
        case .storageOnTrackedDevice: return "§4.5"
        case .storageRange: return "§1.2, §4.7"
        case .storageBlockSize: return "§4.7"
        case .storageDeviceAdded: return "VAL-7.0 §2.3, §6 #10"
        case .secondSnapshot: return "VAL-6.x §1.8.4"
        case .misalignedStorageRange: return "VAL-6.x §1.4.8"
        case .sequentialMultiDeviceTake: return "VAL-6.x §1.8.2"
        case .concurrentWaiter: return "VAL-6.x §1.5"
        case .removeMemberBeforeTake: return "VAL-6.x §1.4.2"
        case .takeWithoutStorage: return "VAL-6.x §1.4.9"
        }
    }

    /// Whether the guard refuses a request or reports protection already lost.
    public var category: BlksnapErrorCategory {
        switch self {
        case .unprotectedMember, .resizedMember: return .corrupted
        default: return .refused
        }
    }

    /// A short name, e.g. `detach-member`.
    public var description: String {
        switch self {
        case .detachMember: return "detach-member"
        case .unprotectedMember: return "unprotected-member"
        case .resizedMember: return "resized-member"
        case .addAfterTake: return "add-after-take"
        case .zeroSectorAttach: return "zero-sector-attach"
        case .storageOnTrackedDevice: return "storage-on-tracked-device"
        case .storageRange: return "storage-range"
        case .storageBlockSize: return "storage-block-size"
        case .storageDeviceAdded: return "storage-device-added"
        case .secondSnapshot: return "second-snapshot"
        case .misalignedStorageRange: return "misaligned-storage-range"
        case .sequentialMultiDeviceTake: return "sequential-multi-device-take"
        case .concurrentWaiter: return "concurrent-waiter"
        case .removeMemberBeforeTake: return "remove-member-before-take"
        case .takeWithoutStorage: return "take-without-storage"
        }
    }
}
