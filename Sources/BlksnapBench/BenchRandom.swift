/// SplitMix64: a small deterministic generator, so every run writes the same offsets.
struct BenchRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0).
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }

    /// `count` distinct values in `0..<bound`, in random order.
    mutating func distinct(_ count: Int, below bound: UInt64) -> [UInt64] {
        precondition(UInt64(count) <= bound)
        var seen = Set<UInt64>(minimumCapacity: count)
        var values: [UInt64] = []
        values.reserveCapacity(count)
        while values.count < count {
            let value = below(bound)
            if seen.insert(value).inserted { values.append(value) }
        }
        return values
    }
}
