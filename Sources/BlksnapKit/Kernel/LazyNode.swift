import Synchronization
import SystemPackage

/// A module node (a control or filter device) a driver opens on first use and closes
/// once: after ``close()`` every request fails with `EBADF`, as a closed descriptor would.
package final class LazyNode: Sendable {
    private enum State {
        case notOpened
        case open(OpenDescriptor)
        case closed
    }

    /// The kernel the node belongs to.
    package let kernel: any KernelInterface
    /// The node's path.
    package let path: String
    private let flags: Int32
    private let openOperation: BlksnapOperation
    private let state = Mutex<State>(.notOpened)

    /// A node to open with `flags`; a failed open is reported as `openOperation`.
    package init(kernel: any KernelInterface, path: String, flags: Int32, openOperation: BlksnapOperation) {
        self.kernel = kernel
        self.path = path
        self.flags = flags
        self.openOperation = openOperation
    }

    /// Opens the node if it is not open yet (a closed node stays closed).
    package func open() throws(BlksnapError) {
        _ = try descriptor(for: openOperation)
    }

    /// The open descriptor, opening the node on first use; `EBADF` once closed.
    package func descriptor(for operation: BlksnapOperation, snapshotID: SnapshotID? = nil) throws(BlksnapError) -> CInt {
        let result = state.withLock { state -> Result<OpenDescriptor, BlksnapError> in
            switch state {
            case .open(let descriptor):
                return .success(descriptor)
            case .closed:
                return .failure(.invalidRequest(operation, "\(path) was already closed", errno: .badFileDescriptor,
                                                devicePath: path, snapshotID: snapshotID))
            case .notOpened:
                do throws(BlksnapError) {
                    let descriptor = try OpenDescriptor(kernel: kernel, path: path, flags: flags, operation: openOperation)
                    state = .open(descriptor)
                    return .success(descriptor)
                } catch {
                    return .failure(error)
                }
            }
        }
        return try result.get().descriptor(for: operation, snapshotID: snapshotID)
    }

    /// Closes the node; further requests fail with `EBADF`. Closing twice does nothing.
    package func close() throws(BlksnapError) {
        let previous = state.withLock { state -> State in
            defer { state = .closed }
            return state
        }
        if case .open(let descriptor) = previous { try descriptor.close() }
    }
}
