import BlksnapKit
import SimKernel

/// Copies, from this process's own memory, the user memory an ioctl references,
/// and writes back what the simulated kernel wrote.
///
/// Reads go through ``ProcessUserMemory`` (`process_vm_readv`), so a garbage pointer
/// is not shipped instead of crashing the client; the server then faults on it with
/// the kernel's errno. A buffer readable only in part (it ends in an unmapped page)
/// is shipped up to the last readable page, and a buffer the kernel may write is
/// probed for writability the same way (by writing its own bytes back), so the
/// server's copies succeed and fail where the kernel's would.
enum SimUserMemoryCapture {
    private static let pageBytes = 4096

    /// One buffer to ship.
    private struct Span {
        var address: UInt64
        var lengthBytes: Int
        var kernelWrites: Bool
    }

    /// The regions to ship for `request` with its argument at `argument`.
    static func regions(for request: UInt, argument: UInt64, node: SimNodeKind) -> [MappedUserMemory.Region] {
        guard let buffer = SimIoctlArguments.argument(for: request, node: node) else { return [] }
        var spans: [Span] = []
        collect(address: argument, buffer: buffer, into: &spans, depth: 0)
        var budget = SimIoctlArguments.maximumTotalBytes
        var regions: [MappedUserMemory.Region] = []
        for span in merged(spans) {
            let length = min(span.lengthBytes, budget)
            guard length > 0 else { break }
            let captured = capture(Span(address: span.address, lengthBytes: length, kernelWrites: span.kernelWrites))
            budget -= captured.reduce(0) { $0 + $1.bytes.count }
            regions += captured
        }
        return regions
    }

    /// Copies the kernel's writes into this process's memory, in order. Only writes
    /// that fall inside a region shipped as writable are applied: a confused or
    /// hostile server cannot scribble over the rest of this process.
    ///
    /// - Returns: false if a write was refused or could not be applied (the memory
    ///   changed protection since it was probed).
    @discardableResult
    static func apply(_ writes: [MappedUserMemory.Region], within shipped: [MappedUserMemory.Region]) -> Bool {
        let memory = ProcessUserMemory()
        var ok = true
        for write in writes {
            let covered = shipped.contains { region in
                region.writable && write.address >= region.address
                    && write.address - region.address <= UInt64(region.bytes.count)
                    && UInt64(write.bytes.count) <= UInt64(region.bytes.count) - (write.address - region.address)
            }
            guard covered else { ok = false; continue }
            ok = write.bytes.withUnsafeBytes { memory.copyToUser(write.address, from: $0) } && ok
        }
        return ok
    }

    /// Walks a buffer and the pointers inside it; a zero pointer or length ships nothing.
    private static func collect(address: UInt64, buffer: SimUserBuffer, into spans: inout [Span], depth: Int) {
        guard address != 0, buffer.lengthBytes > 0, depth < 4 else { return }
        let room = UInt64.max - address
        let length = Int(min(UInt64(buffer.lengthBytes), room))
        guard length > 0 else { return }
        spans.append(Span(address: address, lengthBytes: length, kernelWrites: buffer.kernelWrites))
        var bytes = [UInt8](repeating: 0, count: length)
        let readable = bytes.withUnsafeMutableBytes { ProcessUserMemory().copyFromUser($0, from: address) }
        guard readable else { return }  // the kernel faults on the struct itself
        for (inner, innerBuffer) in buffer.embedded(bytes) {
            collect(address: inner, buffer: innerBuffer, into: &spans, depth: depth + 1)
        }
    }

    /// Sorts spans and merges the overlapping ones (regions must not overlap).
    private static func merged(_ spans: [Span]) -> [Span] {
        var result: [Span] = []
        for span in spans.sorted(by: { $0.address < $1.address }) {
            if var last = result.last, span.address < last.address + UInt64(last.lengthBytes) {
                let end = max(last.address + UInt64(last.lengthBytes), span.address + UInt64(span.lengthBytes))
                last.lengthBytes = Int(min(end - last.address, UInt64(SimIoctlArguments.maximumTotalBytes)))
                last.kernelWrites = last.kernelWrites || span.kernelWrites
                result[result.count - 1] = last
            } else {
                result.append(span)
            }
        }
        return result
    }

    /// The readable prefix of a span; if the kernel may write it, split into the
    /// writable prefix and a read-only rest.
    private static func capture(_ span: Span) -> [MappedUserMemory.Region] {
        let memory = ProcessUserMemory()
        let bytes = readablePrefix(span, memory)
        guard !bytes.isEmpty else { return [] }
        guard span.kernelWrites else { return [.init(address: span.address, bytes: bytes, writable: false)] }
        let writable = writablePrefixBytes(span.address, bytes, memory)
        var regions: [MappedUserMemory.Region] = []
        if writable > 0 {
            regions.append(.init(address: span.address, bytes: Array(bytes[0..<writable]), writable: true))
        }
        if writable < bytes.count {
            regions.append(.init(address: span.address + UInt64(writable), bytes: Array(bytes[writable...]), writable: false))
        }
        return regions
    }

    private static func readablePrefix(_ span: Span, _ memory: ProcessUserMemory) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: span.lengthBytes)
        if bytes.withUnsafeMutableBytes({ memory.copyFromUser($0, from: span.address) }) { return bytes }
        var done = 0
        for (offset, length) in pages(span.address, span.lengthBytes) {
            let ok = bytes.withUnsafeMutableBytes {
                memory.copyFromUser(UnsafeMutableRawBufferPointer(rebasing: $0[offset..<offset + length]),
                                    from: span.address + UInt64(offset))
            }
            guard ok else { break }
            done = offset + length
        }
        return Array(bytes[0..<done])
    }

    private static func writablePrefixBytes(_ address: UInt64, _ bytes: [UInt8], _ memory: ProcessUserMemory) -> Int {
        if bytes.withUnsafeBytes({ memory.copyToUser(address, from: $0) }) { return bytes.count }
        var done = 0
        for (offset, length) in pages(address, bytes.count) {
            let ok = bytes.withUnsafeBytes {
                memory.copyToUser(address + UInt64(offset), from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + length]))
            }
            guard ok else { break }
            done = offset + length
        }
        return done
    }

    /// `(offset, length)` pieces of `[address, address + count)` split at page boundaries.
    private static func pages(_ address: UInt64, _ count: Int) -> [(Int, Int)] {
        var pieces: [(Int, Int)] = []
        var offset = 0
        while offset < count {
            let position = address + UInt64(offset)
            let toBoundary = pageBytes - Int(position % UInt64(pageBytes))
            let length = min(toBoundary, count - offset)
            pieces.append((offset, length))
            offset += length
        }
        return pieces
    }
}
