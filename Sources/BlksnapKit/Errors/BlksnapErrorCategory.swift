/// How a caller should react to a ``BlksnapError``; the CLI turns it into an exit status.
@frozen
public enum BlksnapErrorCategory: String, Hashable, Sendable, CaseIterable {
    /// The blksnap module, its control device, the kernel's filter support or the
    /// simulator is not there (CLI exit 69, `EX_UNAVAILABLE`).
    case moduleUnavailable
    /// The kernel refused or failed the operation (CLI exit 1).
    case refused
    /// A wait ended without an event (CLI exit 75, `EX_TEMPFAIL`).
    case timedOut
    /// The snapshot or the change tracking is corrupted (CLI exit 65, `EX_DATAERR`).
    case corrupted
    /// The request itself was malformed before reaching the kernel (CLI exit 64, `EX_USAGE`).
    case usage

    /// The exit status the CLI uses for this category.
    public var exitStatus: Int32 {
        switch self {
        case .moduleUnavailable: return 69
        case .refused: return 1
        case .timedOut: return 75
        case .corrupted: return 65
        case .usage: return 64
        }
    }
}
