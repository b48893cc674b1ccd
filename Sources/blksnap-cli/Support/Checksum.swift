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
