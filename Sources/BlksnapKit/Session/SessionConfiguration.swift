/// How a ``Session`` runs.
public struct SessionConfiguration: Sendable, Hashable {
    /// The devices to snapshot, as paths in the kernel's namespace (order kept for the images).
    public var devices: [String]
    /// Sectors appended per step; each step is at least what the kernel asked for
    /// (`max(requested, step)`), and a step larger than the request is also kept as
    /// headroom above the requested total (`step − requested`): the larger the step, the
    /// longer a writer may outrun the session. 0: exactly what the kernel asks.
    public var stepSectors: UInt64
    /// Most sectors of storage the session appends in total; nil: no limit (the
    /// provider's own end is the limit).
    public var limitSectors: UInt64?
    /// Detach, at the end, the trackers this session attached (their CBT is lost).
    /// Trackers attached before the session are never touched.
    public var detachAttachedTrackers: Bool
    /// Longest single `WAIT_EVENT` sleep, in milliseconds: how quickly a stop is noticed.
    public var pollMilliseconds: UInt64
    /// The kernel's HZ, to convert ``pollMilliseconds`` into the jiffies v5 actually
    /// uses (250 on common distribution kernels; the simulator's `hz` parameter).
    public var hz: UInt32
    /// How long to wait for an image node to appear after take, and to vanish after destroy.
    public var imageNodeTimeout: Duration
    /// End the loop on the first `corrupted` event instead of waiting to be stopped.
    public var endOnCorruption: Bool
    /// Allow difference storage on a tracked device, a member, or its partition or whole
    /// disk (``StorageGuard``: refused by default, §4.5).
    public var allowSameDeviceStorage: Bool
    /// How often, at most, the event loop checks that every member is still protected
    /// (``ProtectionCheck``: not detached, not resized); 0 checks after every wait. A
    /// kernel uevent for a block device (real kernel, root) triggers a check at once.
    public var protectionCheckMilliseconds: UInt64

    /// Creates a configuration.
    public init(devices: [String], stepSectors: UInt64 = 0, limitSectors: UInt64? = nil,
                detachAttachedTrackers: Bool = false, pollMilliseconds: UInt64 = 100, hz: UInt32 = 250,
                imageNodeTimeout: Duration = .seconds(10), endOnCorruption: Bool = false,
                allowSameDeviceStorage: Bool = false, protectionCheckMilliseconds: UInt64 = 1000) {
        self.devices = devices
        self.stepSectors = stepSectors
        self.limitSectors = limitSectors
        self.detachAttachedTrackers = detachAttachedTrackers
        self.pollMilliseconds = pollMilliseconds
        self.hz = hz
        self.imageNodeTimeout = imageNodeTimeout
        self.endOnCorruption = endOnCorruption
        self.allowSameDeviceStorage = allowSameDeviceStorage
        self.protectionCheckMilliseconds = protectionCheckMilliseconds
    }
}
