/// What an open descriptor of the simulator names, which decides how its ioctls read
/// user memory: the v5 and VAL-6.x control devices dispatch on the nr alone, VAL-7.0's
/// nodes on the full number with path pointers inside their structs, block devices on
/// the full number. Carried in the `open` reply of the socket protocol.
public enum SimNodeKind: UInt8, Sendable, Hashable, CaseIterable {
    /// A block device or image.
    case blockDevice = 0
    /// v5's `/dev/blksnap-control`.
    case v5Control = 1
    /// VAL-7.0's `/dev/veeamblksnap`.
    case val7Control = 2
    /// VAL-7.0's `/dev/bdevfilter`.
    case bdevFilter = 3
    /// VAL-6.x's `/dev/veeamblksnap` (nr-only dispatch, raw C pointers in its structs).
    case val6Control = 4
}

extension SimKernel {
    /// What `path` names in this simulator's namespace, or nil when nothing.
    public func nodeKind(path: String) -> SimNodeKind? {
        switch blockLayer.lookup(path: path) {
        case nil: return nil
        case .disk?: return .blockDevice
        case .filterControl?: return .bdevFilter
        case .control?:
            switch dialect {
            case .v5: return .v5Control
            case .val7: return .val7Control
            case .val6: return .val6Control
            }
        }
    }
}
