import BlksnapKit

/// Runs the conformance areas in a fixed order on one backend.
public struct ConformanceRunner {
    /// The areas, in the order they run.
    public static let areas = ["lifecycle", "filter", "cbt", "events", "overflow", "imagewrite", "multidevice",
                               "detach", "params", "hazards", "walk"]

    /// The areas that run on `abi`: every area on v5; on VAL-7.0 all but `hazards` (v5's
    /// raw requests), with `lifecycle` and `filter` of its own (its requests and structs);
    /// on VAL-6.x those made of library requests. On VAL-6.x a snapshot's devices are
    /// named at create (``Harness/create(_:members:)``).
    public static func areas(for abi: BlksnapABI) -> [String] {
        switch abi {
        case .v5: return areas
        case .val7: return areas.filter { $0 != "hazards" }
        case .val6: return areas.filter { !["lifecycle", "filter", "hazards"].contains($0) }
        }
    }

    /// The backend the scenarios talk to.
    public var backend: ConformanceBackend
    /// The module parameters both backends run with.
    public var parameters: [String: UInt32]
    /// Seed of the random walk.
    public var seed: UInt64
    /// Steps of the random walk.
    public var steps: Int
    /// The areas to run (all by default).
    public var selected: [String]

    /// Creates a runner.
    public init(backend: ConformanceBackend, parameters: [String: UInt32], seed: UInt64 = 20261202, steps: Int = 1000,
                selected: [String] = ConformanceRunner.areas) {
        self.backend = backend
        self.parameters = parameters
        self.seed = seed
        self.steps = steps
        self.selected = selected
    }

    /// Runs the selected areas and returns the transcript.
    ///
    /// - Parameter sink: receives each line as soon as it is observed.
    /// - Throws: ``ConformanceError`` when the devices or the control device cannot be opened.
    public func run(sink: ((String) -> Void)? = nil) throws(ConformanceError) -> Transcript {
        let transcript = Transcript()
        transcript.sink = sink
        let harness = try Harness(backend: backend, parameters: parameters, transcript: transcript)
        transcript.area = "setup"
        harness.emit("parameters " + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: " "))
        harness.reset()
        for area in Self.areas(for: backend.abi) where selected.contains(area) {
            switch area {
            case "lifecycle": backend.abi == .val7 ? harness.val7LifecycleScenario() : harness.lifecycleScenario()
            case "filter": backend.abi == .val7 ? harness.val7FilterScenario() : harness.filterScenario()
            case "cbt": harness.cbtScenario()
            case "events": harness.eventsScenario()
            case "overflow": harness.overflowScenario()
            case "imagewrite": harness.imageWriteScenario()
            case "multidevice": harness.multiDeviceScenario()
            case "detach": harness.detachScenario()
            case "params": harness.parameterScenario()
            case "hazards": harness.hazardScenario()
            case "walk": harness.randomWalk(seed: seed, steps: steps)
            default: break
            }
            harness.reset()
        }
        return transcript
    }
}
