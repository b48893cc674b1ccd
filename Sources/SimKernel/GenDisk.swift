#if canImport(Glibc)
import Glibc
#endif

/// One disk of the simulated block layer (the kernel's `gendisk` + its request queue +
/// `bdev->bd_filter`): either a simulated original device or a snapshot image.
///
/// Fields:
/// - `name`, `major`, `minor`: the node `/dev/NAME` and its `dev_t`;
/// - `kind`: the media — a ``SimBlockDevice`` or a ``SnapshotImage``;
/// - `queue`: the request-queue freeze (shared side = a bio in flight, exclusive side =
///   `blk_mq_freeze_queue`);
/// - `filter`: the attached blksnap ``Tracker`` (only original devices can have one);
/// - `isDeleted`: set by `del_gendisk`; later I/O on still-open descriptors fails.
///
/// Owned by ``BlockLayer`` while it is in the namespace, and by open descriptors.
final class GenDisk: @unchecked Sendable {
    /// What backs the disk.
    enum Kind {
        /// A simulated original device.
        case device(SimBlockDevice)
        /// A snapshot image.
        case image(SnapshotImage)
    }

    let name: String
    let major: UInt32
    let minor: UInt32
    let kind: Kind
    /// The request-queue freeze lock.
    let queue = RWSemaphore()

    private struct State {
        var filter: Tracker?
        var isDeleted = false
    }
    private let state = PthreadMutex(State())

    init(name: String, major: UInt32, minor: UInt32, kind: Kind) {
        self.name = name
        self.major = major
        self.minor = minor
        self.kind = kind
    }

    /// The device, for an original disk.
    var device: SimBlockDevice? {
        if case .device(let device) = kind { return device }
        return nil
    }

    /// The image, for an image disk.
    var image: SnapshotImage? {
        if case .image(let image) = kind { return image }
        return nil
    }

    /// Capacity in sectors (0 once deleted: `del_gendisk` sets the capacity to 0).
    var capacitySectors: UInt64 {
        if isDeleted { return 0 }
        switch kind {
        case .device(let device): return device.capacitySectors
        case .image(let image): return image.capacitySectors
        }
    }

    /// Logical block size in bytes.
    var logicalBlockSize: UInt32 {
        switch kind {
        case .device(let device): device.logicalBlockSize
        case .image(let image): image.logicalBlockSize
        }
    }

    /// Physical block size in bytes.
    var physicalBlockSize: UInt32 {
        switch kind {
        case .device(let device): device.physicalBlockSize
        case .image(let image): image.physicalBlockSize
        }
    }

    /// Minimum I/O size in bytes. An image gets its physical block size (the block
    /// layer raises `io_min` to the physical block size when that is set).
    var ioMin: UInt32 {
        switch kind {
        case .device(let device): device.ioMin
        case .image(let image): image.physicalBlockSize
        }
    }

    /// The attached tracker, if any.
    var filter: Tracker? { state.withLock { $0.filter } }

    /// Sets or clears the attached tracker (caller holds the queue frozen).
    func setFilter(_ tracker: Tracker?) { state.withLock { $0.filter = tracker } }

    /// True after `del_gendisk`.
    var isDeleted: Bool { state.withLock { $0.isDeleted } }

    /// `del_gendisk`: drains in-flight I/O (queue freeze), marks the disk dead and
    /// detaches its filter (§1.3: the block layer auto-detaches on disk removal).
    /// Returns the tracker that was attached.
    @discardableResult
    func delete() -> Tracker? {
        queue.withWriteLock {
            state.withLock { s in
                s.isDeleted = true
                let tracker = s.filter
                s.filter = nil
                return tracker
            }
        }
    }
}
