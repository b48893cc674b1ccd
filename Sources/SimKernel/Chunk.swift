/// The state of one chunk (kernel: `enum chunk_st`, spec §4.2).
///
/// Reachable transitions: NEW → IN_MEMORY (COW load or image write), IN_MEMORY →
/// STORED (store write completed), NEW/IN_MEMORY → FAILED (load, allocation or store
/// error, or store attempted while the diff area is corrupted). FAILED is terminal.
enum ChunkState: UInt8, Sendable {
    /// No data captured: the image reads this chunk from the original.
    case new
    /// The snapshot data is in a RAM buffer; the chunk is queued for storing.
    case inMemory
    /// The snapshot data is in a region of the difference storage.
    case stored
    /// Unusable: image I/O to it fails with EIO.
    case failed
}

/// Where a chunk's snapshot data lives, depending on its state.
///
/// One payload at a time keeps a chunk descriptor at 16 bytes: an IN_MEMORY chunk has
/// a buffer and no region yet, a STORED chunk has a region and no buffer any more.
enum ChunkPayload {
    /// NEW or FAILED: no data.
    case none
    /// IN_MEMORY (or being loaded): the chunk-size buffer holding the data.
    case buffer(DiffBuffer)
    /// STORED: `sector` on the diff area's storage device number `deviceSlot`
    /// (see `DiffArea`'s storage-device table); the length is the chunk size.
    case region(sector: UInt64, deviceSlot: UInt32)
}

/// The descriptor of one chunk of an original device (kernel: `struct chunk`).
///
/// Created lazily by the first COW or image write that touches the chunk and kept in
/// the diff area's index (keyed by chunk number, so the number itself is not stored)
/// until the diff area is released. Every field is protected by the diff area's lock.
/// Fields:
/// - `payload` — buffer or region, see ``ChunkPayload``;
/// - `state` — see ``ChunkState``;
/// - `isLocked` — the chunk's binary semaphore: held during loads, stores and image
///   I/O. Waiters sleep on the diff area's condition variable (one per diff area
///   instead of one per chunk keeps the descriptor small).
///
/// The chunk's sector range is computed from its number and the diff area's chunk
/// size (the last chunk is shorter), so it is not stored either.
struct Chunk {
    /// Buffer or region.
    var payload: ChunkPayload = .none
    /// Current state.
    var state: ChunkState = .new
    /// The binary lock of the chunk.
    var isLocked = false
}
