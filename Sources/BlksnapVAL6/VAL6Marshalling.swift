import BlksnapKit
internal import CVeeamBlkSnapV1UAPI
import SystemPackage

extension SnapshotID {
    /// Copies VAL-6.x's `struct blk_snap_uuid`.
    init(val6 uuid: blk_snap_uuid) {
        var copy = uuid
        self.init(rawValue: withUnsafeBytes(of: &copy.b) { Array($0) })!
    }
}

extension blk_snap_uuid {
    /// VAL-6.x's `struct blk_snap_uuid` holding the id's bytes.
    init(_ id: SnapshotID) {
        self.init()
        withUnsafeMutableBytes(of: &b) { $0.copyBytes(from: id.rawValue) }
    }
}

extension blk_snap_dev_t {
    /// VAL-6.x's `{mj, mn}` of a device number: glibc's `major()`/`minor()` split, which is
    /// the kernel's `MAJOR()`/`MINOR()` (12-bit/20-bit) of the same device (spec §4.2).
    init(_ number: DeviceNumber) {
        self.init(mj: number.major, mn: number.minor)
    }

    /// The device number this `{mj, mn}` names.
    var deviceNumber: DeviceNumber { DeviceNumber(major: mj, minor: mn) }

    /// `{0, 0}`: no device (an image slot whose creation failed, a zeroed entry).
    var isNone: Bool { mj == 0 && mn == 0 }
}

extension CBTInfo {
    /// Copies one `struct blk_snap_cbt_info` of TRACKER_COLLECT: `device_capacity` is in
    /// bytes, `blk_size` in bytes, `snap_number` is the kernel's "previous" number (v5's
    /// `changes_number`, spec §1.4.3).
    init(val6 info: blk_snap_cbt_info) {
        var generation = info.generation_id
        let bytes = withUnsafeBytes(of: &generation.b) { Array($0) }
        self.init(capacityBytes: info.device_capacity, blockSizeBytes: info.blk_size, blockCount: info.blk_count,
                  generationID: CBTGenerationID(rawValue: bytes)!, changesNumber: info.snap_number)
    }
}

extension BlksnapError {
    /// ``BlksnapError/guarded(_:_:_:errno:devicePath:snapshotID:)`` of a VAL-6.x request:
    /// its description names VAL-6.x's request (`IOCTL_BLK_SNAP_…`).
    static func val6Guarded(_ hazard: SafetyHazard, _ operation: BlksnapOperation, _ message: String, errno: Errno,
                            devicePath: String? = nil, snapshotID: SnapshotID? = nil) -> BlksnapError {
        BlksnapError.guarded(hazard, operation, message, errno: errno, devicePath: devicePath,
                             snapshotID: snapshotID).withABI(.val6)
    }

    /// ``BlksnapError/invalidRequest(_:_:errno:devicePath:snapshotID:)`` of a VAL-6.x
    /// request: its description names VAL-6.x's request (`IOCTL_BLK_SNAP_…`).
    static func val6InvalidRequest(_ operation: BlksnapOperation, _ message: String, errno: Errno = .invalidArgument,
                                   devicePath: String? = nil, snapshotID: SnapshotID? = nil) -> BlksnapError {
        BlksnapError.invalidRequest(operation, message, errno: errno, devicePath: devicePath,
                                    snapshotID: snapshotID).withABI(.val6)
    }
}
