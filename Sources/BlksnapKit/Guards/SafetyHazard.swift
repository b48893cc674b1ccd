/// A way the v5 module stops protecting a snapshot (or harms the system) without an
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

    /// The spec section describing the kernel's behaviour.
    public var specSection: String {
        switch self {
        case .detachMember, .unprotectedMember: return "§2.1"
        case .resizedMember: return "§3.5"
        case .addAfterTake: return "§2.2"
        case .zeroSectorAttach: return "§1.3, §12"
        case .storageOnTrackedDevice: return "§4.5"
        case .storageRange: return "§1.2, §4.7"
        case .storageBlockSize: return "§4.7"
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
        }
    }
}
