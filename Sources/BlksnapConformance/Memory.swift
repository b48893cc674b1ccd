#if canImport(Glibc)
import Glibc
#endif

/// A page-aligned buffer, as `O_DIRECT` needs it.
final class AlignedBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(count: Int) {
        var pointer: UnsafeMutableRawPointer?
        precondition(posix_memalign(&pointer, 4096, max(count, 4096)) == 0, "posix_memalign failed")
        bytes = UnsafeMutableRawBufferPointer(start: pointer, count: count)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { free(bytes.baseAddress) }
}

/// Two pages: the first readable and writable, the second unmapped for the kernel
/// (`PROT_NONE`), so that user-pointer faults can be provoked on purpose on both
/// backends (SimKernel's process memory fails the same copies).
final class FaultPages {
    let base: UnsafeMutableRawPointer
    static let pageSize = 4096

    init() {
        let pointer = mmap(nil, 2 * Self.pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        precondition(pointer != MAP_FAILED && pointer != nil, "mmap failed")
        base = pointer!
        precondition(mprotect(base + Self.pageSize, Self.pageSize, PROT_NONE) == 0, "mprotect failed")
    }

    deinit { munmap(base, 2 * Self.pageSize) }

    /// An address where every access faults.
    var bad: UnsafeMutableRawPointer { base + Self.pageSize }

    /// An address whose first `readable` bytes are accessible and the rest fault.
    func edge(readable: Int) -> UnsafeMutableRawPointer {
        let pointer = base + Self.pageSize - readable
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: readable)
        return pointer
    }
}

/// The deterministic data written by the scenarios, and the digests printed for it.
enum Pattern {
    /// Fills `buffer` with the splitmix64 stream of `seed`.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678
        var index = 0
        while index < buffer.count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            for shift in stride(from: 0, to: 64, by: 8) where index < buffer.count {
                buffer[index] = UInt8(truncatingIfNeeded: z >> UInt64(shift))
                index += 1
            }
        }
    }

    /// FNV-1a 64 of the bytes, as 16 hex digits.
    static func digest(_ bytes: [UInt8]) -> String {
        var hasher = Digest()
        bytes.withUnsafeBytes { hasher.add($0) }
        return hasher.text
    }

    /// FNV-1a 64, fed in pieces.
    struct Digest {
        private var hash: UInt64 = 0xcbf2_9ce4_8422_2325

        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            var h = hash
            for index in 0..<bytes.count {
                h = (h ^ UInt64(bytes[index])) &* 0x100_0000_01b3
            }
            hash = h
        }

        var text: String {
            let text = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }
    }

    /// Run-length form of a CBT map: `value*count` groups, e.g. `0*10 1*2 0*500`.
    static func runs(_ map: [UInt8]) -> String {
        guard var current = map.first else { return "(empty)" }
        var count = 0
        var parts: [String] = []
        for byte in map {
            if byte == current { count += 1; continue }
            parts.append("\(current)*\(count)")
            current = byte
            count = 1
        }
        parts.append("\(current)*\(count)")
        return parts.joined(separator: " ")
    }
}

/// The seeded generator of the random walk (splitmix64: the same on every platform).
struct WalkRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}
