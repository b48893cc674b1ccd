import CZlib

/// One zlib deflate stream producing raw deflate data (no zlib header), as qcow2's
/// compression type 0 stores clusters: a 4 KiB window (window bits 12) and memory level
/// 9, as qemu writes them, so any qemu reads them. Reused for cluster after cluster.
///
/// Not thread-safe: one per thread.
final class DeflateCompressor {
    private let stream: UnsafeMutablePointer<z_stream>

    /// A stream at zlib's default level.
    init() {
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_deflate_init_raw(stream, Z_DEFAULT_COMPRESSION, -12, 9)
        precondition(status == Z_OK, "deflateInit2 failed (\(status)): out of memory")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `input` into `output`; returns the length, or nil when it does not fit
    /// in `output`.
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard deflateReset(stream) == Z_OK else { return nil }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = deflate(stream, Z_FINISH)
        guard status == Z_STREAM_END else { return nil }
        return output.count - Int(stream.pointee.avail_out)
    }
}

/// One zlib inflate stream for raw deflate data, reused for cluster after cluster; it
/// accepts any window size (up to 32 KiB), so clusters of any writer are read.
///
/// Not thread-safe: one per reader.
final class DeflateDecompressor {
    private let stream: UnsafeMutablePointer<z_stream>

    /// A fresh stream.
    init() {
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_inflate_init_raw(stream, -15)
        precondition(status == Z_OK, "inflateInit2 failed (\(status)): out of memory")
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Fills `output` (one cluster) from the raw deflate data at the start of `input`,
    /// which may run past the cluster's data (lengths are recorded in 512-byte sectors).
    ///
    /// - Returns: nil on success, else what is wrong with the data.
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> String? {
        guard inflateReset(stream) == Z_OK else { return "zlib: inflateReset failed" }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = inflate(stream, Z_FINISH)
        // Z_BUF_ERROR with a full output: the stream goes on past the cluster, which ends
        // decompression as the format says (it stops once it has produced a cluster).
        if (status == Z_STREAM_END || status == Z_BUF_ERROR) && stream.pointee.avail_out == 0 { return nil }
        if status == Z_STREAM_END || status == Z_BUF_ERROR {
            return "zlib: the data ends after \(output.count - Int(stream.pointee.avail_out)) of \(output.count) bytes"
        }
        let message = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
        return "zlib: \(message)"
    }
}
