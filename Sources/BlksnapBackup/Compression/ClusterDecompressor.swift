/// Decompresses the compressed clusters of one qcow2 file (its header's compression
/// type): the codec's context is made on first use and kept.
///
/// Not thread-safe: one per ``QCOW2Reader``.
final class ClusterDecompressor {
    /// The file's compression type.
    let type: QCOW2CompressionType
    private var zstd: ZstdDecompressor?
    private var deflate: DeflateDecompressor?

    /// A decompressor for `type`.
    init(_ type: QCOW2CompressionType) {
        self.type = type
    }

    /// Fills `output` (one whole cluster) from the compressed data at the start of `input`.
    ///
    /// - Returns: nil on success, else what is wrong with the data.
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> String? {
        switch type {
        case .zstd:
            if zstd == nil { zstd = ZstdDecompressor() }
            return zstd?.decompress(input, into: output)
        case .zlib:
            if deflate == nil { deflate = DeflateDecompressor() }
            return deflate?.decompress(input, into: output)
        }
    }
}
