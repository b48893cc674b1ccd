/// A snapshotted device and its image, as a ``Session`` reports them.
public struct SessionImage: Sendable, Hashable, Codable {
    /// The original device's path (as given to the session).
    public var devicePath: String
    /// The original device's number, `MAJ:MIN`.
    public var deviceNumber: String
    /// The image's device node, e.g. `/dev/blksnap-image_8:16`.
    public var imagePath: String

    /// Creates a value.
    public init(devicePath: String, deviceNumber: String, imagePath: String) {
        self.devicePath = devicePath
        self.deviceNumber = deviceNumber
        self.imagePath = imagePath
    }
}
