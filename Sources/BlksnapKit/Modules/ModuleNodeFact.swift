#if canImport(Glibc)
import Glibc
#endif

/// One node or sysfs file that tells which module is loaded, as `stat` found it.
public struct ModuleNodeFact: Hashable, Sendable, Encodable {
    /// The host path (e.g. `/dev/veeamblksnap`).
    public var path: String
    /// True when the path exists.
    public var exists: Bool
    /// `character device`, `block device`, `regular file`, `directory`, `other`; nil when missing.
    public var kind: String?
    /// Permission bits in octal (`0600`); nil when missing.
    public var mode: String?
    /// `MAJOR:MINOR` of a device node; nil otherwise.
    public var deviceNumber: String?

    /// Creates a fact.
    public init(path: String, exists: Bool, kind: String?, mode: String?, deviceNumber: String?) {
        self.path = path
        self.exists = exists
        self.kind = kind
        self.mode = mode
        self.deviceNumber = deviceNumber
    }

    /// A fact from a `stat` result's mode and device number (nil: the path is missing).
    public init(path: String, mode: UInt32?, deviceNumber: DeviceNumber?) {
        guard let mode else {
            self.init(path: path, exists: false, kind: nil, mode: nil, deviceNumber: nil)
            return
        }
        let kind: String
        var number: String?
        switch mode & 0o170000 {
        case 0o020000: kind = "character device"; number = deviceNumber.map { "\($0.major):\($0.minor)" }
        case 0o060000: kind = "block device"; number = deviceNumber.map { "\($0.major):\($0.minor)" }
        case 0o100000: kind = "regular file"
        case 0o040000: kind = "directory"
        default: kind = "other"
        }
        let permissions = String(mode & 0o7777, radix: 8)
        self.init(path: path, exists: true, kind: kind,
                  mode: String(repeating: "0", count: max(0, 4 - permissions.count)) + permissions, deviceNumber: number)
    }

    /// The nodes of ``ModuleNodes/allPaths`` as `kernel.stat` sees them (the simulator's namespace, or the host's).
    public static func facts(in kernel: any KernelInterface) -> [ModuleNodeFact] {
        ModuleNodes.allPaths.map { path in
            let status = try? kernel.stat(path)
            return ModuleNodeFact(path: path, mode: status?.mode, deviceNumber: status?.deviceNumber)
        }
    }

    /// The nodes of ``ModuleNodes/allPaths`` as files below `root` (nodes of a test tree may be plain files).
    public static func facts(root: String) -> [ModuleNodeFact] {
        let files = HostFiles(root: root)
        return ModuleNodes.allPaths.map { path in
            guard let status = files.status(path) else { return ModuleNodeFact(path: path, mode: nil, deviceNumber: nil) }
            return ModuleNodeFact(path: path, mode: UInt32(status.st_mode),
                                  deviceNumber: DeviceNumber(rawValue: UInt64(status.st_rdev)))
        }
    }
}
