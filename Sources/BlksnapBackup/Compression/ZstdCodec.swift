import CZstd

/// One zstd compression context (libzstd's `ZSTD_CCtx`) at a fixed level, reused for
/// cluster after cluster. Each cluster becomes one zstd frame, as qcow2 stores them.
///
/// Not thread-safe: one per thread.
final class ZstdCompressor {
    private let context: OpaquePointer

    /// A context at `level`.
    init(level: Int32) {
        guard let context = ZSTD_createCCtx() else { fatalError("ZSTD_createCCtx: out of memory") }
        self.context = context
        _ = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
    }

    deinit {
        ZSTD_freeCCtx(context)
    }

    /// Compresses `input` into `output`; returns the frame's length, or nil when it does
    /// not fit in `output` (the caller then stores the cluster as it is).
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        let result = ZSTD_compress2(context, output.baseAddress, output.count, input.baseAddress, input.count)
        guard ZSTD_isError(result) == 0 else { return nil }
        return result
    }
}

/// One zstd decompression context (`ZSTD_DCtx`), reused for cluster after cluster.
///
/// Not thread-safe: one per reader.
final class ZstdDecompressor {
    private let context: OpaquePointer

    /// A fresh context.
    init() {
        guard let context = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx: out of memory") }
        self.context = context
    }

    deinit {
        ZSTD_freeDCtx(context)
    }

    /// Fills `output` (one cluster) from the zstd frames at the start of `input`.
    ///
    /// `input` may run past the cluster's data (qcow2 records compressed lengths in
    /// 512-byte sectors, and the next compressed cluster may share the last one), so
    /// decoding stops once `output` is full; the frame must end exactly there.
    ///
    /// - Returns: nil on success, else what is wrong with the data.
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> String? {
        _ = ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var destination = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        var remaining = 0
        while destination.pos < destination.size {
            let before = (source.pos, destination.pos)
            remaining = ZSTD_decompressStream(context, &destination, &source)
            if ZSTD_isError(remaining) != 0 {
                return "zstd: " + String(cString: ZSTD_getErrorName(remaining))
            }
            if source.pos == before.0 && destination.pos == before.1 {
                return "zstd: the data ends after \(destination.pos) of \(destination.size) bytes"
            }
        }
        if remaining != 0 {
            return "zstd: the frame holds more than one cluster (\(output.count) bytes)"
        }
        return nil
    }
}
