/// Estimates how fast a snapshot's difference storage fills, from `low_free_space`
/// events alone (the kernel exposes no counter).
///
/// v5 emits a threshold event when `filled` reaches `requested − half` where `half`
/// is half the requested step (§5.2-3, §5.3), so at the k-th threshold event
/// `filled ≈ requestedBefore − step/2`. Two consecutive events, with their
/// `CLOCK_MONOTONIC` time labels, give the rate.
public struct FillRateEstimator: Sendable {
    private var last: (filledSectors: UInt64, nanoseconds: Int64)?

    /// Creates an estimator with no observation.
    public init() {}

    /// Records a threshold event (not the creation event): `requestedBefore` is the
    /// total requested before this event's increment `step`. Returns the estimated
    /// filled sectors and, from the second event on, the rate in sectors per second.
    public mutating func observe(requestedBeforeSectors: UInt64, stepSectors: UInt64,
                                 timeLabelNanoseconds: Int64) -> (filledSectors: UInt64, sectorsPerSecond: Double?) {
        let half = stepSectors / 2 / 8 * 8
        let filled = requestedBeforeSectors > half ? requestedBeforeSectors - half : 0
        defer { last = (filled, timeLabelNanoseconds) }
        guard let last, timeLabelNanoseconds > last.nanoseconds, filled >= last.filledSectors else {
            return (filled, nil)
        }
        let seconds = Double(timeLabelNanoseconds - last.nanoseconds) / 1e9
        return (filled, Double(filled - last.filledSectors) / seconds)
    }
}
