import BlksnapKit

/// What a backup records about its device, and the key that tells whether two backups
/// are of the same device.
public struct DeviceIdentity: Sendable, Hashable {
    /// The device as given.
    public var devicePath: String
    /// `MAJ:MIN` in the backend's namespace.
    public var deviceNumber: DeviceNumber
    /// Capacity in bytes.
    public var capacityBytes: UInt64
    /// Logical block size in bytes.
    public var logicalBlockSize: UInt32
    /// udev `ID_SERIAL`, when the kernel has one.
    public var serial: String?
    /// udev `ID_WWN`, when the kernel has one.
    public var wwn: String?

    /// Creates a value.
    public init(devicePath: String, deviceNumber: DeviceNumber, capacityBytes: UInt64, logicalBlockSize: UInt32,
                serial: String? = nil, wwn: String? = nil) {
        self.devicePath = devicePath
        self.deviceNumber = deviceNumber
        self.capacityBytes = capacityBytes
        self.logicalBlockSize = logicalBlockSize
        self.serial = serial
        self.wwn = wwn
    }

    /// `wwn:…` when the device has a WWN, else `serial:…` (plus the partition's number,
    /// which a serial names the whole disk), else `path:…`: device numbers and even paths
    /// move between boots, a WWN does not.
    public var key: String {
        if let wwn { return "wwn:\(wwn)" + partitionSuffix }
        if let serial { return "serial:\(serial)" + partitionSuffix }
        return "path:\(devicePath)"
    }

    /// The partition number from the path (`sdb2` → `#2`), for keys built from the disk's WWN or serial.
    private var partitionSuffix: String {
        let name = devicePath.split(separator: "/").last.map(String.init) ?? devicePath
        let digits = name.reversed().prefix { $0.isNumber }
        guard !digits.isEmpty, name.count > digits.count else { return "" }
        let stem = name.dropLast(digits.count)
        // nvme0n1 is a disk, nvme0n1p1 a partition; sdb is a disk, sdb1 a partition.
        if stem.hasPrefix("nvme") || stem.hasPrefix("mmcblk") || stem.hasPrefix("loop") {
            guard stem.hasSuffix("p") else { return "" }
        }
        return "#" + String(digits.reversed())
    }

    /// Reads the identity of `device` through its backend; on the host kernel the serial
    /// and WWN come from the udev database (`/run/udev/data/bMAJ:MIN`).
    public static func read(_ device: BlockDevice, udevDataDirectory: String? = "/run/udev/data") throws(BlksnapError) -> DeviceIdentity {
        let number = try device.deviceNumber()
        var identity = DeviceIdentity(devicePath: device.path, deviceNumber: number,
                                      capacityBytes: try device.capacityBytes(),
                                      logicalBlockSize: try device.logicalBlockSize())
        if device.kernel.usesHostDevices, let directory = udevDataDirectory {
            let properties = udevProperties(path: "\(directory)/b\(number.major):\(number.minor)")
            identity.serial = properties["ID_SERIAL"]
            identity.wwn = properties["ID_WWN_WITH_EXTENSION"] ?? properties["ID_WWN"]
        }
        return identity
    }

    /// The `E:KEY=VALUE` lines of a udev database entry.
    static func udevProperties(path: String) -> [String: String] {
        guard let file = try? HostFile(path: path, flags: 0) else { return [:] }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = (try? buffer.withUnsafeMutableBytes { (raw) throws(BackupError) in try file.read(into: raw, at: 0) }) ?? 0
        var properties: [String: String] = [:]
        for line in String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\n") where line.hasPrefix("E:") {
            let body = line.dropFirst(2)
            guard let equals = body.firstIndex(of: "=") else { continue }
            properties[String(body[..<equals])] = String(body[body.index(after: equals)...])
        }
        return properties
    }
}
