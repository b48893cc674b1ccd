#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI

/// What `stat` tells about a path in the simulator's namespace.
public struct SimStat: Sendable, Equatable {
    /// `st_mode`: `S_IFBLK | 0660` for devices and images, `S_IFCHR | 0600` for the control device.
    public var mode: UInt32
    /// Major of `st_rdev`.
    public var major: UInt32
    /// Minor of `st_rdev`.
    public var minor: UInt32
    /// Size in bytes as BLKGETSIZE64 would report (0 for the control device).
    public var sizeBytes: UInt64

    /// Creates a value (the wire decoder rebuilds one from its fields).
    package init(mode: UInt32, major: UInt32, minor: UInt32, sizeBytes: UInt64) {
        self.mode = mode
        self.major = major
        self.minor = minor
        self.sizeBytes = sizeBytes
    }
}

/// A simulated block device or image as listed by ``SimKernel/listDevices()``.
public struct SimDeviceInfo: Sendable, Equatable {
    /// Name without `/dev/`.
    public var name: String
    /// Path in the simulator's namespace (`/dev/NAME`).
    public var path: String
    /// Major number.
    public var major: UInt32
    /// Minor number.
    public var minor: UInt32
    /// Capacity in 512-byte sectors.
    public var capacitySectors: UInt64
    /// Logical block size in bytes.
    public var logicalBlockSize: UInt32
    /// Physical block size in bytes.
    public var physicalBlockSize: UInt32
    /// Minimum I/O size in bytes.
    public var ioMin: UInt32
    /// True for a snapshot image (`blksnap-image_M:m`).
    public var isImage: Bool
    /// Name of the attached filter (`blksnap`), as `/sys/block/NAME/filter` shows it, or nil.
    public var filter: String?

    /// Creates a value (the wire decoder rebuilds one from its fields).
    package init(name: String, path: String, major: UInt32, minor: UInt32, capacitySectors: UInt64,
                 logicalBlockSize: UInt32, physicalBlockSize: UInt32, ioMin: UInt32, isImage: Bool, filter: String?) {
        self.name = name
        self.path = path
        self.major = major
        self.minor = minor
        self.capacitySectors = capacitySectors
        self.logicalBlockSize = logicalBlockSize
        self.physicalBlockSize = physicalBlockSize
        self.ioMin = ioMin
        self.isImage = isImage
        self.filter = filter
    }
}

/// The difference-storage counters of one snapshot (§5.1), which no ioctl exposes.
public struct SimStorageCounters: Sendable, Equatable {
    /// Sum of all appended range counts, in sectors.
    public var capacitySectors: UInt64
    /// Sectors consumed by regions or wasted as abandoned range tails.
    public var filledSectors: UInt64
    /// Sectors requested from user space through low_free_space events.
    public var requestedSectors: UInt64
}

/// The CBT state of one tracked device, for tests (§3).
public struct SimCBTState: Sendable, Equatable {
    /// Capacity the map was sized for, in sectors.
    public var capacitySectors: UInt64
    /// CBT block size in bytes.
    public var blockSizeBytes: UInt64
    /// Number of CBT blocks.
    public var blockCount: UInt64
    /// Snap number written by new writes.
    public var activeNumber: UInt32
    /// Snap number of the last take (`changes_number`).
    public var previousNumber: UInt32
    /// Set by a write past the map's end.
    public var isCorrupted: Bool
    /// Bytes allocated for the two maps.
    public var mapMemoryBytes: UInt64
}

/// A blksnap module and the block-device filter layer, reimplemented, speaking one
/// ``SimDialect``: v5 (the default), Veeam's VAL-7.0 or Veeam's VAL-6.3.1.
///
/// It answers `open`, `close`, `ioctl`, `pread`, `pwrite` and `stat` in its own
/// namespace: the dialect's control device (`/dev/blksnap-control`; VAL-7.0:
/// `/dev/veeamblksnap` and `/dev/bdevfilter`; VAL-6.x: `/dev/veeamblksnap`), the
/// simulated devices `/dev/NAME`, and the images (`/dev/blksnap-image_<maj>:<min>`;
/// VAL-7.0: `veeamblksnapimg_<maj>:<min>`; VAL-6.x: `veeamblksnapimg<image minor>`).
/// Return values follow the kernel: a non-negative result, or a negative errno.
///
/// Locking mirrors the kernel: the global snapshot list has a reader/writer lock, each
/// snapshot an `rw_lock`, each tracker a ctl mutex, each disk a request-queue freeze
/// (I/O in flight holds it shared, attach/detach/take/release hold it exclusively).
/// Every entry point is safe to call from any thread.
public final class SimKernel: @unchecked Sendable {
    /// The module parameters in force.
    public let params: LiveParams

    /// Sets a module parameter at run time, as writing its `/sys/module/…/parameters/`
    /// file does; false for a name the dialect's module does not have.
    public func setParameter(_ name: String, to value: UInt32) -> Bool {
        guard dialect.hasParameter(name) else { return false }
        var known = false
        params.update { known = $0.set(name, to: value) }
        return known
    }
    /// The user API this kernel answers.
    public let dialect: SimDialect

    let blockLayer: BlockLayer
    let snapshots = SnapshotList()
    /// The Veeam modules' log configuration (SETLOG).
    let moduleLog = ModuleLog()
    /// VAL-6.x's list of tracked devices (TRACKER_COLLECT).
    let trackedDevices = TrackedDeviceList()

    private enum OpenFile {
        case control
        case filterControl
        case disk(GenDisk)
    }
    private let files = PthreadMutex<[Int32: OpenFile]>([:])
    /// First descriptor number handed out (0–2 look like the standard streams).
    private static let firstDescriptor: Int32 = 3

    /// Creates a simulator with these parameters (normalized as `dialect`'s module does
    /// at load), speaking `dialect`.
    public init(params: Params = Params(), dialect: SimDialect = .v5) {
        self.params = LiveParams(params, dialect: dialect)
        self.dialect = dialect
        self.blockLayer = BlockLayer(dialect: dialect)
    }

    // MARK: Simulated hardware

    private static func info(_ disk: GenDisk) -> SimDeviceInfo {
        SimDeviceInfo(name: disk.name, path: "/dev/" + disk.name, major: disk.major, minor: disk.minor,
                      capacitySectors: disk.capacitySectors, logicalBlockSize: disk.logicalBlockSize,
                      physicalBlockSize: disk.physicalBlockSize, ioMin: disk.ioMin,
                      isImage: disk.image != nil, filter: disk.filter == nil ? nil : BlockFilter.name)
    }

    /// Adds a device `/dev/NAME` with a synthetic major from the local range
    /// (major 240, increasing minors).
    ///
    /// - Throws: `EEXIST` for a taken name; `EINVAL` for an empty name, one with `/`
    ///   or starting with `blksnap-image`, or block sizes that are not powers of two
    ///   ≥ 512 with physical ≥ logical; a host errno if a file backing cannot be set up.
    public func addDevice(name: String, capacitySectors: UInt64, logicalBlockSize: UInt32 = 512,
                          physicalBlockSize: UInt32 = 4096, ioMin: UInt32 = 512,
                          backing: SimBlockDevice.Backing = .memory) throws(SimErrno) -> SimDeviceInfo {
        let disk = try blockLayer.addDevice(name: name, capacitySectors: capacitySectors,
                                            logicalBlockSize: logicalBlockSize,
                                            physicalBlockSize: physicalBlockSize, ioMin: ioMin, backing: backing)
        return Self.info(disk)
    }

    /// Changes a device's capacity (the kernel notices at the next take, §3.5).
    ///
    /// - Throws: `ENOENT` for an unknown name, `EINVAL` for an image.
    public func resizeDevice(name: String, capacitySectors: UInt64) throws(SimErrno) {
        guard let disk = blockLayer.disk(named: name) else { throw SimErrno(ENOENT) }
        guard let device = disk.device else { throw SimErrno(EINVAL) }
        try device.resize(capacitySectors: capacitySectors)
    }

    /// Removes a device (`del_gendisk`: its filter is detached, §1.3). A snapshot that
    /// holds the device's tracker keeps it until destroyed; open descriptors fail I/O.
    ///
    /// - Throws: `ENOENT` for an unknown name, `EINVAL` for an image (images go away
    ///   with their snapshot).
    public func removeDevice(name: String) throws(SimErrno) {
        guard let disk = blockLayer.disk(named: name) else { throw SimErrno(ENOENT) }
        guard disk.device != nil else { throw SimErrno(EINVAL) }
        blockLayer.remove(disk)
    }

    /// Every device and live image, ordered by name.
    public func listDevices() -> [SimDeviceInfo] { blockLayer.disks.map(Self.info) }

    // MARK: System calls

    /// `open(2)`: returns a descriptor of the simulator (not a host descriptor) or `-errno`
    /// (`-ENOENT` for a path outside the namespace). Flags are accepted and ignored.
    public func open(_ path: String, flags: Int32) -> Int32 {
        let file: OpenFile
        switch blockLayer.lookup(path: path) {
        case nil: return -ENOENT
        case .control: file = .control
        case .filterControl: file = .filterControl
        case .disk(let disk): file = .disk(disk)
        }
        return files.withLock { table in
            var fd = Self.firstDescriptor
            while table[fd] != nil { fd += 1 }
            table[fd] = file
            return fd
        }
    }

    /// `close(2)`: 0 or `-EBADF`.
    public func close(_ fd: Int32) -> Int32 {
        files.withLock { $0.removeValue(forKey: fd) == nil ? -EBADF : 0 }
    }

    private func file(_ fd: Int32) -> OpenFile? { files.withLock { $0[fd] } }

    /// `ioctl(2)`: `argument` is a user address in `memory`.
    ///
    /// On the control device: the dialect's blksnap ioctls (v5 §1.2; VAL-7.0 §2.4). On
    /// VAL-7.0's `/dev/bdevfilter`: its ioctls (§2.3). On a device or image: BLKGETSIZE64,
    /// BLKSSZGET, BLKPBSZGET, BLKIOMIN and, in v5, the BLKFILTER ioctls (§1.3); any other
    /// request → `-ENOTTY`. Unknown descriptor → `-EBADF`.
    ///
    /// - Parameter interrupted: polled by sleeping calls (WAIT_EVENT); returning true
    ///   acts as a signal (the call ends with `-EINTR`).
    public func ioctl(_ fd: Int32, _ request: UInt, _ argument: UInt64, memory: some UserMemory,
                      interrupted: @escaping () -> Bool = { false }) -> Int32 {
        switch file(fd) {
        case nil:
            return -EBADF
        case .control:
            switch dialect {
            case .v5:
                return V5Control(params: params, snapshots: snapshots, blockLayer: blockLayer)
                    .ioctl(request: request, argument: argument, memory: memory, interrupted: interrupted)
            case .val7:
                return VAL7Control(params: params, snapshots: snapshots, blockLayer: blockLayer, log: moduleLog)
                    .ioctl(request: request, argument: argument, memory: memory, interrupted: interrupted)
            case .val6:
                return VAL6Control(params: params, snapshots: snapshots, blockLayer: blockLayer, log: moduleLog,
                                   trackedDevices: trackedDevices)
                    .ioctl(request: request, argument: argument, memory: memory, interrupted: interrupted)
            }
        case .filterControl:
            return BdevFilter(params: params, snapshots: snapshots, blockLayer: blockLayer)
                .ioctl(request: request, argument: argument, memory: memory)
        case .disk(let disk):
            return BlockFilter(params: params, snapshots: snapshots, dialect: dialect)
                .ioctl(disk: disk, request: request, argument: argument, memory: memory)
        }
    }

    /// The logical-block-aligned sector range a buffered write of `count` bytes at
    /// `offset` submits (the page cache writes whole blocks).
    private static func sectorRange(offset: UInt64, count: Int, logicalBlockSize: UInt32,
                                    capacityBytes: UInt64) -> (sector: UInt64, count: UInt64) {
        let block = UInt64(logicalBlockSize)
        let start = offset / block * block
        let end = min((offset + UInt64(count) + block - 1) / block * block, capacityBytes)
        return (start / 512, (end - start + 511) / 512)
    }

    /// `pread(2)` of a device or image: bytes read or `-errno`. Reads at or past the
    /// end return 0; I/O on a deleted disk fails `-EIO`; the control device `-EINVAL`.
    public func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) -> Int {
        guard let file = file(fd) else { return -Int(EBADF) }
        guard case .disk(let disk) = file else { return -Int(EINVAL) }
        return disk.queue.withReadLock {
            if disk.isDeleted { return -Int(EIO) }
            let capacity = disk.capacitySectors * 512
            guard offsetBytes < capacity, !buffer.isEmpty else { return 0 }
            let count = Int(min(UInt64(buffer.count), capacity - offsetBytes))
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            switch disk.kind {
            case .device(let device):
                return device.readRaw(into: target, atByte: offsetBytes)
            case .image(let image):
                let result = image.read(into: target, atByte: offsetBytes)
                return result == 0 ? count : Int(result)
            }
        }
    }

    /// `pwrite(2)` to a device (through its filter) or an image: bytes written or `-errno`.
    /// `nowait` is `RWF_NOWAIT` (`REQ_NOWAIT`): a write needing a COW load fails `-EAGAIN`.
    /// A write starting at or past the end fails `-ENOSPC`; a longer one is cut at the end;
    /// a zero-length write returns 0 without reaching the filter.
    public func pwrite(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64,
                       nowait: Bool = false) -> Int {
        guard let file = file(fd) else { return -Int(EBADF) }
        guard case .disk(let disk) = file else { return -Int(EINVAL) }
        return disk.queue.withReadLock {
            if disk.isDeleted { return -Int(EIO) }
            if buffer.isEmpty { return 0 }
            let capacity = disk.capacitySectors * 512
            guard offsetBytes < capacity else { return -Int(ENOSPC) }
            let count = Int(min(UInt64(buffer.count), capacity - offsetBytes))
            let source = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            switch disk.kind {
            case .device(let device):
                if let tracker = disk.filter {
                    let range = Self.sectorRange(offset: offsetBytes, count: count,
                                                 logicalBlockSize: device.logicalBlockSize, capacityBytes: capacity)
                    let result = tracker.filterWrite(sector: range.sector, count: range.count, nowait: nowait)
                    if result != 0 { return Int(result) }
                }
                return device.writeRaw(source, atByte: offsetBytes)
            case .image(let image):
                // A tracker on the image (Quirk.filterOnImages) marks its CBT first; it
                // never has a snapshot of its own, so nothing is copied.
                if let tracker = disk.filter {
                    let range = Self.sectorRange(offset: offsetBytes, count: count,
                                                 logicalBlockSize: image.logicalBlockSize, capacityBytes: capacity)
                    _ = tracker.filterWrite(sector: range.sector, count: range.count, nowait: nowait)
                }
                let result = image.write(source, atByte: offsetBytes)
                return result == 0 ? count : Int(result)
            }
        }
    }

    /// `fsync(2)` of a device or image: 0, `-EBADF` or `-EINVAL` (the control device).
    /// Flushes the host backing file of every device, because an image's bytes live on
    /// its original and in the difference storage, and a device write may have stored
    /// a COW copy elsewhere.
    public func fsync(_ fd: Int32) -> Int32 {
        guard let file = file(fd) else { return -EBADF }
        guard case .disk = file else { return -EINVAL }
        for disk in blockLayer.disks {
            if case .device(let device) = disk.kind { device.flush() }
        }
        return 0
    }

    /// `stat(2)` in the simulator's namespace: `ENOENT` outside it.
    public func stat(_ path: String) -> Result<SimStat, SimErrno> {
        switch blockLayer.lookup(path: path) {
        case nil:
            return .failure(SimErrno(ENOENT))
        case .control:
            let number = blockLayer.controlDeviceNumber
            return .success(SimStat(mode: UInt32(S_IFCHR) | 0o600, major: number.major,
                                    minor: number.minor, sizeBytes: 0))
        case .filterControl:
            return .success(SimStat(mode: UInt32(S_IFCHR) | 0o600, major: BlockLayer.controlMajor,
                                    minor: BlockLayer.filterControlMinor, sizeBytes: 0))
        case .disk(let disk):
            return .success(SimStat(mode: UInt32(S_IFBLK) | 0o660, major: disk.major, minor: disk.minor,
                                    sizeBytes: disk.capacitySectors * 512))
        }
    }

    // MARK: Introspection (read-only, for tests and the simulator's management surface)

    /// Ids of the listed snapshots, in creation order (what COLLECT reports).
    public var snapshotIDs: [SimUUID] { snapshots.withSnapshots { $0.map(\.id) } }

    /// The difference-storage counters of a listed snapshot, or nil.
    public func storageCounters(snapshot id: SimUUID) -> SimStorageCounters? {
        guard let snapshot = snapshots.get(id) else { return nil }
        defer { snapshot.put() }
        return SimStorageCounters(capacitySectors: snapshot.storage.capacitySectors,
                                  filledSectors: snapshot.storage.filledSectors,
                                  requestedSectors: snapshot.storage.requestedSectors)
    }

    /// Number of events waiting in a listed snapshot's queue, or nil.
    public func pendingEventCount(snapshot id: SimUUID) -> Int? {
        guard let snapshot = snapshots.get(id) else { return nil }
        defer { snapshot.put() }
        return snapshot.events.count
    }

    /// VAL-6.x: how many snapshots a later CREATE orphaned (Quirk.val6CreateOrphansOlder).
    public var orphanedSnapshotCount: Int { snapshots.orphanCount }

    /// Whether a listed snapshot is taken (TAKEN or BROKEN), or nil.
    public func isTaken(snapshot id: SimUUID) -> Bool? {
        guard let snapshot = snapshots.get(id) else { return nil }
        defer { snapshot.put() }
        return snapshot.taken
    }

    /// The CBT state of the tracker attached to device `name`, or nil if not tracked.
    public func cbtState(device name: String) -> SimCBTState? {
        guard let tracker = blockLayer.disk(named: name)?.filter else { return nil }
        let cbt = tracker.cbt
        return SimCBTState(capacitySectors: cbt.capacitySectors, blockSizeBytes: cbt.blockSizeBytes,
                           blockCount: cbt.blockCount, activeNumber: cbt.activeNumber,
                           previousNumber: cbt.previousNumber, isCorrupted: cbt.isCorrupted,
                           mapMemoryBytes: cbt.memoryBytes)
    }

    /// Number of open descriptors.
    public var openDescriptorCount: Int { files.withLock { $0.count } }
}
