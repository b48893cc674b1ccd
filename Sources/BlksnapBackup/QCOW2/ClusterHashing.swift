import Crypto
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The SHA-256 of each cluster of a run of clusters, computed on all cores at once.
///
/// Hashing is the costliest step of a backup (about 2 GB/s per core with the SHA
/// extensions, against several GB/s for an in-cache read or write), so the clusters of
/// each block are split over the online CPUs while the image reader fills the next block.
/// `blksnap-bench` also uses it to measure the ceiling hashing sets on a backup's speed.
public enum ClusterHashing {
    /// Threads that hash one run: the online CPUs, at most 8.
    public static let workers: Int = max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// The SHA-256 of each `clusterBytes` piece of `bytes`, in order (the last piece may be
    /// shorter).
    public static func sha256(ofClustersIn bytes: UnsafeRawBufferPointer, clusterBytes: Int) -> [[UInt8]] {
        let count = (bytes.count + clusterBytes - 1) / clusterBytes
        let parts = min(workers, count)
        var digests = [[UInt8]](repeating: [], count: count)
        digests.withUnsafeMutableBufferPointer { output in
            let work = Work(input: bytes, clusterBytes: clusterBytes, output: output)
            if parts <= 1 {
                work.hash(part: 0, of: 1)
            } else {
                DispatchQueue.concurrentPerform(iterations: parts) { part in work.hash(part: part, of: parts) }
            }
        }
        return digests
    }

    /// The input and output of one run, shared by the hashing threads.
    ///
    /// `@unchecked Sendable`: the input is only read, and part `p` of `n` writes only the
    /// output slots `p, p + n, p + 2n, …`, so no two threads touch the same memory; the
    /// caller waits for every part before it uses the output or frees the input.
    private struct Work: @unchecked Sendable {
        let input: UnsafeRawBufferPointer
        let clusterBytes: Int
        let output: UnsafeMutableBufferPointer<[UInt8]>

        func hash(part: Int, of parts: Int) {
            for index in stride(from: part, to: output.count, by: parts) {
                let start = index * clusterBytes
                output[index] = QCOW2Writer.sha256(UnsafeRawBufferPointer(rebasing: input[start..<min(input.count, start + clusterBytes)]))
            }
        }
    }
}
