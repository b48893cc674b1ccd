import BlksnapKit
import Logging

/// Turning a parsed ``StorageSpec`` into a storage provider (kept apart from the pure
/// parser in Parsing/, which the fuzz target compiles without the CLI's support code).
extension StorageSpec {
    /// The provider for this spec on `backend`, for a snapshot of `devices` (paths).
    func provider(backend: Backend, devices: [String], limitBytes: UInt64?, logger: Logger) throws(CommandFailure) -> any DifferenceStorageProvider {
        do {
            switch self {
            case .device(let path, let ranges):
                return try DeviceRangeProvider(kernel: backend.kernel, devicePath: path, ranges: ranges, logger: logger)
            case .directory(let path):
                guard backend.kernel.usesHostDevices else {
                    throw CommandFailure(
                        "--storage dir:\(path): file storage is mapped to the host's block devices, which the simulator cannot write; use a simulated device (--storage /dev/NAME or /dev/NAME:SECTOR:COUNT) (EINVAL)",
                        status: .usage)
                }
                return try FileStorageProvider(directory: path, snapshottedDevices: devices, limitBytes: limitBytes, logger: logger)
            case .kernelGrown(let path):
                guard backend.driver.capabilities.storageForms.contains(.kernelGrownFile) else {
                    throw CommandFailure(
                        "--storage kernel:\(path): the \(backend.driver.abi.displayName) module does not grow storage itself (VAL-7.0 does); give a block device or ranges of one (EOPNOTSUPP)",
                        status: .usage)
                }
                guard limitBytes != nil else {
                    throw CommandFailure("--storage kernel:\(path) needs --limit SIZE: the kernel grows the storage up to it (EINVAL)",
                                         status: .usage)
                }
                return KernelGrownStorage(path: path)
            }
        } catch let error as StorageError {
            throw CommandFailure("--storage \(self): \(error)", status: error.kind == .systemCall ? .failure : .usage)
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure("--storage \(self): \(error)")
        }
    }
}
