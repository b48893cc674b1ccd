#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The checks v5 leaves out of `IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE` (§1.2), made by
/// ``Control/appendStorage(_:devicePath:ranges:allowSameDevice:knownMembers:)``.
///
/// The kernel accepts any ranges on any block device and fails later:
/// - ranges past the end or not aligned to the storage device's logical block size make
///   stores fail with `EIO`, overlapping ranges make chunks overwrite each other (§4.7);
/// - a storage device with a larger logical block size than a member fails every store
///   with `ENOTBLK` (§4.7);
/// - storage on a tracked device (a member of this or another snapshot), or on its
///   partition or whole disk, is written with the "already filtered" flag: neither
///   copied nor CBT-marked, so it shows up in that device's image (§4.5).
///
/// Members of a snapshot that is not taken yet cannot be listed in v5; the guard treats
/// every tracked device as a possible member and refuses storage on it (and on its
/// partitions or whole disk) unless `allowSameDevice`. Devices named in `knownMembers`
/// are definite members (their block size is then a refusal, not a warning). Earlier
/// appends are not remembered by the kernel, so overlap is checked within one call only.
public enum StorageGuard {
    /// Checks `ranges` of `devicePath` as storage; returns warnings, throws a refusal.
    ///
    /// - Parameters:
    ///   - kernel: the kernel whose namespace `devicePath` is in.
    ///   - devicePath: the storage device, as the kernel will open it.
    ///   - ranges: the sector ranges of `devicePath` to append.
    ///   - allowSameDevice: allow storage on a tracked device or a member (warning only).
    ///   - knownMembers: node paths of devices the caller knows are in the snapshot.
    /// - Throws: a ``SafetyHazard/storageRange`` (`EINVAL`, `ERANGE`),
    ///   ``SafetyHazard/storageOnTrackedDevice`` (`EBUSY`) or
    ///   ``SafetyHazard/storageBlockSize`` (`ENOTBLK`) refusal.
    ///
    /// The corresponding ioctls are `BLKGETSIZE64`, `BLKSSZGET` and `BLKFILTER_CTL`
    /// snapshotinfo (reads only).
    public static func check(kernel: any KernelInterface, devicePath: String, ranges: [SectorRange],
                             allowSameDevice: Bool = false, knownMembers: [String] = []) throws(BlksnapError) -> [String] {
        try check(driver: V5Driver(kernel: kernel), devicePath: devicePath, ranges: ranges,
                  allowSameDevice: allowSameDevice, knownMembers: knownMembers)
    }

    /// ``check(kernel:devicePath:ranges:allowSameDevice:knownMembers:)`` for the module of
    /// `driver`. Veeam's modules show no sysfs `filter` attribute, so on them whether a
    /// device (or its partition or whole disk) is tracked is asked through the driver's
    /// CBT query (not tracked: `ENOENT`).
    public static func check(driver: any BlksnapDriver, devicePath: String, ranges: [SectorRange],
                             allowSameDevice: Bool = false, knownMembers: [String] = []) throws(BlksnapError) -> [String] {
        let kernel = driver.kernel
        let storage: BlockDevice
        do {
            storage = try BlockDevice(path: devicePath, driver: driver)
        } catch {
            return []  // the kernel opens the path itself and answers with its own errno
        }
        defer { try? storage.close() }
        var warnings: [String] = []
        let capacitySectors = try storage.capacityBytes() / 512
        let blockBytes = max(try storage.logicalBlockSize(), 512)
        try checkRanges(ranges, devicePath: devicePath, capacitySectors: capacitySectors, blockBytes: blockBytes,
                        warnings: &warnings)

        let number = try storage.deviceNumber()
        let inventory = DeviceInventory.read(from: kernel)
        var members: [(path: String, number: DeviceNumber)] = []
        for path in knownMembers {
            if let status = try? kernel.stat(path) { members.append((path, status.deviceNumber)) }
        }
        try checkSameDevice(storage: storage, number: number, inventory: inventory, members: members,
                            allowSameDevice: allowSameDevice, warnings: &warnings)
        try checkBlockSize(storagePath: devicePath, blockBytes: blockBytes, kernel: kernel, inventory: inventory,
                           members: members, warnings: &warnings)
        return warnings
    }

    // MARK: - The checks

    static func checkRanges(_ ranges: [SectorRange], devicePath: String, capacitySectors: UInt64, blockBytes: UInt32,
                            warnings: inout [String]) throws(BlksnapError) {
        let sectorsPerBlock = UInt64(blockBytes / 512)
        for range in ranges {
            if range.countSectors == 0 {
                warnings.append("range \(range) of \(devicePath) is empty: it adds nothing")
                continue
            }
            if range.offsetSectors % sectorsPerBlock != 0 || range.countSectors % sectorsPerBlock != 0 {
                throw .guarded(.storageRange, .appendStorage,
                               "range \(range) of \(devicePath) is not aligned to its \(blockBytes)-byte logical blocks (offset and count must be multiples of \(sectorsPerBlock) sectors): v5 accepts it and stores there fail with EIO; align the range",
                               errno: .invalidArgument, devicePath: devicePath)
            }
            let (end, overflow) = range.offsetSectors.addingReportingOverflow(range.countSectors)
            if overflow || end > capacitySectors {
                throw .guarded(.storageRange, .appendStorage,
                               "range \(range) of \(devicePath) ends past the device's last sector (\(capacitySectors) sectors): v5 accepts it and stores there fail with EIO; shorten the range",
                               errno: Errno(rawValue: ERANGE), devicePath: devicePath)
            }
        }
        let sorted = ranges.filter { $0.countSectors > 0 }.sorted { $0.offsetSectors < $1.offsetSectors }
        for (first, second) in zip(sorted, sorted.dropFirst()) where first.offsetSectors + first.countSectors > second.offsetSectors {
            throw .guarded(.storageRange, .appendStorage,
                           "ranges \(first) and \(second) of \(devicePath) overlap: v5 would store two chunks in the same sectors; give disjoint ranges",
                           errno: .invalidArgument, devicePath: devicePath)
        }
    }

    private static func checkSameDevice(storage: BlockDevice, number: DeviceNumber, inventory: DeviceInventory,
                                        members: [(path: String, number: DeviceNumber)], allowSameDevice: Bool,
                                        warnings: inout [String]) throws(BlksnapError) {
        var related = inventory.related(to: number)
        if storage.driver.abi != .v5 {
            // No sysfs filter attribute on Veeam's modules: ask each device's CBT.
            related = related.map { entry in
                var entry = entry
                if let device = try? BlockDevice(path: entry.path, driver: storage.driver) {
                    entry.isTracked = (try? device.cbtInfo()) != nil
                    try? device.close()
                }
                return entry
            }
        }
        if related.isEmpty {
            // Not enumerable: ask the storage device itself.
            let tracked = storage.driver.abi == .v5 ? (try? MemberStatus.probe(storage)).map { $0 != .untracked } ?? false
                                                    : (try? storage.cbtInfo()) != nil
            related = [DeviceInventory.Entry(path: storage.path, number: number, isTracked: tracked)]
        }
        for entry in related {
            let isMember = members.contains { $0.number == entry.number }
            guard entry.isTracked || isMember else { continue }
            let relation = entry.number == number ? "it" : (entry.wholeDisk == number ? "its partition \(entry.path)" : "its whole disk \(entry.path)")
            var what: String
            if isMember {
                what = "is a member of this snapshot"
            } else {
                what = "is tracked by blksnap (possibly a member of a snapshot not taken yet: "
                    + "\(storage.driver.abi.displayName) cannot tell)"
            }
            if let device = try? BlockDevice(path: entry.path, driver: storage.driver) {
                if let image = (try? MemberStatus.probe(device))?.imagePath { what = "is in a taken snapshot (image \(image))" }
                try? device.close()
            }
            let message = "storage \(storage.path): \(relation) \(what): storage writes bypass the filter, so they are neither copied nor CBT-marked and show through in that device's image"
            if allowSameDevice {
                warnings.append(message + " (allowed)")
            } else {
                throw .guarded(.storageOnTrackedDevice, .appendStorage,
                               message + "; use another device, or allow the same device explicitly",
                               errno: .resourceBusy, devicePath: storage.path)
            }
        }
    }

    private static func checkBlockSize(storagePath: String, blockBytes: UInt32, kernel: any KernelInterface,
                                       inventory: DeviceInventory, members: [(path: String, number: DeviceNumber)],
                                       warnings: inout [String]) throws(BlksnapError) {
        var candidates = members.map { (path: $0.path, number: $0.number, known: true) }
        for entry in inventory.entries where entry.isTracked && !entry.isImage && !members.contains(where: { $0.number == entry.number }) {
            candidates.append((entry.path, entry.number, false))
        }
        for candidate in candidates {
            guard let device = try? BlockDevice(path: candidate.path, kernel: kernel) else { continue }
            defer { try? device.close() }
            guard let memberBytes = try? device.logicalBlockSize(), memberBytes < blockBytes else { continue }
            let message = "storage \(storagePath) has \(blockBytes)-byte logical blocks, larger than the \(memberBytes)-byte blocks of \(candidate.path): v5 fails every store with ENOTBLK and corrupts the snapshot"
            if candidate.known {
                throw .guarded(.storageBlockSize, .appendStorage, message + "; use storage with \(memberBytes)-byte blocks",
                               errno: .notBlockDevice, devicePath: storagePath)
            }
            warnings.append(message + " if \(candidate.path) is a member of this snapshot")
        }
    }
}
