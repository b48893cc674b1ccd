/// The block devices a kernel has, as far as the guards need them: node path, number,
/// whether blksnap's filter is attached, the whole disk of a partition, and which
/// nodes are snapshot images.
///
/// Each backend lists its own (``KernelInterface/deviceInventory()``): ``LinuxKernel``
/// from sysfs (through ``DeviceDiscovery``), the simulator backends of
/// `BlksnapSimulator` from the simulator. A backend that cannot list yields an empty,
/// incomplete inventory (``isComplete`` false): guards then fall back to what they can
/// ask each device directly.
public struct DeviceInventory: Sendable {
    /// One block device or image.
    public struct Entry: Sendable, Hashable {
        /// Node path in the kernel's namespace.
        public var path: String
        /// Device number.
        public var number: DeviceNumber
        /// True when blksnap's filter is attached (`/sys/block/…/filter` reads "blksnap").
        public var isTracked: Bool
        /// The whole disk of a partition, nil for a whole disk.
        public var wholeDisk: DeviceNumber?
        /// For an image `blksnap-image_MAJ:MIN`: the original device's number.
        public var imageOriginal: DeviceNumber?

        /// Creates an entry.
        public init(path: String, number: DeviceNumber, isTracked: Bool, wholeDisk: DeviceNumber? = nil,
                    imageOriginal: DeviceNumber? = nil) {
            self.path = path
            self.number = number
            self.isTracked = isTracked
            self.wholeDisk = wholeDisk
            self.imageOriginal = imageOriginal
        }

        /// True for a snapshot image node.
        public var isImage: Bool { imageOriginal != nil }
    }

    /// The devices, ordered by number.
    public var entries: [Entry]
    /// False when the backend could not be enumerated (the entries are then empty).
    public var isComplete: Bool

    /// Creates an inventory from known entries.
    public init(entries: [Entry], isComplete: Bool = true) {
        self.entries = entries.sorted { $0.number < $1.number }
        self.isComplete = isComplete
    }

    /// The image name prefix of v5, `blksnap-image_` (§1.1).
    public static let imageNamePrefix = "blksnap-image_"

    /// The image name v5 gives the original `number` (8:16 → `blksnap-image_8:16`, §1.1).
    public static func imageName(ofOriginal number: DeviceNumber) -> String {
        imageNamePrefix + number.description
    }

    /// The image name prefixes that encode the original's number: v5's `blksnap-image_`
    /// and VAL-7.0's `veeamblksnapimg_` (VAL-6.x numbers its images instead).
    public static let originalEncodingImagePrefixes = [imageNamePrefix, "veeamblksnapimg_"]

    /// The original's number encoded in an image name (`blksnap-image_8:16` or
    /// `veeamblksnapimg_8:16` → 8:16).
    public static func imageOriginal(ofName name: String) -> DeviceNumber? {
        guard let prefix = originalEncodingImagePrefixes.first(where: { name.hasPrefix($0) }) else { return nil }
        return DeviceNumber(parsing: name.dropFirst(prefix.count))
    }

    /// The devices of `kernel`'s namespace (``KernelInterface/deviceInventory()``), or
    /// an empty, incomplete inventory when the backend cannot list them.
    public static func read(from kernel: any KernelInterface) -> DeviceInventory {
        kernel.deviceInventory() ?? DeviceInventory(entries: [], isComplete: false)
    }

    /// The host's block devices, read from sysfs (each device's `filter` attribute tells
    /// whether blksnap's filter is attached, so no ioctl is needed).
    static func readHost() -> DeviceInventory {
        guard let discovery = try? DeviceDiscovery(), let records = try? discovery.blockDevices() else {
            return DeviceInventory(entries: [], isComplete: false)
        }
        return DeviceInventory(entries: records.map { record in
            Entry(path: record.devnodePath, number: record.deviceNumber, isTracked: record.filterName == FilterName.blksnap,
                  wholeDisk: record.isPartition ? record.wholeDisk : nil,
                  imageOriginal: imageOriginal(ofName: record.sysname))
        })
    }

    /// The entry with this number.
    public func entry(_ number: DeviceNumber) -> Entry? { entries.first { $0.number == number } }

    /// Every snapshot image.
    public var images: [Entry] { entries.filter(\.isImage) }

    /// The device itself, its whole disk (for a partition) and its partitions (for a
    /// whole disk): the devices whose sectors overlap `number`'s.
    public func related(to number: DeviceNumber) -> [Entry] {
        let whole = entry(number)?.wholeDisk
        return entries.filter { entry in
            guard !entry.isImage else { return false }
            return entry.number == number || entry.wholeDisk == number || (whole != nil && entry.number == whole)
        }
    }
}
