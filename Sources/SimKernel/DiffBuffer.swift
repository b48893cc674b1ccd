/// One chunk-size buffer holding a chunk's snapshot data in RAM (kernel: diff_buffer.c).
///
/// Owned by the chunk while it is IN_MEMORY (or being loaded), by the diff area's
/// free pool while idle. Whoever holds the chunk lock has exclusive use of its bytes.
final class DiffBuffer: @unchecked Sendable {
    /// Size in bytes (the full chunk size, even for the short last chunk).
    let byteCount: Int
    /// The bytes.
    let bytes: UnsafeMutableRawBufferPointer

    /// Allocates a buffer of `byteCount` bytes. Its contents are undefined until a
    /// load fills it (every user loads the chunk first, and a load zeroes the tail of a
    /// short last chunk), so it is not zero-filled: that would touch 256 KiB per fresh
    /// buffer for nothing.
    init(byteCount: Int) {
        self.byteCount = byteCount
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 4096)
    }

    deinit { bytes.deallocate() }
}

/// The per-device pool of idle chunk buffers (kernel: `diff_area->free_diff_buffers`).
///
/// Not thread-safe by itself: the diff area calls it under its lock.
struct DiffBufferPool {
    /// Size of each buffer in bytes.
    let bufferByteCount: Int
    /// Idle buffers, most recently released last.
    private(set) var idle: [DiffBuffer] = []

    /// An empty pool of `bufferByteCount`-byte buffers.
    init(bufferByteCount: Int) { self.bufferByteCount = bufferByteCount }

    /// A buffer from the pool, or a fresh one when the pool is empty.
    mutating func take() -> DiffBuffer {
        idle.popLast() ?? DiffBuffer(byteCount: bufferByteCount)
    }

    /// Returns a buffer: freed instead when the pool already holds *more than*
    /// `poolSize` buffers, so the pool can reach `poolSize + 1` (Quirk.bufferPoolSizePlusOne).
    mutating func release(_ buffer: DiffBuffer, poolSize: UInt32) {
        if idle.count > Int(poolSize) { return }
        idle.append(buffer)
    }

    /// Frees every idle buffer.
    mutating func removeAll() { idle.removeAll() }
}
