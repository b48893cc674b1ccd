import Dispatch

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
                                compressors: compressors)
                if parts <= 1 {
                    work.encode(part: 0, of: 1)
                } else {
                    DispatchQueue.concurrentPerform(iterations: parts) { part in work.encode(part: part, of: parts) }
                }
            }
        }
        return results
    }

    /// The inputs and outputs of one block, shared by the encoding threads.
    ///
    /// `@unchecked Sendable`: inputs are only read; part `p` of `n` writes only the result
    /// slots and compressed slots `p, p + n, p + 2n, …` and uses only compressor `p`, so no
    /// two threads touch the same memory or context; the caller waits for every part.
    private struct Work: @unchecked Sendable {
        let inputs: UnsafeBufferPointer<UnsafeRawBufferPointer>
        let outputs: UnsafeMutableBufferPointer<Encoded>
        let slots: UnsafeMutableRawBufferPointer
        let clusterBytes: Int
        let compressors: [ClusterCompressor]

        func encode(part: Int, of parts: Int) {
            let compressor = compressors[part]
            for index in stride(from: part, to: inputs.count, by: parts) {
                let input = inputs[index]
                // One byte short of a cluster: a cluster is stored compressed only if it shrinks.
                let slot = UnsafeMutableRawBufferPointer(rebasing: slots[(index * clusterBytes)..<((index + 1) * clusterBytes - 1)])
                outputs[index] = Encoded(sha256: QCOW2Writer.sha256(input), compressedBytes: compressor.compress(input, into: slot))
            }
        }
    }
}
