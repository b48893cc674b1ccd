import Synchronization

/// A small direct-mapped set of chunk numbers known to be captured and unlocked, read
/// without the diff-area lock by the copy-on-write fast path (see ``DiffArea``).
///
/// Slot `number & mask` holds `number + 1` (0 = empty). Invariant, kept by the diff
/// area under its lock: while a slot holds `number + 1`, chunk `number` has left the
/// NEW state (which it never re-enters) and its chunk lock is free. So a slot is
/// filled only under the lock for an unlocked captured chunk, and cleared under the
/// lock before the chunk's lock is taken. A lock-free reader that finds the number
/// sees a state the locked check would also have seen at that instant; anything else
/// (an empty slot, another chunk's number) just means "ask under the lock".
///
/// Memory: one word per slot, fixed at creation (at most 4096 slots, 32 KiB per diff
/// area, fewer for small devices), independent of how many chunks are touched.
final class CapturedChunkCache: @unchecked Sendable {
    /// Upper bound of the slot count.
    static let maximumSlotCount = 4096

    private let slots: UnsafeMutablePointer<Atomic<UInt64>>
    private let slotCount: Int
    private let mask: UInt64

    /// A cache sized for `chunkCount` chunks (a power of two ≤ ``maximumSlotCount``).
    init(chunkCount: UInt64) {
        var count = 1
        while count < Self.maximumSlotCount, UInt64(count) < chunkCount { count <<= 1 }
        slotCount = count
        mask = UInt64(count - 1)
        slots = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: count)
        for i in 0..<count { (slots + i).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: slotCount)
        slots.deallocate()
    }

    /// True when chunk `number` is known captured and unlocked (no lock needed).
    @inline(__always)
    func contains(_ number: UInt64) -> Bool {
        slots[Int(number & mask)].load(ordering: .acquiring) == number &+ 1
    }

    /// Records chunk `number` as captured and unlocked. Call under the diff-area lock.
    @inline(__always)
    func insert(_ number: UInt64) {
        slots[Int(number & mask)].store(number &+ 1, ordering: .releasing)
    }

    /// Forgets chunk `number` (before its chunk lock is taken). Call under the diff-area lock.
    @inline(__always)
    func remove(_ number: UInt64) {
        let slot = Int(number & mask)
        if slots[slot].load(ordering: .relaxed) == number &+ 1 { slots[slot].store(0, ordering: .releasing) }
    }

    /// Forgets every chunk. Call under the diff-area lock.
    func removeAll() {
        for i in 0..<slotCount { slots[i].store(0, ordering: .releasing) }
    }
}
