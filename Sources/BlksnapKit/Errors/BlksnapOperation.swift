/// The operation a ``BlksnapError`` comes from: one case per ioctl (and
/// `BLKFILTER_CTL` sub-command) BlksnapKit issues, plus opening the nodes.
@frozen
public enum BlksnapOperation: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// `open(2)` of `/dev/blksnap-control`.
    case openControl
    /// `open(2)` of a block device.
    case openDevice
    /// `close(2)` of a descriptor.
    case close
    /// `stat(2)` of a path.
    case stat
    /// `IOCTL_BLKSNAP_VERSION`.
    case version
    /// `IOCTL_BLKSNAP_SNAPSHOT_CREATE`.
    case createSnapshot
    /// `IOCTL_BLKSNAP_SNAPSHOT_DESTROY`.
    case destroySnapshot
    /// `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE`.
    case appendStorage
    /// `IOCTL_BLKSNAP_SNAPSHOT_TAKE`.
    case takeSnapshot
    /// `IOCTL_BLKSNAP_SNAPSHOT_COLLECT`.
    case collectSnapshots
    /// `IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT`.
    case waitEvent
    /// `BLKFILTER_ATTACH`.
    case attachFilter
    /// `BLKFILTER_DETACH`.
    case detachFilter
    /// `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtinfo`.
    case cbtInfo
    /// `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtmap`.
    case cbtMap
    /// `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_cbtdirty`.
    case markDirty
    /// `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_snapshotadd`.
    case addToSnapshot
    /// `BLKFILTER_CTL` with `blkfilter_ctl_blksnap_snapshotinfo`.
    case snapshotInfo
    /// `BLKGETSIZE64`.
    case capacity
    /// `BLKSSZGET`.
    case logicalBlockSize
    /// Not a call: a device's difference area was found corrupted (an event or
    /// `snapshotinfo.error_code`).
    case snapshotCorruption
    /// `pwrite(2)` to a block device (a restore onto it).
    case writeDevice

    /// The kernel's name for the request, as in the UAPI header.
    public var requestName: String {
        switch self {
        case .openControl: return "open"
        case .openDevice: return "open"
        case .close: return "close"
        case .stat: return "stat"
        case .version: return "IOCTL_BLKSNAP_VERSION"
        case .createSnapshot: return "IOCTL_BLKSNAP_SNAPSHOT_CREATE"
        case .destroySnapshot: return "IOCTL_BLKSNAP_SNAPSHOT_DESTROY"
        case .appendStorage: return "IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE"
        case .takeSnapshot: return "IOCTL_BLKSNAP_SNAPSHOT_TAKE"
        case .collectSnapshots: return "IOCTL_BLKSNAP_SNAPSHOT_COLLECT"
        case .waitEvent: return "IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT"
        case .attachFilter: return "BLKFILTER_ATTACH"
        case .detachFilter: return "BLKFILTER_DETACH"
        case .cbtInfo: return "BLKFILTER_CTL cbtinfo"
        case .cbtMap: return "BLKFILTER_CTL cbtmap"
        case .markDirty: return "BLKFILTER_CTL cbtdirty"
        case .addToSnapshot: return "BLKFILTER_CTL snapshotadd"
        case .snapshotInfo: return "BLKFILTER_CTL snapshotinfo"
        case .capacity: return "BLKGETSIZE64"
        case .logicalBlockSize: return "BLKSSZGET"
        case .snapshotCorruption: return "snapshot corruption"
        case .writeDevice: return "pwrite"
        }
    }

    /// The request's name in the user API of `abi` (``requestName`` for v5).
    public func requestName(in abi: BlksnapABI) -> String {
        switch abi {
        case .v5:
            return requestName
        case .val7:
            switch self {
            case .attachFilter: return "BDEVFILTER_ATTACH"
            case .detachFilter: return "BDEVFILTER_DETACH"
            case .cbtInfo: return "BDEVFILTER_CTL cbtinfo"
            case .cbtMap: return "BDEVFILTER_CTL cbtmap"
            case .markDirty: return "BDEVFILTER_CTL cbtdirty"
            case .addToSnapshot: return "BDEVFILTER_CTL snapshotadd"
            case .snapshotInfo: return "BDEVFILTER_CTL snapshotinfo"
            default: return requestName
            }
        case .val6:
            switch self {
            case .version: return "IOCTL_BLK_SNAP_VERSION"
            case .createSnapshot, .attachFilter, .addToSnapshot: return "IOCTL_BLK_SNAP_SNAPSHOT_CREATE"
            case .destroySnapshot: return "IOCTL_BLK_SNAP_SNAPSHOT_DESTROY"
            case .appendStorage: return "IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE"
            case .takeSnapshot: return "IOCTL_BLK_SNAP_SNAPSHOT_TAKE"
            case .collectSnapshots: return "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT"
            case .waitEvent: return "IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT"
            case .detachFilter: return "IOCTL_BLK_SNAP_TRACKER_REMOVE"
            case .cbtInfo: return "IOCTL_BLK_SNAP_TRACKER_COLLECT"
            case .cbtMap: return "IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP"
            case .markDirty: return "IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS"
            case .snapshotInfo: return "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES"
            default: return requestName
            }
        }
    }

    /// True for the `BLKFILTER_CTL` sub-commands.
    public var isFilterControl: Bool {
        switch self {
        case .cbtInfo, .cbtMap, .markDirty, .addToSnapshot, .snapshotInfo: return true
        default: return false
        }
    }

    /// True for the ioctls of `/dev/blksnap-control`.
    public var isControlRequest: Bool {
        switch self {
        case .version, .createSnapshot, .destroySnapshot, .appendStorage, .takeSnapshot,
             .collectSnapshots, .waitEvent: return true
        default: return false
        }
    }

    /// What the operation does, in a few words.
    public var description: String {
        switch self {
        case .openControl: return "opening the blksnap control device"
        case .openDevice: return "opening the block device"
        case .close: return "closing"
        case .stat: return "examining the path"
        case .version: return "reading the module version"
        case .createSnapshot: return "creating a snapshot"
        case .destroySnapshot: return "destroying the snapshot"
        case .appendStorage: return "appending difference storage"
        case .takeSnapshot: return "taking the snapshot"
        case .collectSnapshots: return "listing snapshots"
        case .waitEvent: return "waiting for a snapshot event"
        case .attachFilter: return "attaching the blksnap filter"
        case .detachFilter: return "detaching the blksnap filter"
        case .cbtInfo: return "reading the CBT info"
        case .cbtMap: return "reading the CBT map"
        case .markDirty: return "marking ranges dirty in the CBT"
        case .addToSnapshot: return "adding the device to the snapshot"
        case .snapshotInfo: return "reading the device's snapshot info"
        case .capacity: return "reading the device capacity"
        case .logicalBlockSize: return "reading the logical block size"
        case .snapshotCorruption: return "checking the snapshot"
        case .writeDevice: return "writing the device"
        }
    }
}
