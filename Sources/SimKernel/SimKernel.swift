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
}

/// The v5 blksnap module and the block-device filter layer, reimplemented.
///
/// It answers `open`, `close`, `ioctl`, `pread`, `pwrite` and `stat` in its own
/// namespace: `/dev/blksnap-control`, the simulated devices `/dev/NAME`, and the
/// images `/dev/blksnap-image_<maj>:<min>`. Return values follow the kernel: a
/// non-negative result, or a negative errno.
///
/// INTERFACE AGREED FOR PARALLEL WORK — bodies to be written by the control-plane work.
public final class SimKernel: @unchecked Sendable {
    /// The module parameters in force.
    public let params: LiveParams

    /// Creates a simulator with these parameters (normalized as at module load).
    public init(params: Params = Params()) {
        self.params = LiveParams(params)
    }

    // MARK: Simulated hardware

    /// Adds a device `/dev/NAME` with a synthetic major from the local range.
    public func addDevice(name: String, capacitySectors: UInt64, logicalBlockSize: UInt32 = 512,
                          physicalBlockSize: UInt32 = 4096, ioMin: UInt32 = 512,
                          backing: SimBlockDevice.Backing = .memory) throws(SimErrno) -> SimDeviceInfo {
        throw SimErrno(ENOSYS)
    }

    /// Changes a device's capacity (the kernel notices at the next take, §3.5).
    public func resizeDevice(name: String, capacitySectors: UInt64) throws(SimErrno) {
        throw SimErrno(ENOSYS)
    }

    /// Removes a device (`del_gendisk`: its filter is detached, §1.3).
    public func removeDevice(name: String) throws(SimErrno) {
        throw SimErrno(ENOSYS)
    }

    /// Every device and live image, ordered by name.
    public func listDevices() -> [SimDeviceInfo] { [] }

    // MARK: System calls

    /// `open(2)`: returns a descriptor of the simulator (not a host descriptor) or `-errno`.
    public func open(_ path: String, flags: Int32) -> Int32 { -ENOSYS }

    /// `close(2)`: 0 or `-EBADF`.
    public func close(_ fd: Int32) -> Int32 { -ENOSYS }

    /// `ioctl(2)`: `argument` is a user address in `memory`.
    ///
    /// - Parameter interrupted: polled by sleeping calls (WAIT_EVENT); returning true
    ///   acts as a signal (the call ends with `-EINTR`).
    public func ioctl(_ fd: Int32, _ request: UInt, _ argument: UInt64, memory: some UserMemory,
                      interrupted: @escaping () -> Bool = { false }) -> Int32 { -ENOSYS }

    /// `pread(2)` of a device or image: bytes read or `-errno`.
    public func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) -> Int {
        -Int(ENOSYS)
    }

    /// `pwrite(2)` to a device (through its filter) or an image: bytes written or `-errno`.
    /// `nowait` is `RWF_NOWAIT` (`REQ_NOWAIT`): a write needing a COW load fails `-EAGAIN`.
    public func pwrite(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64,
                       nowait: Bool = false) -> Int {
        -Int(ENOSYS)
    }

    /// `stat(2)` in the simulator's namespace.
    public func stat(_ path: String) -> Result<SimStat, SimErrno> { .failure(SimErrno(ENOSYS)) }
}
