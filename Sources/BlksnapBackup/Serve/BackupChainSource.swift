import BlksnapNBD
import Foundation
import Synchronization

/// A backup of a repository as a read-only NBD export (`backup serve`): the disk its
/// qcow2 chain holds, read through ``BackupChainReader`` — the same reader, with the
/// same SHA-256 check of every data cluster, as `backup restore`. `base:allocation`
/// reports clusters no file of the chain holds as holes that read as zeroes.
public final class BackupChainSource: NBDExportSource {
    public let name: String
    public let sizeBytes: UInt64
    public let description: String
    public let preferredBlockBytes: UInt32
    /// The backup served.
    public let record: BackupRecord
    /// The chain's file names, head first.
    public let chainFiles: [String]

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
    ///
    /// - Throws: ``BackupError`` when the backup is unknown or its chain cannot be opened.
    public init(repository: BackupRepository, id: Int64, name: String? = nil) throws(BackupError) {
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

    /// Reads cluster by cluster; a cluster that fails its check fails this read with
    /// `EIO`, not the server: other regions stay readable.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(NBDSourceError) {
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
            throw NBDSourceError(errno: .ioError, message: error.message, isFatal: false)
        }
    }

    /// `base:allocation`: each cluster the chain does not hold is a hole that reads as
    /// zeroes, the others are data.
    public func blockStatus(_ context: NBDMetaContext, into extents: inout NBDExtentBuilder) throws(NBDSourceError) {
        guard context == .allocation else { return }
        let cluster = UInt64(clusterBytes)
        let end = extents.endBytes
        do {
            try state.withLock { (state: inout State) throws(BackupError) in
                var position = extents.offsetBytes
                while position < end && !extents.isFull {
                    let index = position / cluster
                    let next = min(end, (index + 1) * cluster)
                    let flags = try state.reader.isZero(cluster: index) ? NBDAllocationState.hole | NBDAllocationState.zero : 0
                    extents.add(offsetBytes: position, lengthBytes: next - position, flags: flags)
                    position = next
                }
            }
        } catch {
            throw NBDSourceError(errno: .ioError, message: error.message, isFatal: false)
        }
    }
}
