/// What the handshake tells a client about one export: everything the protocol machine
/// needs, and nothing about where the bytes come from.
public struct NBDExportDescriptor: Sendable, Hashable {
    /// The export's name (`NBD_OPT_GO` selects it; the empty name selects the first export).
    public var name: String
    /// Size in bytes.
    public var sizeBytes: UInt64
    /// Free text for `NBD_INFO_DESCRIPTION` and `NBD_OPT_LIST`.
    public var description: String
    /// Preferred block size (`NBD_INFO_BLOCK_SIZE`), a power of two between 512 and 32 MiB.
    public var preferredBlockBytes: UInt32
    /// Transmission flags.
    public var flags: NBDTransmissionFlags
    /// The metadata contexts the export offers. A context's id is its index + 1.
    public var metaContexts: [NBDMetaContext]

    /// Creates a descriptor from its fields.
    public init(name: String, sizeBytes: UInt64, description: String, preferredBlockBytes: UInt32,
                flags: NBDTransmissionFlags, metaContexts: [NBDMetaContext]) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.description = description
        self.preferredBlockBytes = preferredBlockBytes
        self.flags = flags
        self.metaContexts = metaContexts
    }

    /// The export's context `context` with its id, or nil when the export does not offer it.
    public func selectedContext(_ context: NBDMetaContext) -> NBDSelectedContext? {
        metaContexts.firstIndex(of: context).map { NBDSelectedContext(id: UInt32($0 + 1), context: context) }
    }
}
