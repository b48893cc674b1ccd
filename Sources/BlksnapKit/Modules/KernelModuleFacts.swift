/// What the kernel (or simulator) itself says about the loaded module: its nodes as
/// `stat` sees them and the answer of ``ModuleDetection``. The part of a doctor's
/// report that needs a ``KernelInterface``.
public struct KernelModuleFacts: Hashable, Sendable {
    /// The detected module, nil when detection failed.
    public var detected: DetectedModule?
    /// Why detection failed, nil when it succeeded.
    public var error: ModuleDetectionError?
    /// The nodes of ``ModuleNodes/allPaths`` in the kernel's namespace.
    public var nodes: [ModuleNodeFact]

    /// Creates facts (tests build them by hand; ``read(kernel:override:)`` asks a kernel).
    public init(detected: DetectedModule?, error: ModuleDetectionError?, nodes: [ModuleNodeFact]) {
        self.detected = detected
        self.error = error
        self.nodes = nodes
    }

    /// Stats the nodes and runs ``ModuleDetection/detect(kernel:override:)``.
    public static func read(kernel: any KernelInterface = LinuxKernel(), override: BlksnapABI? = nil) -> KernelModuleFacts {
        let nodes = ModuleNodeFact.facts(in: kernel)
        do {
            return KernelModuleFacts(detected: try ModuleDetection.detect(kernel: kernel, override: override), error: nil, nodes: nodes)
        } catch {
            return KernelModuleFacts(detected: nil, error: error, nodes: nodes)
        }
    }
}
