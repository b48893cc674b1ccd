/// One blksnap user API (``BlksnapABI``) over a ``KernelInterface``: every request the
/// library sends to a module goes through a driver, which marshals its ABI's structs and
/// maps its errno and event codes to the library's types.
///
/// ``Control`` (snapshots, storage, events) and ``BlockDevice`` (tracking, CBT,
/// membership) are the portable faces over a driver; callers that must behave
/// differently per ABI ask ``capabilities``, never the driver's concrete type.
///
/// A driver holds the module's node descriptors (its control device, and a filter
/// device where the ABI has one), opened on first use and closed by ``closeControl()``.
/// Requests an ABI cannot express throw a ``BlksnapError`` whose message names the ABI
/// and the alternative (``BlksnapError/unsupported(_:_:_:devicePath:snapshotID:)``).
public protocol BlksnapDriver: Sendable {
    /// The user API.
    var abi: BlksnapABI { get }
    /// What the API can do.
    var capabilities: BlksnapCapabilities { get }
    /// Where the requests go.
    var kernel: any KernelInterface { get }
    /// The control device's path in the kernel's namespace.
    var controlPath: String { get }

    /// Opens the control device now (it is otherwise opened on first use), so that a
    /// missing module is reported before anything else is done.
    func openControl() throws(BlksnapError)
    /// Closes the module's nodes; later requests fail with `EBADF`. Closing twice does nothing.
    func closeControl() throws(BlksnapError)

    // MARK: Control device

    /// The module's version.
    func version() throws(BlksnapError) -> Version
    /// Creates a snapshot (see ``SnapshotCreation`` for what each ABI takes at create).
    func createSnapshot(_ creation: SnapshotCreation) throws(BlksnapError) -> SnapshotID
    /// Destroys a snapshot (an unknown id: `ENODEV` on every ABI).
    func destroySnapshot(_ id: SnapshotID) throws(BlksnapError)
    /// Appends sector ranges of a block device to the snapshot's storage.
    func appendStorage(_ id: SnapshotID, devicePath: String, ranges: [SectorRange]) throws(BlksnapError)
    /// Takes the snapshot.
    func takeSnapshot(_ id: SnapshotID) throws(BlksnapError)
    /// The ids of the snapshots the module lists, in its order.
    func collectSnapshots(attempts: Int) throws(BlksnapError) -> [SnapshotID]
    /// One WAIT_EVENT of `timeoutTicks` jiffies (at most ``BlksnapCapabilities/maximumWaitTicks``);
    /// nil when none arrived (the modules' `ENOENT`). The event is decoded with the ABI's codes.
    func waitEventOnce(_ id: SnapshotID, timeoutTicks: UInt32) throws(BlksnapError) -> SnapshotEvent?

    // MARK: Devices

    /// Starts tracking the device (fresh CBT).
    func attach(_ device: BlockDevice) throws(BlksnapError)
    /// Stops tracking the device (its CBT is lost).
    func detach(_ device: BlockDevice) throws(BlksnapError)
    /// The device's CBT parameters.
    func cbtInfo(_ device: BlockDevice) throws(BlksnapError) -> CBTInfo
    /// `length` bytes of the CBT read map from block `offset`; the whole range or an error.
    func cbtMap(_ device: BlockDevice, offset: UInt32, length: UInt32) throws(BlksnapError) -> [UInt8]
    /// Marks sector ranges changed in both CBT maps; every range is applied or an error thrown.
    func markDirty(_ device: BlockDevice, _ ranges: [SectorRange]) throws(BlksnapError)
    /// Adds the (tracked) device to a snapshot not yet taken.
    func addToSnapshot(_ device: BlockDevice, _ id: SnapshotID) throws(BlksnapError)
    /// The device's image and difference-area state in its snapshot.
    func snapshotInfo(_ device: BlockDevice) throws(BlksnapError) -> SnapshotInfo
    /// Whether a node name (the last path component) is one of this module's snapshot
    /// images, and of which original when the name tells.
    func imageOriginal(ofNodeName name: String) -> ImageNodeName?
}

/// What an image node's name tells: that it is an image, and the original's number
/// where the ABI encodes it in the name (v5 and VAL-7.0 do; VAL-6.x numbers images).
public struct ImageNodeName: Sendable, Hashable {
    /// The original device's number, when the name encodes it.
    public var original: DeviceNumber?

    /// Creates a value.
    public init(original: DeviceNumber?) { self.original = original }
}

extension BlksnapDriver {
    /// The collect protocol with the library's default number of attempts.
    public func collectSnapshots() throws(BlksnapError) -> [SnapshotID] {
        try collectSnapshots(attempts: 8)
    }
}
