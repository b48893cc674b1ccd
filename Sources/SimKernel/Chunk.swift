/// The state of one chunk (kernel: `enum chunk_st`, spec §4.2).
///
/// Reachable transitions: NEW → IN_MEMORY (COW load or image write), IN_MEMORY →
/// STORED (store write completed), NEW/IN_MEMORY → FAILED (load, allocation or store
/// error, or store attempted while the diff area is corrupted). FAILED is terminal.
enum ChunkState: UInt8, Sendable {
    /// No data captured: the image reads this chunk from the original.
    case new = 0
    /// The snapshot data is in a RAM buffer; the chunk is queued for storing.
    case inMemory = 1
    /// The snapshot data is in a region of the difference storage.
    case stored = 2
    /// Unusable: image I/O to it fails with EIO.
    case failed = 3
}

/// The descriptor of one chunk of an original device (kernel: `struct chunk`).
///
/// Created lazily by the first COW or image write that touches the chunk and kept in
/// the diff area's index (keyed by chunk number, so the number itself is not stored)
/// until the diff area is released. Every field is protected by the diff area's lock.
///
/// Packed into 12 bytes (three 32-bit words, alignment 4) so that a touched chunk
/// costs at most ~54 bytes of index (8-byte key + 12-byte descriptor per hash bucket,
/// buckets between 3/8 and 3/4 full). Fields:
/// - `state` — see ``ChunkState`` (2 bits);
/// - `isLocked` — the chunk's binary semaphore (1 bit): held during loads, stores and
///   image I/O. Waiters sleep on the diff area's condition variable (one per diff area
///   instead of one per chunk keeps the descriptor small);
/// - `regionSector`, `regionDeviceSlot` — for a STORED chunk, where its data lives:
///   first sector and the index of the storage device in the diff area's storage-device
///   table (29 bits); the region length is always the chunk size.
///
/// Not stored here: the chunk's sector range (computed from its number and the chunk
/// size; the last chunk is shorter) and the RAM buffer of an IN_MEMORY chunk (kept in
/// the diff area's buffer table, which only holds chunks currently in RAM).
struct Chunk {
    private var sectorLow: UInt32 = 0
    private var sectorHigh: UInt32 = 0
    /// Bits 0–1 state, bit 2 lock, bits 3–31 storage-device slot.
    private var flags: UInt32 = 0

    /// Current state.
    var state: ChunkState {
        get { ChunkState(rawValue: UInt8(flags & 0b11))! }
        set { flags = (flags & ~0b11) | UInt32(newValue.rawValue) }
    }

    /// The binary lock of the chunk.
    var isLocked: Bool {
        get { flags & 0b100 != 0 }
        set { flags = newValue ? flags | 0b100 : flags & ~0b100 }
    }

    /// First sector of the region (STORED chunks).
    var regionSector: UInt64 {
        get { UInt64(sectorHigh) << 32 | UInt64(sectorLow) }
        set {
            sectorLow = UInt32(truncatingIfNeeded: newValue)
            sectorHigh = UInt32(truncatingIfNeeded: newValue >> 32)
        }
    }

    /// Index of the region's storage device in the diff area's table (STORED chunks).
    var regionDeviceSlot: UInt32 {
        get { flags >> 3 }
        set { flags = (flags & 0b111) | (newValue << 3) }
    }

    /// The largest storage-device slot a descriptor can hold.
    static let maximumDeviceSlot: UInt32 = UInt32.max >> 3
}
