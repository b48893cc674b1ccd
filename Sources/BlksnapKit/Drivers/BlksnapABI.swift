/// The user API a loaded blksnap module speaks.
///
/// Three generations are in use and they differ in request numbers, struct layouts,
/// device naming and behaviour (`veeam-field-modules.md` §3 sets them side by side):
/// - ``v5``: the upstream patch series v5 (June 2023), `/dev/blksnap-control` plus the
///   block-device filter ioctls; VERSION answers 2.x.
/// - ``val6``: Veeam's out-of-tree module of VAL-6.x ("blk_snap" v1 API),
///   `/dev/veeamblksnap` with a dynamic character major (VAL-6.0: `/dev/blksnap`); devices
///   are named by `{major, minor}` and fixed at create; VERSION answers 1.x.
/// - ``val7``: Veeam's out-of-tree module of VAL-7.0 ("veeamblksnap" API),
///   `/dev/veeamblksnap` (misc) plus `/dev/bdevfilter`; devices are named by path;
///   VERSION answers 7.x.
public enum BlksnapABI: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// The v5 upstream series.
    case v5
    /// Veeam VAL-6.x, the "blk_snap" v1 API.
    case val6
    /// Veeam VAL-7.0, the "veeamblksnap" API with `/dev/bdevfilter`.
    case val7

    /// The ABI a VERSION answer's major number stands for (2 → v5, 1 → VAL-6.x, 7 → VAL-7.0),
    /// or nil for any other major.
    public init?(versionMajor: UInt16) {
        switch versionMajor {
        case 2: self = .v5
        case 1: self = .val6
        case 7: self = .val7
        default: return nil
        }
    }

    /// How people name it: `v5`, `VAL-6.x`, `VAL-7.0`.
    public var displayName: String {
        switch self {
        case .v5: return "v5"
        case .val6: return "VAL-6.x"
        case .val7: return "VAL-7.0"
        }
    }

    /// The command-line spelling (`v5`, `val6`, `val7`).
    public var description: String { rawValue }
}
