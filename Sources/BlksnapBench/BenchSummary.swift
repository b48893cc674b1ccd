/// Median, minimum and maximum of a set of repetitions.
public struct BenchSummary: Sendable, Equatable {
    /// The median (mean of the two middle values for an even count).
    public var median: Double
    /// The smallest value.
    public var min: Double
    /// The largest value.
    public var max: Double
    /// How many values were summarized.
    public var count: Int

    /// Summarizes `values` (nil when empty).
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
        count = sorted.count
    }

    /// A single value.
    public init(single value: Double) {
        median = value
        min = value
        max = value
        count = 1
    }

    /// The `fraction` percentile (nearest rank) of `values`, which must not be empty.
    static func percentile(_ fraction: Double, of values: [Double]) -> Double {
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank))]
    }
}
