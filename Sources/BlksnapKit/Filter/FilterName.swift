import CBlksnapUAPI

/// The name blksnap registers with the block layer, `"blksnap"`, as the 32-byte
/// NUL-padded field that `BLKFILTER_ATTACH`, `BLKFILTER_DETACH` and `BLKFILTER_CTL` carry.
enum FilterName {
    /// `"blksnap"`.
    static let blksnap = "blksnap"

    /// Writes `"blksnap"` followed by NULs into a `name[BLKFILTER_NAME_LENGTH]` field.
    static func fill(_ field: UnsafeMutableRawBufferPointer) {
        field.initializeMemory(as: UInt8.self, repeating: 0)
        field.copyBytes(from: blksnap.utf8)
    }

    /// A `struct blkfilter_name` holding `"blksnap"`.
    static var filterName: blkfilter_name {
        var name = blkfilter_name()
        withUnsafeMutableBytes(of: &name.name) { fill($0) }
        return name
    }
}
