import BlksnapBackup
import BlksnapNBD
import Foundation
import Synchronization

/// A backup of the repository as a read-only NBD export (`backup serve`): the disk its
/// qcow2 chain holds, read through ``BackupChainReader`` — the same reader, with the
/// same SHA-256 check of every data cluster, as `backup restore`. `base:allocation`
/// reports clusters no file of the chain holds as holes that read as zeroes.
final class BackupChainSource: NBDExportSource {
    let name: String
    let sizeBytes: UInt64
    let description: String
    let preferredBlockBytes: UInt32
    let dirtyBitmapNames: [String] = []
    /// The backup served.
    let record: BackupRecord
    /// The chain's file names, head first.
    let chainFiles: [String]

    /// The reader and its scratch cluster: touched only inside ``state``'s lock, which is
    /// what makes handing them to the lock safe.
    private struct State: ~Copyable, @unchecked Sendable {
        let reader: BackupChainReader
        let scratch: UnsafeMutableRawBufferPointer
    }
    private let state: Mutex<State>
    private let clusterBytes: Int

    /// Opens backup `id` of `repository`, exported as `name` (default: the base name of
    /// the backed-up device).
    init(repository: BackupRepository, id: Int64, name: String? = nil) throws(BackupError) {
        let reader = try BackupChainReader(repository: repository, id: id)
        record = reader.head
        self.name = name ?? SnapshotImageSource.exportName(of: reader.head.devicePath)
        sizeBytes = reader.sizeBytes
        clusterBytes = reader.clusterSize
        preferredBlockBytes = UInt32(reader.clusterSize)
        chainFiles = reader.chain.files.map(\.path)
        let stamp = ISO8601DateFormatter().string(from: reader.head.takenAt)
        description = "backup \(id) of \(reader.head.devicePath) (\(reader.head.type.rawValue), \(reader.records.count) file(s)) taken \(stamp), \(reader.sizeBytes) bytes; CBT generation \(reader.head.cbtGeneration) changes number \(reader.head.cbtChangesNumber)"
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: reader.clusterSize, alignment: 4096)
        state = Mutex(State(reader: reader, scratch: scratch))
    }

    deinit {
        state.withLock { $0.scratch.deallocate() }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(NBDSourceError) {
        let cluster = UInt64(clusterBytes)
        do {
            try state.withLock { (state: inout State) throws(BackupError) in
                var done = 0
                while done < buffer.count {
                    let position = offsetBytes + UInt64(done)
                    let index = position / cluster
                    let within = Int(position % cluster)
                    let length = min(clusterBytes - within, buffer.count - done)
                    if within == 0 && length == clusterBytes {
                        try state.reader.readCluster(index, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + length)]))
                    } else {
                        try state.reader.readCluster(index, into: state.scratch)
                        UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + length)])
                            .copyMemory(from: UnsafeRawBufferPointer(rebasing: state.scratch[within..<(within + length)]))
                    }
                    done += length
                }
            }
        } catch {
            // One bad cluster fails this read, not the server: other regions stay readable.
            throw NBDSourceError(error: .ioError, message: error.message, isFatal: false)
        }
    }

    func allocation(offsetBytes: UInt64, lengthBytes: UInt64, limit: Int) throws(NBDSourceError) -> [NBDExtent] {
        let cluster = UInt64(clusterBytes)
        let end = offsetBytes + lengthBytes
        do {
            return try state.withLock { (state: inout State) throws(BackupError) -> [NBDExtent] in
                var extents: [NBDExtent] = []
                var position = offsetBytes
                while position < end && extents.count < limit {
                    let index = position / cluster
                    let next = min(end, (index + 1) * cluster)
                    let flags = try state.reader.isZero(cluster: index) ? NBDAllocationState.hole | NBDAllocationState.zero : 0
                    if let last = extents.last, last.flags == flags {
                        extents[extents.count - 1].lengthBytes += next - position
                    } else {
                        extents.append(NBDExtent(lengthBytes: next - position, flags: flags))
                    }
                    position = next
                }
                return extents
            }
        } catch {
            throw NBDSourceError(error: .ioError, message: error.message, isFatal: false)
        }
    }
}
