import SystemPackage

/// What `stat(2)` tells about a path, reduced to what blksnap needs.
public struct KernelFileStatus: Sendable, Equatable {
    /// `st_mode` (file type and permission bits).
    public var mode: UInt32
    /// `st_rdev`: the device number of a block or character special file.
    public var deviceNumber: DeviceNumber
    /// `st_size` in bytes (0 for device nodes on Linux).
    public var sizeBytes: UInt64
    /// `st_dev`: the device of the filesystem holding the path, when the backend knows
    /// it (the host kernel does; a simulator's nodes have none).
    public var containingDevice: DeviceNumber?

    /// Creates a status value.
    public init(mode: UInt32, deviceNumber: DeviceNumber, sizeBytes: UInt64, containingDevice: DeviceNumber? = nil) {
        self.mode = mode
        self.deviceNumber = deviceNumber
        self.sizeBytes = sizeBytes
        self.containingDevice = containingDevice
    }

    /// True for a block special file (`S_IFBLK`).
    public var isBlockDevice: Bool { mode & 0o170000 == 0o060000 }
    /// True for a character special file (`S_IFCHR`).
    public var isCharacterDevice: Bool { mode & 0o170000 == 0o020000 }
}

/// The syscall boundary of the package.
///
/// Every request that BlksnapKit sends to blksnap goes through one value of this
/// protocol. ``LinuxKernel`` makes the real system calls; the simulator
/// (`SimKernel`, in process) and `SimClient` (a simulator in another process)
/// answer the same request numbers on the same struct bytes.
///
/// Conventions, identical for every conformer:
/// - errors are thrown as `Errno`, read immediately after the call;
/// - `ioctl` never retries: an interrupted call throws `.interrupted` (EINTR) and the
///   caller decides (blksnap's WAIT_EVENT must not be restarted blindly, its timeout
///   would start again); `open`, `pread` and `pwrite` retry on EINTR; `close` never does.
public protocol KernelInterface: Sendable {
    /// `open(2)` of a device node (the control device, a block device, an image).
    func open(_ path: String, flags: Int32) throws(Errno) -> CInt
    /// `close(2)`.
    func close(_ fd: CInt) throws(Errno)
    /// `ioctl(2)` with a raw request number and a pointer to the argument struct.
    ///
    /// Returns the call's non-negative result.
    func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt
    /// `pread(2)`: returns the number of bytes read.
    func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int
    /// `pwrite(2)`: returns the number of bytes written.
    func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int
    /// `stat(2)` of a path in this kernel's namespace.
    func stat(_ path: String) throws(Errno) -> KernelFileStatus

    // MARK: What the backend can tell

    /// True when paths name the host's own devices, so that what the host shows about
    /// them applies: udev and sysfs, the udev database, host files mapped to block
    /// devices. False for a simulator, whose devices exist only in its namespace.
    var usesHostDevices: Bool { get }
    /// The kernel's tick rate (CONFIG_HZ), which converts WAIT_EVENT timeouts (jiffies
    /// on every blksnap module), or nil when the backend cannot tell.
    var ticksPerSecond: UInt32? { get }
    /// The block devices of this kernel's namespace, or nil when the backend cannot
    /// list them.
    func deviceInventory() -> DeviceInventory?
    /// Where every process using this kernel keeps what drivers must remember about
    /// snapshots (``SnapshotRecords``): `/run/blksnap` for the real kernel, a directory
    /// beside a simulator's socket; nil when only this process uses the kernel.
    var sharedStateDirectory: String? { get }
}

extension KernelInterface {
    /// Not the host's devices unless the backend says so.
    public var usesHostDevices: Bool { false }
    /// Unknown unless the backend says.
    public var ticksPerSecond: UInt32? { nil }
    /// Not listable unless the backend can.
    public func deviceInventory() -> DeviceInventory? { nil }
    /// This process only, unless the backend is shared.
    public var sharedStateDirectory: String? { nil }
}
