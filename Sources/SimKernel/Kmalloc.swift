/// The slab allocator's limits, where a user-given size reaches `kmalloc`/`kzalloc`.
enum Kmalloc {
    /// `KMALLOC_MAX_SIZE` on x86_64 Linux 6.1 (`MAX_ORDER` 11: `1 << 22`, 4 MiB). A larger
    /// request fails (NULL, after a one-time page-allocator warning in the kernel log).
    static let maxSize = 1 << 22

    /// Whether `kzalloc(size)` succeeds in the simulator: up to ``maxSize`` bytes (memory
    /// pressure is not modelled).
    static func fits(_ size: Int) -> Bool { size <= maxSize }
}
