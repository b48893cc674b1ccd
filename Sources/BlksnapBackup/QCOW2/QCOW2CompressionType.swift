/// The `compression_type` header field: how every compressed cluster of a file is stored.
public enum QCOW2CompressionType: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// Raw deflate (no zlib header): the default, and the only type of a file without the field.
    case zlib = 0
    /// One or more zstd frames; needs incompatible feature bit 3.
    case zstd = 1

    /// `zlib` or `zstd`.
    public var description: String { self == .zlib ? "zlib" : "zstd" }
}
