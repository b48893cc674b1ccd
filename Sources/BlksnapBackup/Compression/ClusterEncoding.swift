import Dispatch
import Synchronization

/// The SHA-256 and the compressed form of each cluster of a block, computed on all cores
/// at once (as ``ClusterHashing`` does for uncompressed backups): compressing is the
/// costliest step of a compressed backup (zstd at level 3 runs at a few hundred MB/s per
/// core), so the clusters are split over the online CPUs, each with a compressor of its own.
///
/// Not thread-safe: one per ``QCOW2Writer``; the results of ``encode(_:)`` stay valid
/// until the next call.
final class ClusterEncoding {
    /// One cluster's result.
    struct Encoded {
        /// SHA-256 of the uncompressed cluster.
        var sha256: [UInt8]
        /// Length of its compressed form (in ``compressed(_:)``), nil when it did not shrink.
        var compressedBytes: Int?
    }

    /// The cluster size.
    let clusterBytes: Int
    private let compressors: [ClusterCompressor]
    private var slots: UnsafeMutableRawBufferPointer
    private var slotCount: Int

    /// An encoder for `compression`; nil for ``BackupCompression/none``.
    init?(_ compression: BackupCompression, clusterBytes: Int) {
        var compressors: [ClusterCompressor] = []
        for _ in 0..<ClusterHashing.workers {
            guard let compressor = ClusterCompressor(compression) else { return nil }
            compressors.append(compressor)
        }
        self.compressors = compressors
        self.clusterBytes = clusterBytes
        slotCount = 64
        slots = UnsafeMutableRawBufferPointer.allocate(byteCount: slotCount * clusterBytes, alignment: 4096)
    }

    deinit {
        slots.deallocate()
    }

    /// The compressed bytes of cluster `index` of the last ``encode(_:)``.
    func compressed(_ index: Int, length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: slots[(index * clusterBytes)..<(index * clusterBytes + length)])
    }

    /// Hashes and compresses each of `clusters` (whole clusters), in order.
    func encode(_ clusters: [UnsafeRawBufferPointer]) -> [Encoded] {
        if clusters.count > slotCount {
            slots.deallocate()
            slotCount = clusters.count
            slots = UnsafeMutableRawBufferPointer.allocate(byteCount: slotCount * clusterBytes, alignment: 4096)
        }
        var results = [Encoded](repeating: Encoded(sha256: [], compressedBytes: nil), count: clusters.count)
        let parts = min(compressors.count, clusters.count)
        clusters.withUnsafeBufferPointer { inputs in
            results.withUnsafeMutableBufferPointer { outputs in
                let work = Work(inputs: inputs, outputs: outputs, slots: slots, clusterBytes: clusterBytes,
                                compressors: compressors, next: NextIndex())
                if parts <= 1 {
                    work.encode(part: 0)
                } else {
                    DispatchQueue.concurrentPerform(iterations: parts) { part in work.encode(part: part) }
                }
            }
        }
        return results
    }

    /// The next cluster of a block to encode, taken by whichever thread is free: a thread
    /// that another process preempts leaves its share to the others instead of holding up
    /// the block (a text-like cluster costs zstd ten times what a random one does).
    private final class NextIndex: Sendable {
        let value = Atomic<Int>(0)

        func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
    }

    /// The inputs and outputs of one block, shared by the encoding threads.
    ///
    /// `@unchecked Sendable`: inputs are only read; each cluster index is taken by exactly
    /// one thread (``NextIndex``), which alone writes its result slot and compressed slot;
    /// part `p` uses only compressor `p`; the caller waits for every part.
    private struct Work: @unchecked Sendable {
        let inputs: UnsafeBufferPointer<UnsafeRawBufferPointer>
        let outputs: UnsafeMutableBufferPointer<Encoded>
        let slots: UnsafeMutableRawBufferPointer
        let clusterBytes: Int
        let compressors: [ClusterCompressor]
        let next: NextIndex

        func encode(part: Int) {
            let compressor = compressors[part]
            while true {
                let index = next.take()
                guard index < inputs.count else { return }
                let input = inputs[index]
                // One byte short of a cluster: a cluster is stored compressed only if it shrinks.
                let slot = UnsafeMutableRawBufferPointer(rebasing: slots[(index * clusterBytes)..<((index + 1) * clusterBytes - 1)])
                outputs[index] = Encoded(sha256: QCOW2Writer.sha256(input), compressedBytes: compressor.compress(input, into: slot))
            }
        }
    }
}
