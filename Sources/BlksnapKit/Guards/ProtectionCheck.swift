#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Finds members of taken snapshots that the kernel no longer protects, without telling
/// anyone (spec §2.1, §3.5, §12 fact 5):
/// - the filter was detached (or detached and re-attached: the new tracker is not in the
///   snapshot), so writes to the original show through in the image;
/// - the original grew or shrank after take (its capacity differs from the image's, which
///   is the CBT capacity at take), or one write past its old end corrupted the CBT, which
///   disables copy-on-write;
/// - its difference area reports an error (the ordinary corruption, `snapshotinfo`).
///
/// Needs no state: the image's `BLKGETSIZE64` is the capacity recorded at take. Every
/// finding is a corruption-class ``BlksnapError`` (``BlksnapErrorCategory/corrupted``).
/// Only reads: `snapshotinfo`, `BLKGETSIZE64`, and a zero-length `cbtmap`.
public struct ProtectionCheck: Sendable {
    /// The driver the devices are asked through.
    public let driver: any BlksnapDriver
    /// The kernel the devices belong to.
    public var kernel: any KernelInterface { driver.kernel }

    /// A check on v5's module in `kernel`.
    public init(kernel: any KernelInterface) {
        self.driver = V5Driver(kernel: kernel)
    }

    /// A check through `driver` (any module ABI).
    public init(driver: any BlksnapDriver) {
        self.driver = driver
    }

    /// Checks one original device expected to be in a taken snapshot.
    ///
    /// - Parameters:
    ///   - originalPath: the original device's node.
    ///   - expectedImageName: the image it had (`blksnap-image_MAJ:MIN`); nil when the
    ///     caller does not know (a device without an image is then not checked).
    ///   - recordedCapacityBytes: the capacity recorded at take; nil to use the image's.
    /// - Returns: the loss of protection found, or nil.
    public func check(originalPath: String, expectedImageName: String? = nil,
                      recordedCapacityBytes: UInt64? = nil) -> BlksnapError? {
        let device: BlockDevice
        do {
            device = try BlockDevice(path: originalPath, driver: driver)
        } catch {
            guard expectedImageName != nil else { return error }
            return .guarded(.unprotectedMember, .snapshotCorruption,
                            "device \(originalPath) of a taken snapshot cannot be opened (\(error.errnoName)): it was removed, so its filter is gone and the image no longer follows it",
                            errno: error.errno, devicePath: originalPath)
        }
        defer { try? device.close() }
        let status: MemberStatus
        do {
            status = try MemberStatus.probe(device)
        } catch {
            return error
        }
        let imageName: String
        switch status {
        case .untracked:
            guard let expected = expectedImageName else { return nil }
            return .guarded(.unprotectedMember, .snapshotCorruption,
                            "device \(originalPath) was detached while in a taken snapshot: writes to it now show through in image /dev/\(expected) (no event, error_code 0); the snapshot no longer protects it: destroy it and take a new one",
                            errno: .noSuchFileOrDirectory, devicePath: originalPath)
        case .trackedWithoutImage:
            guard let expected = expectedImageName else { return nil }
            return .guarded(.unprotectedMember, .snapshotCorruption,
                            "device \(originalPath) was detached and re-attached while in a taken snapshot: its new tracker is not in the snapshot, so writes show through in image /dev/\(expected); the snapshot no longer protects it: destroy it and take a new one",
                            errno: .noSuchFileOrDirectory, devicePath: originalPath)
        case .inTakenSnapshot(let name, let errorCode):
            if let errorCode {
                return BlksnapError(operation: .snapshotCorruption, errno: errorCode, devicePath: originalPath)
            }
            imageName = name
        }
        return checkCapacity(device, imageName: imageName, recordedCapacityBytes: recordedCapacityBytes)
    }

    /// Checks every image of `inventory` (or only `images`): each one's original must
    /// still be tracked by the same tracker, with the capacity it had at take.
    public func check(images: [DeviceInventory.Entry], in inventory: DeviceInventory) -> [BlksnapError] {
        images.compactMap { image -> BlksnapError? in
            guard let original = image.imageOriginal else { return nil }
            let name = String(image.path.split(separator: "/").last ?? "")
            guard let entry = inventory.entry(original) else {
                return .guarded(.unprotectedMember, .snapshotCorruption,
                                "the original device \(original) of image \(image.path) is gone: its filter went with it and the image no longer follows it",
                                errno: .noSuchAddressOrDevice, devicePath: image.path)
            }
            return check(originalPath: entry.path, expectedImageName: name)
        }
    }

    private func checkCapacity(_ device: BlockDevice, imageName: String, recordedCapacityBytes: UInt64?) -> BlksnapError? {
        let path = device.path
        do {
            let current = try device.capacityBytes()
            let reference: UInt64
            if let recordedCapacityBytes {
                reference = recordedCapacityBytes
            } else {
                let image = try BlockDevice(path: "/dev/" + imageName, driver: driver)
                defer { try? image.close() }
                reference = try image.capacityBytes()
            }
            if current != reference {
                let verb = current > reference ? "grew" : "shrank"
                return .guarded(.resizedMember, .snapshotCorruption,
                                "device \(path) \(verb) from \(reference) to \(current) bytes after take: the snapshot no longer protects it (a write past the old end disables copy-on-write without an event); destroy the snapshot and take a new one",
                                errno: Errno(rawValue: ESTALE), devicePath: path)
            }
            _ = try device.cbtMap(offset: 0, length: 0)
        } catch where error.operation == .cbtMap && error.errno == .badAddress {
            return .guarded(.resizedMember, .snapshotCorruption,
                            "the CBT of \(path) is corrupted (a write landed past its tracked end): copy-on-write is disabled, the snapshot no longer protects it; destroy the snapshot and take a new one",
                            errno: .badAddress, devicePath: path)
        } catch {
            return error
        }
        return nil
    }
}
