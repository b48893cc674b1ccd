import SimKernel

/// The user memory of one ioctl served over the wire: the regions the client
/// shipped (a ``MappedUserMemory``), plus a log of every successful
/// `copy_to_user`, so exactly what the kernel wrote travels back in order.
final class RecordingUserMemory: UserMemory {
    /// The client's shipped regions; anything outside them faults.
    let mapped: MappedUserMemory
    /// Each successful write to user memory, in the order the kernel made it.
    private(set) var writes: [MappedUserMemory.Region] = []

    /// Maps the shipped regions.
    init(regions: [MappedUserMemory.Region]) { mapped = MappedUserMemory(regions: regions) }

    func copyFromUser(_ destination: UnsafeMutableRawBufferPointer, from source: UInt64) -> Bool {
        mapped.copyFromUser(destination, from: source)
    }

    func copyToUser(_ destination: UInt64, from source: UnsafeRawBufferPointer) -> Bool {
        guard mapped.copyToUser(destination, from: source) else { return false }
        if !source.isEmpty {
            writes.append(MappedUserMemory.Region(address: destination, bytes: Array(source), writable: true))
        }
        return true
    }
}

extension MappedUserMemory.Region: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.address == rhs.address && lhs.writable == rhs.writable && lhs.bytes == rhs.bytes
    }
}
