import CBlksnapUAPI
import CVeeamBlkSnapV1UAPI
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
/// - ``val6``: Veeam's VAL-6.3.1 module, the "blk_snap" v1 API (`veeam-field-modules.md` §1):
///   `/dev/veeamblksnap` (a character device of its own dynamic major) dispatching on the
///   nr alone, devices named `{major, minor}` and fixed at CREATE (which also starts
///   tracking them), images `veeamblksnapimg<image minor>`, v5's event codes.
public enum SimDialect: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The v5 upstream series.
    case v5
    /// Veeam VAL-7.0 ("veeamblksnap" with bdevfilter).
    case val7
    /// Veeam VAL-6.3.1 ("blk_snap" v1, devices by number).
    case val6

    /// `v5`, `val7`, `val6`.
    public var description: String { rawValue }

    /// Whether the module has the parameter `name` (``Params/names``): VAL-6.3.1 has no
    /// `chunk_maximum_in_queue` (it stores each chunk at once; its write cache's
    /// `chunk_maximum_in_cache` is not a simulator parameter), so setting it fails there
    /// as writing a missing `/sys/module/veeamblksnap/parameters/` file does.
    public func hasParameter(_ name: String) -> Bool {
        switch self {
        case .val6: return name != "chunk_maximum_in_queue"
        case .v5, .val7: return true
        }
    }

    /// The control device's name under `/dev`.
    public var controlName: String {
        switch self {
        case .v5: return "blksnap-control"
        case .val7, .val6: return "veeamblksnap"
        }
    }

    /// The filter manager's device under `/dev` (VAL-7.0's `bdevfilter`), or nil where the
    /// filter ioctls go to the block device itself.
    public var filterControlName: String? {
        switch self {
        case .v5, .val6: return nil
        case .val7: return BDEVFILTER
        }
    }

    /// What every image name starts with: before `_MAJOR:MINOR` of the original (v5,
    /// VAL-7.0), before the image's own minor (VAL-6.x).
    public var imageNamePrefix: String {
        switch self {
        case .v5: return "blksnap-image"
        case .val7: return "veeamblksnapimg"
        case .val6: return BLK_SNAP_IMAGE_NAME
        }
    }

    /// The image disk's name (without `/dev/`): the original's `dev_t` after
    /// ``imageNamePrefix`` and `_` (v5, VAL-7.0), or the image's own minor (VAL-6.x,
    /// `snapimage.c:snapimage_create`: `veeamblksnapimg0`).
    public func imageName(originalMajor: UInt32, originalMinor: UInt32, imageMinor: UInt32) -> String {
        switch self {
        case .v5, .val7: return "\(imageNamePrefix)_\(originalMajor):\(originalMinor)"
        case .val6: return "\(imageNamePrefix)\(imageMinor)"
        }
    }

    /// The code of a low_free_space event (v5, VAL-6.x: 0; VAL-7.0: 1).
    var lowFreeSpaceCode: UInt32 {
        switch self {
        case .v5: return UInt32(blksnap_event_code_low_free_space.rawValue)
        case .val7: return UInt32(veeamblksnap_event_code_low_free_space.rawValue)
        case .val6: return UInt32(blk_snap_event_code_low_free_space.rawValue)
        }
    }

    /// The code of a corrupted event (v5, VAL-6.x: 1; VAL-7.0: 0).
    var corruptedCode: UInt32 {
        switch self {
        case .v5: return UInt32(blksnap_event_code_corrupted.rawValue)
        case .val7: return UInt32(veeamblksnap_event_code_corrupted.rawValue)
        case .val6: return UInt32(blk_snap_event_code_corrupted.rawValue)
        }
    }
}
