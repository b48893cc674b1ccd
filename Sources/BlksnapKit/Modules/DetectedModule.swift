/// A loaded blksnap module as ``ModuleDetection/detect(kernel:override:)`` found it: which
/// ABI it speaks (confirmed by its VERSION answer), its nodes and, for Veeam's modules,
/// its "modification".
public struct DetectedModule: Hashable, Sendable, Encodable, CustomStringConvertible {
    /// The user API the module speaks.
    public var abi: BlksnapABI
    /// What VERSION answered (v5 2.0.0.0, VAL-6.x 1.0.0.0, VAL-7.0 7.0.0.0).
    public var version: Version
    /// The kernel module's name (`blksnap` or `veeamblksnap`).
    public var moduleName: String
    /// The control device that answered: `/dev/blksnap-control`, `/dev/veeamblksnap` or `/dev/blksnap`.
    public var controlPath: String
    /// VAL-7.0's filter manager `/dev/bdevfilter` when that node exists; nil otherwise
    /// (v5 filters through the block device's own fd, VAL-6.x has no filter node).
    public var filterPath: String?
    /// How image nodes are named under `/dev/`, up to their number (see
    /// ``ModuleNodes/imageNamePrefix(abi:controlPath:)``).
    public var imageNamePrefix: String
    /// What the MOD request reported (Veeam's modules only); nil for v5 or when the
    /// module does not answer it.
    public var modification: ModuleModification?

    /// Creates a detection result.
    public init(abi: BlksnapABI, version: Version, moduleName: String, controlPath: String, filterPath: String?,
                imageNamePrefix: String, modification: ModuleModification?) {
        self.abi = abi
        self.version = version
        self.moduleName = moduleName
        self.controlPath = controlPath
        self.filterPath = filterPath
        self.imageNamePrefix = imageNamePrefix
        self.modification = modification
    }

    /// `VAL-7.0, veeamblksnap standalone` — the ABI and the module (and its modification, if any).
    public var summary: String {
        var text = "\(abi.displayName), \(moduleName)"
        if let name = modification?.name, !name.isEmpty { text += " \(name)" }
        return text
    }

    /// `7.0.0.0 (VAL-7.0, veeamblksnap standalone)`.
    public var description: String { "\(version) (\(summary))" }

    private enum CodingKeys: String, CodingKey {
        case abi, abiName, version, moduleName, controlPath, filterPath, imageNamePrefix, modification
    }

    /// Encodes `abi` (`v5`/`val6`/`val7`), `abiName`, `version` as text and the rest as they are.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(abi, forKey: .abi)
        try container.encode(abi.displayName, forKey: .abiName)
        try container.encode(version.description, forKey: .version)
        try container.encode(moduleName, forKey: .moduleName)
        try container.encode(controlPath, forKey: .controlPath)
        try container.encodeIfPresent(filterPath, forKey: .filterPath)
        try container.encode(imageNamePrefix, forKey: .imageNamePrefix)
        try container.encodeIfPresent(modification, forKey: .modification)
    }
}
