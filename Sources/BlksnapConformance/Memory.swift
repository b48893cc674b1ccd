#if canImport(Glibc)
import Glibc
#endif

/// A page-aligned buffer, as `O_DIRECT` needs it.
final class AlignedBuffer {
    let bytes: UnsafeMutableRawBufferPointer
    private let mapping: (base: UnsafeMutableRawPointer, length: Int)?

    init(count: Int) {
        var pointer: UnsafeMutableRawPointer?
        precondition(posix_memalign(&pointer, 4096, max(count, 4096)) == 0, "posix_memalign failed")
        bytes = UnsafeMutableRawBufferPointer(start: pointer, count: count)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        mapping = nil
    }

    /// A buffer whose pages lie in strictly descending physical order, or nil when
    /// `/proc/self/pagemap` gives no frame numbers (it needs `CAP_SYS_ADMIN`) or no file
    /// can be created in `/dev/shm` or `/tmp`.
    ///
    /// Its pages belong to an unlinked file, mapped again page by page. An `O_DIRECT`
    /// write from it reaches the block layer as one `bio_vec` per page: no page follows
    /// its predecessor physically, so the block layer merges none. What the real v5
    /// module leaves in an image after a write spanning chunks depends on that layout
    /// (spec §12.1 item 9: it advances the bio by a whole chunk inside one `bio_vec`):
    /// from 48 physically consecutive pages (one `bio_vec`) a 3-chunk write reads back
    /// `ok ok ok`, from these `ok WRONG WRONG`. With the layout fixed the outcome no
    /// longer depends on where the allocator put the pages, and descending order keeps
    /// the memory the module wrongly reads (past the first page) outside the buffer.
    init?(descendingPhysicalPages count: Int) {
        let page = 4096
        let pages = max(1, (count + page - 1) / page)
        let length = pages * page
        // An unlinked file (in /dev/shm, else /tmp), so that its pages can be mapped in any order.
        var file: CInt = -1
        for directory in ["/dev/shm", "/tmp"] where file < 0 {
            var template = Array("\(directory)/blksnap-conformance.XXXXXX".utf8CString)
            file = mkstemp(&template)
            if file >= 0 { unlink(template) }
        }
        guard file >= 0 else { return nil }
        defer { Glibc.close(file) }
        guard ftruncate(file, off_t(length)) == 0 else { return nil }
        // Fault every page of the file in through a first mapping, and read the frames.
        guard let first = Self.map(nil, length, file, 0, fixed: false) else { return nil }
        defer { munmap(first, length) }
        for index in 0..<pages { first.storeBytes(of: 1, toByteOffset: index * page, as: UInt8.self) }
        guard let frames = Self.frames(of: first, pages: pages) else { return nil }
        // Map the file's pages again, highest frame first, into one reserved range.
        let order = (0..<pages).sorted { frames[$0] > frames[$1] }
        let reserved = mmap(nil, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let base = reserved, reserved != MAP_FAILED else { return nil }
        for (slot, filePage) in order.enumerated() {
            guard Self.map(base + slot * page, page, file, off_t(filePage * page), fixed: true) != nil else {
                munmap(base, length)
                return nil
            }
        }
        bytes = UnsafeMutableRawBufferPointer(start: base, count: count)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        mapping = (base, length)
        guard let placed = Self.frames(of: base, pages: pages),
              zip(placed, placed.dropFirst()).allSatisfy({ $0 > $1 }) else { return nil }
    }

    deinit {
        if let mapping { munmap(mapping.base, mapping.length) } else { free(bytes.baseAddress) }
    }

    private static func map(_ address: UnsafeMutableRawPointer?, _ length: Int, _ file: CInt, _ offset: off_t,
                            fixed: Bool) -> UnsafeMutableRawPointer? {
        let flags = MAP_SHARED | (fixed ? MAP_FIXED : 0)
        let pointer = mmap(address, length, PROT_READ | PROT_WRITE, flags, file, offset)
        return pointer == MAP_FAILED ? nil : pointer
    }

    /// The page frame numbers of `pages` present pages from `address`, or nil when any is
    /// absent or hidden (frame 0: the reader lacks `CAP_SYS_ADMIN`).
    private static func frames(of address: UnsafeMutableRawPointer, pages: Int) -> [UInt64]? {
        let file = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { Glibc.close(file) }
        var entries = [UInt64](repeating: 0, count: pages)
        let wanted = pages * MemoryLayout<UInt64>.size
        let read = entries.withUnsafeMutableBytes {
            pread(file, $0.baseAddress, wanted, off_t(UInt(bitPattern: address) / 4096) * 8)
        }
        guard read == wanted else { return nil }
        let frames = entries.map { $0 & ((1 << 55) - 1) }
        let present = entries.allSatisfy { $0 & (1 << 63) != 0 }
        return present && !frames.contains(0) ? frames : nil
    }
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
