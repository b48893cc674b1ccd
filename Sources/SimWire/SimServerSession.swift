import SimKernel
import Synchronization

/// One client's view of the simulator over the wire: its descriptor table.
///
/// Every connection that presented the same session token shares the table, so a
/// client can block in WAIT_EVENT on one connection and keep working on another.
/// The table maps the descriptors the client sees to SimKernel descriptors; the
/// server closes whatever is left when the last connection of the session goes.
final class SimServerSession: Sendable {
    /// The token a client presents to join this session.
    let token: [UInt8]

    private struct Table {
        /// Client descriptor → SimKernel descriptor.
        var descriptors: [Int32: Int32] = [:]
        /// The next client descriptor to hand out.
        var next: Int32 = 3
        /// Connections currently attached to the session.
        var connections = 0
        /// True once the last connection left: the session can no longer be joined.
        var ended = false
    }

    private let table = PthreadMutex(Table())  // not Mutex: TSan false races (PthreadMutex.swift)

    /// Creates a session with one connection attached.
    init(token: [UInt8]) {
        self.token = token
        table.withLock { $0.connections = 1 }
    }

    /// Attaches another connection; false if the session already ended.
    func join() -> Bool {
        table.withLock { table in
            if table.ended { return false }
            table.connections += 1
            return true
        }
    }

    /// Detaches a connection. When it was the last one, the session ends and the
    /// SimKernel descriptors it still held are returned for closing.
    func leave() -> [Int32]? {
        table.withLock { table in
            table.connections -= 1
            guard table.connections == 0 else { return nil }
            table.ended = true
            let left = Array(table.descriptors.values)
            table.descriptors = [:]
            return left
        }
    }

    /// Records a SimKernel descriptor and returns the client's number for it.
    func register(_ kernelFD: Int32) -> Int32 {
        table.withLock { table in
            while table.descriptors[table.next] != nil { table.next = table.next &+ 1; if table.next < 3 { table.next = 3 } }
            let fd = table.next
            table.descriptors[fd] = kernelFD
            table.next = fd == Int32.max ? 3 : fd + 1
            return fd
        }
    }

    /// The SimKernel descriptor behind a client descriptor.
    func kernelFD(for fd: Int32) -> Int32? { table.withLock { $0.descriptors[fd] } }

    /// Forgets a client descriptor; returns the SimKernel descriptor it named.
    func remove(_ fd: Int32) -> Int32? { table.withLock { $0.descriptors.removeValue(forKey: fd) } }

    /// Number of open descriptors (for tests and diagnostics).
    var openDescriptorCount: Int { table.withLock { $0.descriptors.count } }
}
