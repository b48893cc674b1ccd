/// What the host's files say about the blksnap modules, read below a root directory
/// (`/` on a real machine, a tree under a temporary directory in tests): no ioctl, no module
/// is asked anything. ``ModuleDoctor`` joins these with what the module answers.
public struct HostModuleFacts: Hashable, Sendable, Encodable {
    /// The module names whose `/sys/module/` directories are looked at.
    public static let moduleNames = ["blksnap", "veeamblksnap", "bdevfilter"]

    /// The directory the host paths were read under.
    public var root: String
    /// The running kernel's release (`ROOT/proc/sys/kernel/osrelease`, else `uname -r` on `/`).
    public var kernelRelease: String?
    /// Which of ``moduleNames`` are loaded (or built in): `/sys/module/NAME` exists.
    public var loadedModules: [String]
    /// `/sys/module/NAME/taint` of each loaded module that has a non-empty one (`OE`:
    /// out of tree, unsigned).
    public var taint: [String: String]
    /// The nodes of ``ModuleNodes/allPaths``, with their kind and mode.
    public var nodes: [ModuleNodeFact]
    /// Installed module files and DKMS builds.
    public var installation: ModuleInstallation
    /// Secure Boot, lockdown, signature enforcement.
    public var security: PlatformSecurity
    /// `CONFIG_HZ` of the running kernel, nil when unknown.
    public var hz: Int?
    /// The file ``hz`` came from.
    public var hzSource: String?

    /// Creates facts (tests build them by hand; ``read(root:)`` reads them from the host).
    public init(root: String, kernelRelease: String?, loadedModules: [String], taint: [String: String],
                nodes: [ModuleNodeFact], installation: ModuleInstallation, security: PlatformSecurity,
                hz: Int?, hzSource: String?) {
        self.root = root
        self.kernelRelease = kernelRelease
        self.loadedModules = loadedModules
        self.taint = taint
        self.nodes = nodes
        self.installation = installation
        self.security = security
        self.hz = hz
        self.hzSource = hzSource
    }

    /// Reads every fact below `root`.
    public static func read(root: String = "/") -> HostModuleFacts {
        let files = HostFiles(root: root)
        let release = KernelRelease.current(root: root)
        let loaded = moduleNames.filter { files.isDirectory("/sys/module/\($0)") }
        var taint: [String: String] = [:]
        for name in loaded {
            if let letters = files.text("/sys/module/\(name)/taint"), !letters.isEmpty { taint[name] = letters }
        }
        let hz = KernelHZ.lookup(root: root, kernelRelease: release)
        return HostModuleFacts(root: root, kernelRelease: release, loadedModules: loaded, taint: taint,
                               nodes: ModuleNodeFact.facts(root: root),
                               installation: ModuleInstallation.read(root: root, kernelRelease: release),
                               security: PlatformSecurity.read(root: root), hz: hz?.hz, hzSource: hz?.source)
    }

    /// True when `path` exists among ``nodes``.
    public func nodeExists(_ path: String) -> Bool {
        nodes.contains { $0.path == path && $0.exists }
    }

    /// What the taint letters of a module mean (`O` out-of-tree, `E` unsigned, …).
    public static func taintMeaning(_ letters: String) -> String {
        let meanings: [Character: String] = [
            "P": "proprietary", "O": "out-of-tree", "E": "unsigned", "F": "force-loaded",
            "C": "staging", "T": "built with struct randomization", "X": "auxiliary", "K": "live-patched",
        ]
        return letters.map { letter in "\(letter) \(meanings[letter] ?? "unknown")" }.joined(separator: ", ")
    }
}

extension HostModuleFacts {
    /// The ABI the host's nodes suggest (the file-side twin of ``ModuleDetection/abiSuggestedByNodes(kernel:)``).
    public var abiSuggestedByNodes: BlksnapABI? {
        if nodeExists(ModuleNodes.v5Control) { return .v5 }
        if nodeExists(ModuleNodes.veeamControl) {
            if nodeExists(ModuleNodes.bdevfilter) || nodeExists(ModuleNodes.bdevfilterMiscClass) { return .val7 }
            if nodeExists(ModuleNodes.val6MajorAttribute) { return .val6 }
            return nil
        }
        if nodeExists(ModuleNodes.legacyVeeamControl) { return .val6 }
        return nil
    }
}
