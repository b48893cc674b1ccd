/// Where each blksnap module generation puts its nodes (`veeam-field-modules.md` §0, §1.1,
/// §2.1, §3.1, §4.1), and what the nodes say about which generation is loaded.
///
/// Paths are in the namespace of the ``KernelInterface`` that is asked (the host's `/dev`
/// and `/sys`, or the simulator's own namespace).
public enum ModuleNodes {
    /// v5's control device (misc): `/dev/blksnap-control`.
    public static let v5Control = "/dev/blksnap-control"
    /// The control device of VAL-6.1 … VAL-6.3.1 (dynamic character major) and of VAL-7.0
    /// (misc): `/dev/veeamblksnap`.
    public static let veeamControl = "/dev/veeamblksnap"
    /// VAL-6.0's (and stable-v1.0's) control device: `/dev/blksnap`, the VAL-6.x ABI under the old name.
    public static let legacyVeeamControl = "/dev/blksnap"
    /// VAL-7.0's filter manager (misc): `/dev/bdevfilter`.
    public static let bdevfilter = "/dev/bdevfilter"
    /// VAL-7.0's filter manager in sysfs, present even when `/dev` lacks the node.
    public static let bdevfilterMiscClass = "/sys/class/misc/bdevfilter"
    /// VAL-6.x's class attribute holding the control device's dynamic major; VAL-7.0
    /// creates no class `veeamblksnap`.
    public static let val6MajorAttribute = "/sys/class/veeamblksnap/major"

    /// The control nodes in the order detection tries them.
    public static let controlNodes = [v5Control, veeamControl, legacyVeeamControl]

    /// Every path detection looks at, in order.
    public static let allPaths = [v5Control, veeamControl, legacyVeeamControl, bdevfilter, bdevfilterMiscClass, val6MajorAttribute]

    /// The ABIs a control node can belong to: `/dev/blksnap-control` only v5,
    /// `/dev/veeamblksnap` VAL-6.x or VAL-7.0, `/dev/blksnap` only VAL-6.x (VAL-6.0).
    public static func abis(ofControlNode path: String) -> [BlksnapABI] {
        switch path {
        case v5Control: return [.v5]
        case veeamControl: return [.val6, .val7]
        case legacyVeeamControl: return [.val6]
        default: return []
        }
    }

    /// The control nodes an ABI may use, in the order they are tried.
    public static func controlNodes(of abi: BlksnapABI) -> [String] {
        switch abi {
        case .v5: return [v5Control]
        case .val6: return [veeamControl, legacyVeeamControl]
        case .val7: return [veeamControl]
        }
    }

    /// The kernel module that owns the control node (`blksnap` for v5 and VAL-6.0,
    /// `veeamblksnap` otherwise): the name of its `/sys/module/` directory and of `modprobe`.
    public static func moduleName(abi: BlksnapABI, controlPath: String) -> String {
        switch abi {
        case .v5: return "blksnap"
        case .val6: return controlPath == legacyVeeamControl ? "blksnap" : "veeamblksnap"
        case .val7: return "veeamblksnap"
        }
    }

    /// The name of an image node without `/dev/`, up to the number:
    /// v5 `blksnap-image_` + `MAJ:MIN` of the original; VAL-6.x `veeamblksnapimg` + image
    /// minor (VAL-6.0: `blksnap-image` + minor); VAL-7.0 `veeamblksnapimg_` + `MAJ:MIN` of the original.
    public static func imageNamePrefix(abi: BlksnapABI, controlPath: String) -> String {
        switch abi {
        case .v5: return "blksnap-image_"
        case .val6: return controlPath == legacyVeeamControl ? "blksnap-image" : "veeamblksnapimg"
        case .val7: return "veeamblksnapimg_"
        }
    }
}
