/// What a snapshot is created with, in the terms every ABI understands.
///
/// The ABIs fix different things at create: VAL-6.x the member devices, VAL-7.0 the
/// storage form, v5 neither. A portable caller gives both; each driver uses what its
/// ABI takes at create (``BlksnapCapabilities/devicesFixedAtCreate``) and the caller adds
/// the members afterwards where the ABI adds them one by one.
public struct SnapshotCreation: Sendable, Hashable {
    /// The difference storage chosen at create.
    public enum Storage: Sendable, Hashable {
        /// Sector ranges appended later, answering `low_free_space` events; `limitSectors`
        /// bounds what the kernel asks for where the ABI takes a limit (VAL-7.0 range
        /// mode: nil sends the largest value, so the kernel asks as long as it needs).
        case sectorRanges(limitSectors: UInt64?)
        /// A file, a directory (an anonymous file in it) or a whole block device that the
        /// kernel grows itself up to `limitSectors` (VAL-7.0 only).
        case kernelGrown(path: String, limitSectors: UInt64)
    }

    /// The member devices (paths in the kernel's namespace), in order.
    public var devices: [String]
    /// The storage.
    public var storage: Storage
    /// Whether a snapshot of more than one device may be created on an ABI whose take
    /// switches the devices one at a time, so that their images are not one point in
    /// time (VAL-6.x, ``BlksnapCapabilities/multiDeviceTakeIsOnePointInTime`` false;
    /// ``SafetyHazard/sequentialMultiDeviceTake``). False (the default) makes such a
    /// create fail before the kernel sees it; set it only when the devices' contents do
    /// not depend on each other (no filesystem, volume or database spanning them). The
    /// other ABIs ignore it.
    public var allowsSequentialMultiDeviceTake: Bool = false

    /// Creates a request.
    public init(devices: [String] = [], storage: Storage = .sectorRanges(limitSectors: nil),
                allowsSequentialMultiDeviceTake: Bool = false) {
        self.devices = devices
        self.storage = storage
        self.allowsSequentialMultiDeviceTake = allowsSequentialMultiDeviceTake
    }
}
