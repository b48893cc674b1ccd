extension Duration {
    /// The duration in seconds, as a `Double` (copy times, rates).
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
