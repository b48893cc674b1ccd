#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import BlksnapConformance

/// The write buffer that makes v5's spanning image writes reproducible on the real
/// module: its pages must lie in strictly descending physical order. Frame numbers in
/// `/proc/self/pagemap` are visible to root only; skipped otherwise, unless CI=true.
@Suite("Conformance write buffer (physical page order)")
struct DescendingPagesTests {
    static let isRoot = getuid() == 0
    static let isRequired = ProcessInfo.processInfo.environment["CI"] == "true"

    /// The frames of the buffer's pages, read here independently of the buffer's code.
    private func frames(_ bytes: UnsafeMutableRawBufferPointer) throws -> [UInt64] {
        let file = open("/proc/self/pagemap", O_RDONLY)
        try #require(file >= 0)
        defer { close(file) }
        let pages = (bytes.count + 4095) / 4096
        var entries = [UInt64](repeating: 0, count: pages)
        let start = off_t(UInt(bitPattern: bytes.baseAddress!) / 4096 * 8)
        let read = entries.withUnsafeMutableBytes { pread(file, $0.baseAddress, $0.count, start) }
        try #require(read == pages * 8)
        return entries.map { $0 & ((1 << 55) - 1) }
    }

    @Test("three 64 KiB chunks: 48 pages, each below the one before, holding what is written",
          .enabled(if: isRoot || isRequired, "needs root: /proc/self/pagemap hides frame numbers from others"))
    func descendingFrames() throws {
        try #require(Self.isRoot, "CI=true but not root: the page-order test cannot run")
        let count = 3 * 65536
        let buffer = try #require(AlignedBuffer(descendingPhysicalPages: count))
        #expect(buffer.bytes.count == count)
        #expect(UInt(bitPattern: buffer.bytes.baseAddress!) % 4096 == 0)
        Pattern.fill(buffer.bytes, seed: 7)
        let plain = AlignedBuffer(count: count)
        Pattern.fill(plain.bytes, seed: 7)
        #expect(Array(buffer.bytes) == Array(plain.bytes))
        let placed = try frames(buffer.bytes)
        #expect(placed.count == 48)
        #expect(!placed.contains(0))
        #expect(zip(placed, placed.dropFirst()).allSatisfy { $0 > $1 }, "frames \(placed)")
    }

    @Test("an odd size rounds up to whole pages and keeps the count asked for",
          .enabled(if: isRoot || isRequired, "needs root: /proc/self/pagemap hides frame numbers from others"))
    func oddSize() throws {
        try #require(Self.isRoot, "CI=true but not root: the page-order test cannot run")
        let buffer = try #require(AlignedBuffer(descendingPhysicalPages: 5000))
        #expect(buffer.bytes.count == 5000)
        let placed = try frames(buffer.bytes)
        #expect(placed.count == 2 && placed[0] > placed[1])
    }
}
