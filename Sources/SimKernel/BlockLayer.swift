#if canImport(Glibc)
import Glibc
#endif

/// The simulator's device namespace: every live disk by name, and the `dev_t`
/// allocators (the kernel's `/dev` + `add_disk`/`del_gendisk` registry).
///
/// - Original devices get synthetic majors from the local/experimental range
///   240–254: major 240 with increasing minors (the next major once 2^20 minors are used).
/// - Images get major 259 (`blkext`) with increasing minors, never reused; VAL-6.x
///   images get their own block major ``val6ImageMajor`` (`register_blkdev(0, …)`) and
///   the lowest free minor from 0 (`snapimage.c:new_minor`, an IDR).
/// - The dialect's control device (`/dev/blksnap-control`, `/dev/veeamblksnap`) is the
///   misc char device 10:``controlMinor``; VAL-7.0's `/dev/bdevfilter` is 10:``filterControlMinor``;
///   VAL-6.x's `/dev/veeamblksnap` is ``val6ControlMajor``:0 (`register_chrdev(0, …)`).
/// - Image names carry the dialect's prefix (`blksnap-image_M:m`, `veeamblksnapimg_M:m`,
///   `veeamblksnapimg<minor>`).
final class BlockLayer: @unchecked Sendable {
    /// Major of misc devices.
    static let controlMajor: UInt32 = 10
    /// The dynamic misc minor the simulator gives the control device.
    static let controlMinor: UInt32 = 248
    /// The dynamic misc minor the simulator gives `bdevfilter`.
    static let filterControlMinor: UInt32 = 247

    /// `st_rdev` of the control device: misc 10:``controlMinor`` (v5, VAL-7.0), or
    /// ``val6ControlMajor``:0 (VAL-6.x's own char major).
    var controlDeviceNumber: (major: UInt32, minor: UInt32) {
        dialect == .val6 ? (Self.val6ControlMajor, 0) : (Self.controlMajor, Self.controlMinor)
    }
    /// The user API whose node and image names this namespace uses.
    let dialect: SimDialect
    /// Major of the extended-devt allocator (images).
    static let imageMajor: UInt32 = 259
    /// The dynamic char major the simulator gives VAL-6.x's `/dev/veeamblksnap` (the
    /// kernel hands out dynamic char majors from 254 down; minor 0).
    static let val6ControlMajor: UInt32 = 254
    /// The dynamic block major the simulator gives VAL-6.x's images
    /// (`veeamblksnapimg`, `register_blkdev(0, …)`); simulated devices stay below it.
    static let val6ImageMajor: UInt32 = 252
    /// Most VAL-6.x image minors (`snapimage.c`: `1 << MINORBITS`).
    static let val6ImageMinorLimit: UInt32 = 1 << 20
    /// First synthetic major for simulated devices.
    static let firstDeviceMajor: UInt32 = 240
    /// Last synthetic major for simulated devices.
    static let lastDeviceMajor: UInt32 = 254
    private static let minorsPerMajor: UInt32 = 1 << 20

    private struct State {
        var disks: [String: GenDisk] = [:]
        var nextDeviceMajor = BlockLayer.firstDeviceMajor
        var nextDeviceMinor: UInt32 = 0
        var nextImageMinor: UInt32 = 0
    }
    private let state = PthreadMutex(State())

    init(dialect: SimDialect = .v5) { self.dialect = dialect }

    /// Adds an original device. `EEXIST` if the name is taken (or is the control
    /// device's), `EINVAL` for an empty name, one containing `/` or starting with the
    /// image prefix, or block sizes that are not powers of two ≥ 512, `ENOSPC` when the
    /// synthetic majors are exhausted.
    func addDevice(name: String, capacitySectors: UInt64, logicalBlockSize: UInt32,
                   physicalBlockSize: UInt32, ioMin: UInt32,
                   backing: SimBlockDevice.Backing) throws(SimErrno) -> GenDisk {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != "..",
              !name.hasPrefix(dialect.imageNamePrefix) else { throw SimErrno(EINVAL) }
        guard logicalBlockSize >= 512, logicalBlockSize.nonzeroBitCount == 1,
              physicalBlockSize >= logicalBlockSize, physicalBlockSize.nonzeroBitCount == 1
        else { throw SimErrno(EINVAL) }
        // Reserve the number first, create the media outside the lock (file I/O).
        let number: (UInt32, UInt32) = try state.withLock { (s) throws(SimErrno) -> (UInt32, UInt32) in
            if s.disks[name] != nil || name == dialect.controlName || name == dialect.filterControlName {
                throw SimErrno(EEXIST)
            }
            if s.nextDeviceMinor >= Self.minorsPerMajor {
                let last = dialect == .val6 ? Self.val6ImageMajor - 1 : Self.lastDeviceMajor
                guard s.nextDeviceMajor < last else { throw SimErrno(ENOSPC) }
                s.nextDeviceMajor += 1
                s.nextDeviceMinor = 0
            }
            defer { s.nextDeviceMinor += 1 }
            return (s.nextDeviceMajor, s.nextDeviceMinor)
        }
        let device = try SimBlockDevice(name: name, major: number.0, minor: number.1,
                                        capacitySectors: capacitySectors, logicalBlockSize: logicalBlockSize,
                                        physicalBlockSize: physicalBlockSize, ioMin: ioMin, backing: backing)
        let disk = GenDisk(name: name, major: number.0, minor: number.1, kind: .device(device))
        try state.withLock { (s) throws(SimErrno) in
            if s.disks[name] != nil { throw SimErrno(EEXIST) }
            s.disks[name] = disk
        }
        return disk
    }

    /// Creates and registers the image disk of an original device (`add_disk`); nil
    /// when a disk with that name already exists (`add_disk` fails `EEXIST`) or, on
    /// VAL-6.x, when the image minors are exhausted.
    func addImage(original: SimBlockDevice, capacitySectors: UInt64, diffArea: DiffArea,
                  originalCBT: CBTMap) -> GenDisk? {
        state.withLock { s in
            let major: UInt32, minor: UInt32
            if dialect == .val6 {
                // idr_alloc: the lowest minor no live image holds.
                let used = Set(s.disks.values.lazy.filter { $0.image != nil }.map(\.minor))
                var lowest: UInt32 = 0
                while used.contains(lowest) { lowest += 1 }
                guard lowest < Self.val6ImageMinorLimit else { return nil }
                (major, minor) = (Self.val6ImageMajor, lowest)
            } else {
                (major, minor) = (Self.imageMajor, s.nextImageMinor)
            }
            let name = dialect.imageName(originalMajor: original.major, originalMinor: original.minor, imageMinor: minor)
            if s.disks[name] != nil { return nil }
            if dialect != .val6 { s.nextImageMinor += 1 }
            let blockSize = diffArea.policy.imageBlockSize
            let image = SnapshotImage(name: name, major: major, minor: minor,
                                      capacitySectors: capacitySectors,
                                      logicalBlockSize: blockSize ?? original.logicalBlockSize,
                                      physicalBlockSize: blockSize ?? original.physicalBlockSize,
                                      diffArea: diffArea, originalCBT: originalCBT)
            let disk = GenDisk(name: name, major: major, minor: minor, kind: .image(image))
            s.disks[name] = disk
            return disk
        }
    }

    /// Removes a disk from the namespace (if it is still the registered one) and
    /// runs `del_gendisk` on it. Returns the tracker that was attached.
    @discardableResult
    func remove(_ disk: GenDisk) -> Tracker? {
        state.withLock { s in
            if s.disks[disk.name] === disk { s.disks[disk.name] = nil }
        }
        return disk.delete()
    }

    /// The disk named `name` (without `/dev/`).
    func disk(named name: String) -> GenDisk? { state.withLock { $0.disks[name] } }

    /// The live disk with this `dev_t`.
    func disk(major: UInt32, minor: UInt32) -> GenDisk? {
        state.withLock { s in s.disks.values.first { $0.major == major && $0.minor == minor } }
    }

    /// Every live disk, ordered by name.
    var disks: [GenDisk] { state.withLock { $0.disks.values.sorted { $0.name < $1.name } } }

    /// Resolves a path of the simulator's namespace (`/dev/NAME`).
    func lookup(path: String) -> Node? {
        guard path.hasPrefix("/dev/") else { return nil }
        let name = String(path.dropFirst(5))
        if name == dialect.controlName { return .control }
        if name == dialect.filterControlName { return .filterControl }
        return disk(named: name).map { .disk($0) }
    }

    /// What a path names.
    enum Node {
        /// The control device (`/dev/blksnap-control`, `/dev/veeamblksnap`).
        case control
        /// VAL-7.0's `/dev/bdevfilter`.
        case filterControl
        /// A disk (device or image).
        case disk(GenDisk)
    }

    /// `blkdev_get_by_path` for APPEND_STORAGE: `ENOENT` for an unknown path, `ENOTBLK`
    /// for the control device (a char device). An image as difference storage is not
    /// supported by the simulator: `EOPNOTSUPP` (Quirk.storageOnImage).
    func openBlockDevice(path: String) -> Result<SimBlockDevice, SimErrno> {
        switch lookup(path: path) {
        case nil: return .failure(SimErrno(ENOENT))
        case .control, .filterControl: return .failure(SimErrno(ENOTBLK))
        case .disk(let disk):
            guard let device = disk.device else { return .failure(SimErrno(EOPNOTSUPP)) }
            return .success(device)
        }
    }
}
