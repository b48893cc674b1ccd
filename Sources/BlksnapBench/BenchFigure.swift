/// One figure of the benchmark: a ratio (or an absolute value where the issue sets an
/// absolute target) with the measurement and its same-run baseline.
public struct BenchFigure: Sendable {
    /// Stable identifier (the JSON key), e.g. `cow_first_touch`.
    public var key: String
    /// Human title for the table.
    public var title: String
    /// Unit of ``value``: `x` for ratios, `us`, `ms`, `bytes`, `MiB`.
    public var unit: String
    /// The figure over the repetitions (nil when not available).
    public var value: BenchSummary?
    /// The engine's own measurement over the repetitions, in ``measuredUnit``.
    public var measured: BenchSummary?
    /// The baseline measured in the same run, in ``measuredUnit``.
    public var baseline: BenchSummary?
    /// Unit of ``measured`` and ``baseline`` (e.g. `us/write`, `MiB/s`).
    public var measuredUnit: String
    /// Measured ÷ baseline per repetition, where the headline ``value`` is not already
    /// that ratio (round trips, process start).
    public var ratio: BenchSummary?
    /// The target as text (`<= 1.15`), or nil when the issue sets none.
    public var target: String?
    /// Whether the median meets the target (nil without a target or value).
    public var meetsTarget: Bool?
    /// What the figure means or why it is missing.
    public var note: String

    /// A figure; `check` decides `meetsTarget` from the median.
    init(key: String, title: String, unit: String, value: BenchSummary?, measured: BenchSummary? = nil,
         baseline: BenchSummary? = nil, measuredUnit: String = "", ratio: BenchSummary? = nil, target: String? = nil,
         check: ((Double) -> Bool)? = nil, note: String) {
        self.key = key
        self.title = title
        self.unit = unit
        self.value = value
        self.measured = measured
        self.baseline = baseline
        self.measuredUnit = measuredUnit
        self.ratio = ratio
        self.target = target
        if let check, let value { meetsTarget = check(value.median) } else { meetsTarget = nil }
        self.note = note
    }

    /// A figure that could not be measured, with the reason.
    static func unavailable(key: String, title: String, unit: String, target: String? = nil, reason: String) -> BenchFigure {
        BenchFigure(key: key, title: title, unit: unit, value: nil, target: target, note: "not available: " + reason)
    }
}
