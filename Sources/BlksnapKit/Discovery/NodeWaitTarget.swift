/// The device node that ``DeviceDiscovery/waitForNode(_:timeout:pollInterval:)`` waits for.
public enum NodeWaitTarget: Sendable, Hashable, CustomStringConvertible {
    /// A device node path, such as `/dev/blksnap-image_8:16`: it has appeared when the
    /// path is a block special file whose device number the kernel knows (sysfs).
    case path(String)
    /// A device number: it has appeared when sysfs has `/sys/dev/block/MAJ:MIN` and its
    /// device node exists as a block special file with that number.
    case deviceNumber(DeviceNumber)

    /// The path, or `MAJ:MIN`.
    public var description: String {
        switch self {
        case .path(let path): return path
        case .deviceNumber(let number): return number.description
        }
    }
}
