import CBlksnapUAPI
import CVeeamBlksnapUAPI

/// The user API a ``SimKernel`` answers: the control surface around the one COW engine,
/// CBT map and difference storage the dialects share.
///
/// Each dialect has its own request numbers and dispatch, struct bytes, device naming,
/// node names, event codes, errno paths and quirks:
/// - ``v5``: the upstream series (`blksnap-v5.md`): `/dev/blksnap-control`, the filter
///   ioctls on the block device, images `blksnap-image_M:m`.
/// - ``val7``: Veeam's VAL-7.0 module (`veeam-field-modules.md` §2): `/dev/veeamblksnap`
///   dispatching on the full request number, `/dev/bdevfilter` naming devices by path,
///   images `veeamblksnapimg_M:m`, event codes swapped, storage as sector ranges with a
///   limit or a block device the module uses whole.
public enum SimDialect: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The v5 upstream series.
    case v5
    /// Veeam VAL-7.0 ("veeamblksnap" with bdevfilter).
    case val7

    /// `v5`, `val7`.
    public var description: String { rawValue }

    /// The control device's name under `/dev`.
    public var controlName: String {
        switch self {
        case .v5: return "blksnap-control"
        case .val7: return "veeamblksnap"
        }
    }

    /// The filter manager's device under `/dev` (VAL-7.0's `bdevfilter`), or nil where the
    /// filter ioctls go to the block device itself.
    public var filterControlName: String? {
        switch self {
        case .v5: return nil
        case .val7: return BDEVFILTER
        }
    }

    /// The image name before `_MAJOR:MINOR` of the original.
    public var imageNamePrefix: String {
        switch self {
        case .v5: return "blksnap-image"
        case .val7: return "veeamblksnapimg"
        }
    }

    /// The code of a low_free_space event (v5: 0; VAL-7.0: 1).
    var lowFreeSpaceCode: UInt32 {
        switch self {
        case .v5: return UInt32(blksnap_event_code_low_free_space.rawValue)
        case .val7: return UInt32(veeamblksnap_event_code_low_free_space.rawValue)
        }
    }

    /// The code of a corrupted event (v5: 1; VAL-7.0: 0).
    var corruptedCode: UInt32 {
        switch self {
        case .v5: return UInt32(blksnap_event_code_corrupted.rawValue)
        case .val7: return UInt32(veeamblksnap_event_code_corrupted.rawValue)
        }
    }
}
