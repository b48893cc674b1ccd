import Synchronization

/// A fixed-size array of bytes that may be read without a lock while a lock holder
/// changes them (the CBT write map's storage, see ``CBTMap``).
///
/// Every byte is an `Atomic<UInt8>` in one stable allocation, so a lock-free reader
/// never races with a writer (it sees the old or the new value of each byte). The
/// bytes are laid out like a plain `[UInt8]` (an `Atomic<UInt8>` is one byte).
/// Read-modify-write sequences are not atomic as a whole: callers serialize writers.
final class AtomicByteMap: @unchecked Sendable {
    /// Number of bytes.
    let count: Int
    /// The bytes; stable for the map's lifetime.
    let base: UnsafeMutablePointer<Atomic<UInt8>>

    /// A zeroed map of `count` bytes.
    init(count: Int) {
        self.count = count
        base = UnsafeMutablePointer<Atomic<UInt8>>.allocate(capacity: max(count, 1))
        for i in 0..<count { (base + i).initialize(to: Atomic(0)) }
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    /// Byte `index` (relaxed: no other memory is published through these bytes).
    @inline(__always)
    subscript(index: Int) -> UInt8 {
        get { base[index].load(ordering: .relaxed) }
        set { base[index].store(newValue, ordering: .relaxed) }
    }

    /// Sets every byte to zero.
    func zero() {
        for i in 0..<count { base[i].store(0, ordering: .relaxed) }
    }

    /// A plain copy of the bytes.
    var bytes: [UInt8] { (0..<count).map { self[$0] } }
}
