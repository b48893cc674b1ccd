#if canImport(Glibc)
import Glibc
#endif

/// Deterministic test data: the bytes a seed holds at any byte offset, so a test can
/// write a device and later check any range of it without keeping a copy.
///
/// The bytes are a slice of one table of seeded noise whose period (1 048 583 bytes) is
/// no power of two: data moved by a chunk, a sector or a block does not match where it
/// landed. Each seed starts 4099 bytes further into the table, so different seeds give
/// different bytes at the same offset. Slices are copied with `memcpy`, fast even in
/// debug builds.
///
/// ```swift
/// let first = DataPattern(seed: 1)
/// let bytes = first.bytes(atByte: 65_536, count: 4096)  // the same bytes every run
/// ```
public struct DataPattern: Sendable, Hashable {
    /// Which pattern: equal seeds give equal bytes.
    public let seed: UInt64

    /// The pattern of `seed` (any integer; it is taken modulo 2⁶⁴).
    public init(seed: some BinaryInteger) {
        self.seed = UInt64(truncatingIfNeeded: seed)
    }

    /// The bytes the pattern holds at `offset..<offset+count`.
    public func bytes(atByte offset: Int, count: Int) -> [UInt8] {
        precondition(offset >= 0 && count >= 0, "negative offset or count")
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            copy(into: UnsafeMutableRawBufferPointer(buffer), atByte: offset)
            initialized = count
        }
    }

    /// Fills `buffer` with the bytes the pattern holds at `offset..<offset+buffer.count`.
    public func copy(into buffer: UnsafeMutableRawBufferPointer, atByte offset: Int) {
        precondition(offset >= 0, "negative offset")
        let period = Self.period
        Self.noise.withUnsafeBytes { noise in
            var done = 0
            var position = (offset % period + Int(seed % UInt64(period)) * Self.seedStride % period) % period
            while done < buffer.count {
                let length = min(buffer.count - done, period - position)
                memcpy(buffer.baseAddress! + done, noise.baseAddress! + position, length)
                done += length
                position = 0
            }
        }
    }

    /// The period of the noise table: no power of two.
    static let period = 1_048_583
    /// How much further into the table each seed starts.
    static let seedStride = 4099

    /// One period of seeded noise (splitmix64 from a fixed seed).
    private static let noise: [UInt8] = {
        var state: UInt64 = 0x5eed_b10c
        return [UInt8](unsafeUninitializedCapacity: period + 8) { buffer, initialized in
            var index = 0
            while index < period + 8 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var word = state
                word = (word ^ (word >> 30)) &* 0xBF58_476D_1CE4_E5B9
                word = (word ^ (word >> 27)) &* 0x94D0_49BB_1331_11EB
                word ^= word >> 31
                for _ in 0..<8 where index < period + 8 {
                    buffer[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
            initialized = period + 8
        }
    }()
}
