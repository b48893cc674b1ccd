import SystemPackage

/// `BLKFILTER_DETACH` that refuses while the device belongs to a live snapshot.
///
/// v5 never refuses a detach (§2.1): the snapshot keeps the old tracker, its image stays,
/// but no write is intercepted any more, so the image silently stops being a
/// point-in-time copy — no event, `error_code` 0. This guard asks `snapshotinfo` first
/// (on a zeroed argument) and refuses when the device has an image.
///
/// Limit: a member of a snapshot that is created but not taken has no image and looks
/// like an idle tracked device; v5 offers no side-effect-free way to see that
/// membership. Pass `knownMember: true` when your own records say the device was added
/// (a detach then makes take give it an image that is never protected).
public enum DetachGuard {
    /// What a detach did, and which protection a forced detach gave up.
    public struct Outcome: Sendable, Hashable {
        /// The membership seen before detaching.
        public var statusBefore: MemberStatus
        /// Set when `force` overrode the guard: exactly what is no longer protected.
        public var lostProtection: String?
    }

    /// Detaches blksnap's filter from `device` unless it belongs to a live snapshot.
    ///
    /// - Parameters:
    ///   - device: the tracked device.
    ///   - force: detach even then; ``Outcome/lostProtection`` says what is lost.
    ///   - knownMember: the caller knows the device is in a snapshot not taken yet.
    /// - Throws: a ``SafetyHazard/detachMember`` refusal (`EBUSY`, as v1 of the module
    ///   did) without touching the device, or the kernel's error.
    ///
    /// The corresponding ioctls are `BLKFILTER_CTL` snapshotinfo, then `BLKFILTER_DETACH`.
    @discardableResult
    public static func detach(_ device: BlockDevice, force: Bool = false,
                              knownMember: Bool = false) throws(BlksnapError) -> Outcome {
        let status = try MemberStatus.probe(device)
        let path = device.path
        var lost: String?
        switch status {
        case .inTakenSnapshot(let image, _):
            guard force else {
                throw .guarded(.detachMember, .detachFilter,
                               "device \(path) is in a taken snapshot (image /dev/\(image)): v5 would detach silently and later writes would show through in the image with no event; destroy the snapshot first, or force the detach",
                               errno: .resourceBusy, devicePath: path)
            }
            lost = "image /dev/\(image) no longer receives copy-on-write: writes to \(path) now show through in it (no event, error_code stays 0); the CBT map is discarded (the next backup must be full)"
        case .trackedWithoutImage where knownMember:
            guard force else {
                throw .guarded(.detachMember, .detachFilter,
                               "device \(path) was added to a snapshot that is not taken yet: take would give it an image that is never protected; destroy the snapshot first, or force the detach",
                               errno: .resourceBusy, devicePath: path)
            }
            lost = "\(path) stays listed in its snapshot: take will give it an image without copy-on-write; the CBT map is discarded (the next backup must be full)"
        case .untracked, .trackedWithoutImage:
            break
        }
        try device.detach()
        return Outcome(statusBefore: status, lostProtection: lost)
    }
}
