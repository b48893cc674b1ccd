/// A metadata context of `NBD_CMD_BLOCK_STATUS`, typed. Only the protocol machine sees
/// context names: it resolves the names a client sends into these once, and the server
/// and the sources only ever get the typed value.
public enum NBDMetaContext: Hashable, Sendable {
    /// `base:allocation`: holes and zeroes (``NBDAllocationState``).
    case allocation
    /// `qemu:dirty-bitmap:NAME`: the bytes changed since some point (``nbdStateDirty``),
    /// for the bitmap `NAME`.
    case dirtyBitmap(String)

    /// The context's name on the wire: `base:allocation`, `qemu:dirty-bitmap:NAME`.
    public var name: String {
        switch self {
        case .allocation: "base:allocation"
        case .dirtyBitmap(let bitmap): "qemu:dirty-bitmap:" + bitmap
        }
    }
}

/// A metadata context selected with `NBD_OPT_SET_META_CONTEXT`: the id the server gave
/// it (echoed in each block status chunk) and what it is.
public struct NBDSelectedContext: Hashable, Sendable {
    /// The context's id on this connection.
    public var id: UInt32
    /// The context.
    public var context: NBDMetaContext

    /// Creates a selection from its fields.
    public init(id: UInt32, context: NBDMetaContext) {
        self.id = id
        self.context = context
    }
}
