/// The copy-on-write state of one original device while its snapshot is taken
/// (kernel: diff_area.c, spec §4).
///
/// INTERFACE AGREED FOR PARALLEL WORK — bodies to be written by the COW-engine work.
final class DiffArea: @unchecked Sendable {
    /// The original device.
    let original: SimBlockDevice

    /// Take step 2 for one member (§2.3, §4.1): computes the chunk size from the
    /// original's capacity and io_min. Fails with EFAULT when the chunk would exceed
    /// `chunk_maximum_shift`, or when `storage.capacitySectors == 0`.
    init(original: SimBlockDevice, capacitySectors: UInt64, storage: DiffStorage,
         events: EventQueue, params: LiveParams) throws(SimErrno) {
        self.original = original
        fatalError("DiffArea.init: not yet implemented")
    }

    /// Chunk size in sectors.
    var chunkSectors: UInt64 { fatalError("not yet implemented") }
    /// Number of chunks.
    var chunkCount: UInt64 { fatalError("not yet implemented") }

    /// The stored negative errno if corrupted, else 0.
    var errorCode: Int32 { fatalError("not yet implemented") }
    /// True once `setCorrupted` ran.
    var isCorrupted: Bool { errorCode != 0 }

    /// §4.6: effective the first time only; stores `error` (negative errno) and queues
    /// one corrupted event {major, minor, abs(error)}.
    func setCorrupted(_ error: Int32) { fatalError("not yet implemented") }

    /// §4.3: copy-on-write before a write of `count` sectors at `sector` of the
    /// original lands. Loads every NEW overlapped chunk (read-before-write), queues
    /// it for storing (store worker when the queue exceeds `chunk_maximum_in_queue`).
    /// Returns 0, or `-EAGAIN` for a `nowait` write meeting a NEW or busy chunk.
    func copyOnWrite(sector: UInt64, count: UInt64, nowait: Bool) -> Int32 { fatalError("not yet implemented") }

    /// §4.4 image read of `buffer.count` bytes at byte offset `offset` of the image.
    /// Returns 0 or `-EIO`.
    func imageRead(into buffer: UnsafeMutableRawBufferPointer, atByte offset: UInt64) -> Int32 {
        fatalError("not yet implemented")
    }

    /// §4.4 image write (the caller has already marked the original's CBT).
    /// Returns 0 or `-EIO`. Never touches the original.
    func imageWrite(_ buffer: UnsafeRawBufferPointer, atByte offset: UInt64) -> Int32 {
        fatalError("not yet implemented")
    }

    /// Final release (§2.4): waits for a running store, frees chunks and buffers.
    func release() { fatalError("not yet implemented") }
}
