/// A reproducible pseudo-random byte stream (xorshift64*), so written data can be checked
/// without storing it: the same seed always gives the same bytes.
struct TestPattern: Sendable {
    /// The seed given on the command line.
    let seed: UInt64

    /// `length` bytes of the pattern.
    func bytes(count length: Int) -> [UInt8] {
        var state = seed ^ 0x9e37_79b9_7f4a_7c15
        if state == 0 { state = 0x2545_f491_4f6c_dd1d }
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            var index = 0
            while index < length {
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                var word = state &* 0x2545_f491_4f6c_dd1d
                for _ in 0..<8 where index < length {
                    buffer[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
            initialized = length
        }
    }
}
