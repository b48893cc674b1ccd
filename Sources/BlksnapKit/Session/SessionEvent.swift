/// What a ``Session`` reports while it runs; `Codable` for JSON Lines output.
///
/// Sector counts are 512-byte sectors. "Capacity" is the storage the session appended
/// in total; "requested" is the total the kernel asked for through `low_free_space`
/// events (including the one queued at creation). The kernel emits its next
/// `low_free_space` only after an append makes capacity ≥ requested.
public enum SessionEvent: Sendable, Hashable, Codable {
    /// The snapshot exists (SNAPSHOT_CREATE returned); nothing is added or taken yet. A tool
    /// that must clean up after being killed records `snapshotID` here: from now on the
    /// session may leave a snapshot behind (destroy it with `Control.destroySnapshot`).
    case created(snapshotID: String)
    /// The snapshot is taken; `images` in the order the devices were given.
    case started(snapshotID: String, images: [SessionImage], capacitySectors: UInt64, requestedSectors: UInt64)
    /// The kernel reported `low_free_space`, asking for `requestedSectors` more.
    case lowFreeSpace(requestedSectors: UInt64, totalRequestedSectors: UInt64)
    /// A portion was appended.
    case appended(devicePath: String, sectors: UInt64, capacitySectors: UInt64, requestedSectors: UInt64)
    /// No more storage may be appended: the configured limit is reached (`limitSectors`)
    /// or the provider has nothing left (`limitSectors` nil). Reported once.
    case limitReached(capacitySectors: UInt64, requestedSectors: UInt64, limitSectors: UInt64?)
    /// The difference area of a device is corrupted (`ENOSPC`: storage overflowed);
    /// its image fails every I/O. The snapshot is kept until the session ends.
    case corrupted(device: String, devicePath: String?, errno: Int32, errnoName: String, meaning: String)
    /// Estimated rate at which the difference storage fills, and the time left until the
    /// largest capacity the session may reach is full at that rate (nil: unbounded).
    case fillEstimate(sectorsPerSecond: Double, secondsToFull: Double?)
    /// Something went wrong that the session survives (an append failed, a storage
    /// portion was refused); the message says what.
    case warning(message: String)
    /// The session ended; teardown follows.
    case ended(reason: SessionEndReason)
}
