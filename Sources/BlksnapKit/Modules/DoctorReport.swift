/// ``ModuleDoctor``'s verdict: whether a blksnap module is usable, what it is, the facts
/// behind that, and the findings — each problem with the one command that fixes it.
public struct DoctorReport: Hashable, Sendable, Encodable {
    /// True when a module answered and no finding is a ``DoctorFinding/Severity/problem``.
    public var usable: Bool
    /// Where the facts come from (`kernel`, `simulator PATH`); set by the caller, nil by default.
    public var backend: String?
    /// The detected module.
    public var module: DetectedModule?
    /// Why detection failed (``ModuleDetectionError/description``).
    public var detectionError: String?
    /// The errno name of ``detectionError``.
    public var detectionErrno: String?
    /// The module's nodes: the host's files when they were read, else as the kernel's `stat` sees them.
    public var nodes: [ModuleNodeFact]
    /// The facts from the host's files (nil for a simulator).
    public var host: HostModuleFacts?
    /// The kernel's HZ (WAIT_EVENT timeouts are jiffies), nil when unknown.
    public var hz: Int?
    /// Where ``hz`` came from (a config file, or the simulator's `hz` parameter).
    public var hzSource: String?
    /// Everything found, problems first.
    public var findings: [DoctorFinding]

    /// Creates a report.
    public init(usable: Bool, backend: String? = nil, module: DetectedModule?, detectionError: String?, detectionErrno: String?,
                nodes: [ModuleNodeFact], host: HostModuleFacts?, hz: Int?, hzSource: String?, findings: [DoctorFinding]) {
        self.usable = usable
        self.backend = backend
        self.module = module
        self.detectionError = detectionError
        self.detectionErrno = detectionErrno
        self.nodes = nodes
        self.host = host
        self.hz = hz
        self.hzSource = hzSource
        self.findings = findings
    }

    /// The findings that keep blksnap from working.
    public var problems: [DoctorFinding] { findings.filter { $0.severity == .problem } }

    /// The finding with `code`, if any.
    public func finding(_ code: String) -> DoctorFinding? { findings.first { $0.code == code } }
}
