import SystemPackage

/// What a device's `snapshotinfo` tells about its snapshot membership, asked safely.
///
/// v5 has no query for "which snapshot is this device in". `snapshotinfo` shows an image
/// only for a member of a *taken* snapshot; a member of a created-but-not-taken snapshot
/// looks exactly like an idle tracked device. Probing with `snapshotadd` would change
/// state when it succeeds, so BlksnapKit does not: that membership is known only from
/// the caller's own records.
public enum MemberStatus: Hashable, Sendable {
    /// blksnap's filter is not attached (`BLKFILTER_CTL` answers `ENOENT`).
    case untracked
    /// Tracked, with no image: idle, or a member of a snapshot not taken yet (v5 cannot tell).
    case trackedWithoutImage
    /// A member of a taken snapshot: its image name and its difference area's error, if any.
    case inTakenSnapshot(imageName: String, errorCode: Errno?)

    /// Asks the device (`BLKFILTER_CTL snapshotinfo` on a zeroed argument: the kernel
    /// echoes the caller's image bytes when there is no image, §1.4).
    ///
    /// - Throws: any error other than `ENOENT` (not tracked).
    public static func probe(_ device: BlockDevice) throws(BlksnapError) -> MemberStatus {
        let info: SnapshotInfo
        do {
            info = try device.snapshotInfo()
        } catch where error.errno == .noSuchFileOrDirectory {
            return .untracked
        }
        guard let image = info.imageName else { return .trackedWithoutImage }
        return .inTakenSnapshot(imageName: image, errorCode: info.errorCode)
    }

    /// The image node path (`/dev/blksnap-image_MAJ:MIN`) of a member of a taken snapshot.
    public var imagePath: String? {
        if case .inTakenSnapshot(let name, _) = self { return "/dev/" + name }
        return nil
    }
}
