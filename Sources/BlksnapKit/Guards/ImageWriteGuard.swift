/// Writes to a snapshot image that cannot meet v5's multi-chunk image-write corruption.
///
/// v5 corrupts the image when one write bio starts in (or meets) a chunk not yet copied
/// and continues into later chunks (spec §12.1 item 9): every chunk after the first
/// receives other memory, silently (no event, `error_code` 0). `O_DIRECT` writes of
/// more than one chunk produce such bios; buffered writes reach the image one page
/// per bio and are safe, and so is any write inside one chunk.
///
/// The guard cuts a write into pieces that never cross a 4 KiB boundary of the image.
/// That is safe whatever the chunk size: chunks are 2^`chunk_minimum_shift` bytes or
/// larger (§4.1), a parameter that may change after take and that no ioctl reports
/// per image, while a piece inside one page is one bio segment, which v5 advances over
/// correctly even when its chunk is smaller than a page. Every image write that
/// blksnapctl issues itself (`sim write`, the FUSE export behind `sim loop attach
/// --writable`) goes through it.
public enum ImageWriteGuard {
    /// No piece crosses a multiple of this many bytes (one page).
    public static let pieceBoundaryBytes: UInt64 = 4096

    /// The image name prefixes of every ABI: v5's `blksnap-image_` (and VAL-6.0's
    /// `blksnap-image<N>`), VAL-7.0's `veeamblksnapimg_` and VAL-6.x's `veeamblksnapimg<N>`.
    /// VAL-7.0 runs v5's image-write code and corrupts such writes the same way (field
    /// spec §6 #13).
    public static let imageNamePrefixes = ["blksnap-image", "veeamblksnapimg"]

    /// Whether `path` names a snapshot image of any blksnap ABI.
    public static func isImage(path: String) -> Bool {
        let name = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        return imageNamePrefixes.contains { name.hasPrefix($0) }
    }

    /// The length of the next piece of a write of `remainingBytes` at `offsetBytes`:
    /// up to the next multiple of ``pieceBoundaryBytes``, at most `remainingBytes`.
    public static func pieceLength(offsetBytes: UInt64, remainingBytes: Int) -> Int {
        let toBoundary = pieceBoundaryBytes - offsetBytes % pieceBoundaryBytes
        return Int(min(UInt64(remainingBytes), toBoundary))
    }
}
