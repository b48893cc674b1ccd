/// The module parameters of v5 blksnap (`/sys/module/blksnap/parameters/*`), with
/// their v5 defaults, plus the simulated kernel's tick rate.
///
/// The kernel reads some parameters live and applies others to objects created
/// afterwards (spec §1.1); SimKernel does the same: each unit reads the current
/// value where the kernel does.
public struct Params: Sendable, Equatable {
    /// Smallest CBT block, log2 bytes (default 16 = 64 KiB).
    public var trackingBlockMinimumShift: UInt32 = 16
    /// CBT block count target (default 2^21).
    public var trackingBlockMaximumCount: UInt32 = 2_097_152
    /// Largest CBT block, log2 bytes (default 26 = 64 MiB).
    public var trackingBlockMaximumShift: UInt32 = 26
    /// Smallest COW chunk, log2 bytes (default 18 = 256 KiB).
    public var chunkMinimumShift: UInt32 = 18
    /// log2 of the largest chunk count (default 40). Clamped to 64.
    public var chunkMaximumCountShift: UInt32 = 40
    /// Largest chunk, log2 bytes (default 26): exceeding it makes take fail (EFAULT).
    public var chunkMaximumShift: UInt32 = 26
    /// Store-queue length that triggers the store worker (default 16; read live).
    public var chunkMaximumInQueue: UInt32 = 16
    /// Idle chunk buffers kept per device (default 128; read live).
    public var freeDiffBufferPoolSize: UInt32 = 128
    /// Size of each low-space request, in sectors (default 2097152 = 1 GiB; read live).
    public var diffStorageMinimum: UInt32 = 2_097_152
    /// Simulated timer frequency: WAIT_EVENT's `timeout_ms` counts ticks of 1/hz s.
    public var hz: UInt32 = 250
    /// Simulator only, not a v5 parameter (read live): nonzero makes an image write
    /// that spans chunks land intact, the behaviour v5 intends. 0, the default,
    /// reproduces what v5 does (spec §12.1 item 9, `Quirk.multichunkImageWrite`): the
    /// parts after the first not-yet-copied chunk read back as ``SimKernel/imageWritePoison``.
    public var fixMultichunkImageWrite: UInt32 = 0

    /// The v5 defaults.
    public init() {}

    /// Applies the load-time adjustments of the module (spec §1.1): maximum shifts
    /// raised to their minimums, `chunk_maximum_count_shift` clamped to 64.
    public func normalized() -> Params {
        var p = self
        if p.trackingBlockMaximumShift < p.trackingBlockMinimumShift {
            p.trackingBlockMaximumShift = p.trackingBlockMinimumShift
        }
        if p.chunkMaximumShift < p.chunkMinimumShift { p.chunkMaximumShift = p.chunkMinimumShift }
        if p.chunkMaximumCountShift > 64 { p.chunkMaximumCountShift = 64 }
        if p.hz == 0 { p.hz = 250 }
        return p
    }

    /// The load-time adjustments of the module `dialect` simulates: v5's and VAL-7.0's
    /// (``normalized()``), or VAL-6.3.1's `main.c:parameters_init` (field spec §1.1): the
    /// CBT maximum shift raised to the minimum; `chunk_minimum_shift` lowered to
    /// `chunk_maximum_shift` when larger (v5 raises the maximum instead), then raised to
    /// `PAGE_SHIFT` (12); `diff_storage_minimum` raised to two minimum chunks, then rounded
    /// down to a multiple of one; `chunk_maximum_count_shift` clamped to 40 (64-bit).
    public func normalized(for dialect: SimDialect) -> Params {
        guard dialect == .val6 else { return normalized() }
        var p = self
        if p.trackingBlockMaximumShift < p.trackingBlockMinimumShift {
            p.trackingBlockMaximumShift = p.trackingBlockMinimumShift
        }
        if p.chunkMinimumShift > p.chunkMaximumShift { p.chunkMinimumShift = p.chunkMaximumShift }
        if p.chunkMinimumShift < 12 { p.chunkMinimumShift = 12 }
        // chunk_minimum_sectors(): the shift is at least PAGE_SHIFT now; capped so the shift stays defined.
        let chunkSectors = UInt64(1) << UInt64(min(p.chunkMinimumShift, 40) - 9)
        var minimum = UInt64(p.diffStorageMinimum)
        if minimum < chunkSectors * 2 { minimum = chunkSectors * 2 }
        minimum &= ~(chunkSectors - 1)
        p.diffStorageMinimum = UInt32(truncatingIfNeeded: minimum)
        if p.chunkMaximumCountShift > 40 { p.chunkMaximumCountShift = 40 }
        if p.hz == 0 { p.hz = 250 }
        return p
    }

    /// The parameter names as the module spells them (plus the simulator's own `hz`
    /// and `fix_multichunk_image_write`), in a fixed order.
    public static let names: [String] = [
        "tracking_block_minimum_shift", "tracking_block_maximum_count", "tracking_block_maximum_shift",
        "chunk_minimum_shift", "chunk_maximum_count_shift", "chunk_maximum_shift",
        "chunk_maximum_in_queue", "free_diff_buffer_pool_size", "diff_storage_minimum", "hz",
        "fix_multichunk_image_write",
    ]

    private static func keyPath(_ name: String) -> WritableKeyPath<Params, UInt32>? {
        switch name {
        case "tracking_block_minimum_shift": \.trackingBlockMinimumShift
        case "tracking_block_maximum_count": \.trackingBlockMaximumCount
        case "tracking_block_maximum_shift": \.trackingBlockMaximumShift
        case "chunk_minimum_shift": \.chunkMinimumShift
        case "chunk_maximum_count_shift": \.chunkMaximumCountShift
        case "chunk_maximum_shift": \.chunkMaximumShift
        case "chunk_maximum_in_queue": \.chunkMaximumInQueue
        case "free_diff_buffer_pool_size": \.freeDiffBufferPoolSize
        case "diff_storage_minimum": \.diffStorageMinimum
        case "hz": \.hz
        case "fix_multichunk_image_write": \.fixMultichunkImageWrite
        default: nil
        }
    }

    /// The value of a parameter by its module name; nil for an unknown name.
    public func value(of name: String) -> UInt32? {
        Self.keyPath(name).map { self[keyPath: $0] }
    }

    /// Sets a parameter by its module name. Returns false for an unknown name.
    public mutating func set(_ name: String, to value: UInt32) -> Bool {
        guard let keyPath = Self.keyPath(name) else { return false }
        self[keyPath: keyPath] = value
        return true
    }
}

/// The module's parameters as one live, shared value: units that read a parameter
/// "live" (spec §1.1) read `current` at the moment the kernel would.
public final class LiveParams: Sendable {
    private let value: PthreadMutex<Params>

    /// Wraps the initial values (normalized as v5's module does at load).
    public init(_ params: Params) { value = PthreadMutex(params.normalized()) }

    /// Wraps the initial values, normalized as the module `dialect` simulates does at load.
    public init(_ params: Params, dialect: SimDialect) { value = PthreadMutex(params.normalized(for: dialect)) }

    /// The values in force now.
    public var current: Params { value.withLock { $0 } }

    /// Changes values (like writing /sys/module/blksnap/parameters/*).
    public func update(_ body: (inout Params) -> Void) { value.withLock { body(&$0) } }
}
