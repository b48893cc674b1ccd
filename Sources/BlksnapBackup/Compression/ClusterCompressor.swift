/// Compresses clusters for a qcow2 file with one ``BackupCompression``: a zstd or deflate
/// context kept from cluster to cluster.
///
/// Not thread-safe: ``ClusterEncoding`` gives each of its threads its own.
final class ClusterCompressor {
    private enum Codec {
        case zstd(ZstdCompressor)
        case deflate(DeflateCompressor)
    }

    private let codec: Codec

    /// A compressor for `compression`; nil for ``BackupCompression/none``.
    init?(_ compression: BackupCompression) {
        switch compression {
        case .none: return nil
        case .zlib: codec = .deflate(DeflateCompressor())
        case .zstd(let level): codec = .zstd(ZstdCompressor(level: level))
        }
    }

    /// Compresses one cluster into `output`; returns the compressed length, or nil when
    /// the cluster does not shrink (its compressed form would not be shorter than
    /// `output`, which the caller sizes one byte short of a cluster).
    func compress(_ cluster: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        switch codec {
        case .zstd(let zstd): return zstd.compress(cluster, into: output)
        case .deflate(let deflate): return deflate.compress(cluster, into: output)
        }
    }
}
