import CUdev
import SystemPackage

/// A failure of device discovery, naming the device, the errno and what it means here.
///
/// `description` is a complete sentence for a user, for example
/// `"/tmp/disk.img is not a block device (ENOTBLK)"` or
/// `"block device 7:99 is not known to the kernel: no /sys/dev/block/7:99 (ENOENT)"`.
public struct DiscoveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong; each case fixes how ``description`` explains the errno.
    public enum Kind: Sendable, Equatable {
        /// `udev_new()` failed: libudev could not create a context.
        case udevUnavailable
        /// `stat(2)` of the device path failed (missing path, no permission, …).
        case statFailed
        /// The path exists but is not a block special file. The errno is `ENOTBLK`.
        case notABlockDevice
        /// The device number (or a device node's `st_rdev`) has no block device in sysfs.
        case unknownDevice
        /// Listing the `block` subsystem through libudev failed.
        case enumerationFailed
        /// The node did not appear before the timeout. The errno is `ETIMEDOUT`.
        case timedOut
        /// Polling the udev monitor's socket failed.
        case waitFailed
    }

    /// What went wrong.
    public var kind: Kind
    /// The device as the caller named it: a path such as `/dev/loop0`, or `MAJ:MIN`.
    public var device: String
    /// The errno reported by the failing call (or the one that describes the condition).
    public var errno: Errno

    /// Creates an error value.
    public init(_ kind: Kind, device: String, errno: Errno) {
        self.kind = kind
        self.device = device
        self.errno = errno
    }

    /// The errno's symbolic name, for example `ENOENT` (or `errno N` if unknown).
    public var errnoName: String { Self.name(of: errno) }

    /// A user-facing sentence: what failed, on which device, why, and the errno name.
    public var description: String {
        let code = errnoName
        switch kind {
        case .udevUnavailable:
            return "cannot look up \(device): libudev could not create a context: \(errno) (\(code))"
        case .statFailed:
            switch errno {
            case .noSuchFileOrDirectory:
                return "\(device) does not exist (\(code))"
            case .permissionDenied, .notPermitted:
                return "\(device) cannot be examined: permission denied, run as root (\(code))"
            default:
                return "cannot stat \(device): \(errno) (\(code))"
            }
        case .notABlockDevice:
            return "\(device) is not a block device (\(code))"
        case .unknownDevice:
            if let number = DeviceNumber(parsing: device) {
                return "block device \(device) is not known to the kernel: no /sys/dev/block/\(number) (\(code))"
            }
            return "\(device) is a block device node, but the kernel has no device with its number: stale node? (\(code))"
        case .enumerationFailed:
            return "cannot list block devices: libudev enumeration failed: \(errno) (\(code))"
        case .timedOut:
            return "device node for \(device) did not appear before the timeout (\(code))"
        case .waitFailed:
            return "waiting for \(device) failed: \(errno) (\(code))"
        }
    }

    /// The symbolic name of an errno value, via glibc's `strerrorname_np`.
    static func name(of errno: Errno) -> String {
        if let cName = cudev_errno_name(errno.rawValue) { return String(cString: cName) }
        return "errno \(errno.rawValue)"
    }
}
