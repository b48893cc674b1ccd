import Synchronization
import SystemPackage

/// A module node (a control or filter device) a driver opens on first use. ``close()``
/// closes the descriptor; the next request opens the node again (the driver is shared by
/// every ``Control`` and ``BlockDevice`` made with it, and one of them closing must not
/// disable the others).
package final class LazyNode: Sendable {
    private enum State {
        case notOpened
        case open(OpenDescriptor)
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

    /// Opens the node if it is not open.
    package func open() throws(BlksnapError) {
        _ = try descriptor(for: openOperation)
    }

    /// The open descriptor, opening the node when it is not open.
    package func descriptor(for operation: BlksnapOperation, snapshotID: SnapshotID? = nil) throws(BlksnapError) -> CInt {
        let result = state.withLock { state -> Result<OpenDescriptor, BlksnapError> in
            switch state {
            case .open(let descriptor):
                return .success(descriptor)
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

    /// Closes the node's descriptor, if open; the next request opens it again.
    package func close() throws(BlksnapError) {
        let previous = state.withLock { state -> State in
            defer { state = .notOpened }
            return state
        }
        if case .open(let descriptor) = previous { try descriptor.close() }
    }
}
