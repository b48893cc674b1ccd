import Synchronization
import SystemPackage

/// A descriptor opened through a ``KernelInterface``, closed exactly once.
///
/// Shared by ``Control`` and ``BlockDevice``: `close()` and `deinit` race safely.
package final class OpenDescriptor: Sendable {
    package let kernel: any KernelInterface
    package let path: String
    private let fd: Mutex<CInt?>

    package init(kernel: any KernelInterface, path: String, flags: Int32, operation: BlksnapOperation) throws(BlksnapError) {
        self.kernel = kernel
        self.path = path
        do {
            self.fd = Mutex(try kernel.open(path, flags: flags))
        } catch {
            throw BlksnapError(operation: operation, errno: error, devicePath: path)
        }
    }

    /// The open descriptor; EBADF once closed.
    package func descriptor(for operation: BlksnapOperation, snapshotID: SnapshotID? = nil) throws(BlksnapError) -> CInt {
        guard let fd = fd.withLock({ $0 }) else {
            throw BlksnapError.invalidRequest(operation, "\(path) was already closed", errno: .badFileDescriptor,
                                              devicePath: path, snapshotID: snapshotID)
        }
        return fd
    }

    /// Closes the descriptor; a second call does nothing.
    package func close() throws(BlksnapError) {
        guard let fd = fd.withLock({ value -> CInt? in
            defer { value = nil }
            return value
        }) else { return }
        do {
            try kernel.close(fd)
        } catch {
            throw BlksnapError(operation: .close, errno: error, devicePath: path)
        }
    }

    deinit {
        if let fd = fd.withLock({ $0 }) {
            try? kernel.close(fd)
        }
    }
}
