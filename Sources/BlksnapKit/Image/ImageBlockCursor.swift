/// The blocks ``SnapshotImageReader/forEachBlock(of:blockBytes:readAhead:_:)`` reads, in
/// order: each range clipped to the image, cut at multiples of the block size counted
/// from the image's start.
struct ImageBlockCursor: Sendable {
    private let ranges: [SectorRange]
    private let blockBytes: UInt64
    private let capacityBytes: UInt64
    private var rangeIndex = 0
    private var offset: UInt64?

    init(ranges: [SectorRange], blockBytes: Int, capacityBytes: UInt64) {
        self.ranges = ranges
        self.blockBytes = UInt64(blockBytes)
        self.capacityBytes = capacityBytes
    }

    /// The next block's offset and length; nil after the last.
    private mutating func next() -> (offsetBytes: UInt64, length: Int)? {
        while rangeIndex < ranges.count {
            let range = ranges[rangeIndex]
            let end = min(range.offsetBytes + range.countBytes, capacityBytes)
            let start = offset ?? range.offsetBytes
            if start < end {
                let blockEnd = min((start / blockBytes + 1) * blockBytes, end)
                offset = blockEnd
                return (start, Int(blockEnd - start))
            }
            rangeIndex += 1
            offset = nil
        }
        return nil
    }

    /// Reads the next block into the start of `buffer` (at least `blockBytes` long): its
    /// offset and the bytes read, nil after the last block. A short read means the image
    /// ended: the rest of that range is skipped. Both ways of reading the blocks (in turn,
    /// and ``ImageReadAhead``'s thread) read through this.
    mutating func readNext(from reader: SnapshotImageReader,
                           into buffer: UnsafeMutableRawBufferPointer) throws(ImageReadError) -> (offsetBytes: UInt64, count: Int)? {
        guard let (offset, length) = next() else { return nil }
        let count = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<length]), at: offset)
        if count < length {
            rangeIndex += 1
            self.offset = nil
        }
        return (offset, count)
    }
}
