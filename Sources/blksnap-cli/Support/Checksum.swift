/// FNV-1a, 64-bit: a small, dependency-free checksum to compare blocks of data
/// (not a cryptographic hash).
struct Checksum: Equatable, Sendable, CustomStringConvertible {
    /// The running hash.
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    init() {}

    /// The checksum of `bytes`.
    init(_ bytes: some Sequence<UInt8>) { update(bytes) }

    /// Adds bytes.
    mutating func update(_ bytes: some Sequence<UInt8>) {
        var hash = value
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            for byte in buffer {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
        }
        if done == nil {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        value = hash
    }

    /// 16 lowercase hex digits.
    var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

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
