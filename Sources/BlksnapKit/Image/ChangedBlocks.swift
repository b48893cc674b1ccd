/// The blocks of a CBT map whose changes number is greater than a given one, merged into
/// sector ranges: what changed on a device after a recorded point.
///
/// A CBT map holds one byte per CBT block: the changes number during which the block was
/// last written (0: not since the generation began). The blocks "changed since N" are
/// those whose byte is greater than N. This is the one place that turns a map into
/// ranges: `blksnapctl cbt read --since`, the NBD export's `qemu:dirty-bitmap` context and
/// incremental backups all use it, so they agree block for block.
///
/// The comparison is only meaningful while the map's generation id is the one N was
/// recorded in: a re-attached tracker starts a new generation with new numbers.
public struct ChangedBlocks: Equatable, Sendable {
    /// Number of changed blocks.
    public private(set) var blockCount = 0
    /// Adjacent changed blocks merged, clipped to the capacity; sorted, disjoint and never
    /// adjacent to one another.
    public private(set) var ranges: [SectorRange] = []

    /// Scans `map` once.
    ///
    /// - Parameters:
    ///   - map: the CBT map, one byte per block (``BlockDevice/readCBT(chunkBytes:)``).
    ///   - since: the changes number after which a block counts as changed.
    ///   - blockSizeBytes: the CBT block size (``CBTInfo/blockSizeBytes``).
    ///   - capacitySectors: the device's capacity; the last block's range is clipped to it.
    public init(map: [UInt8], since: UInt8, blockSizeBytes: UInt32, capacitySectors: UInt64) {
        let blockSectors = UInt64(max(blockSizeBytes / 512, 1))
        var runStart: Int?
        func close(_ end: Int) {
            guard let start = runStart else { return }
            let first = UInt64(start) * blockSectors
            let last = min(UInt64(end) * blockSectors, capacitySectors)
            if last > first { ranges.append(SectorRange(offsetSectors: first, countSectors: last - first)) }
            runStart = nil
        }
        for (index, number) in map.enumerated() {
            if number > since {
                blockCount += 1
                if runStart == nil { runStart = index }
            } else {
                close(index)
            }
        }
        close(map.count)
    }

    /// The changed ranges that overlap `offsetBytes ..< offsetBytes + lengthBytes`, clipped
    /// to it: a binary search, so a query costs O(log ranges + ranges returned) whatever
    /// the device's size.
    public func ranges(overlappingBytes offsetBytes: UInt64, length lengthBytes: UInt64) -> [SectorRange] {
        let startSector = offsetBytes / SectorRange.sectorSizeBytes
        let (sum, overflow) = offsetBytes.addingReportingOverflow(lengthBytes)
        let endBytes = overflow ? UInt64.max : sum
        let endSector = endBytes / SectorRange.sectorSizeBytes + (endBytes % SectorRange.sectorSizeBytes == 0 ? 0 : 1)
        // First range whose end is past the start.
        var low = 0, high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].endSectors <= startSector { low = middle + 1 } else { high = middle }
        }
        var result: [SectorRange] = []
        var index = low
        while index < ranges.count, ranges[index].offsetSectors < endSector {
            let range = ranges[index]
            let first = max(range.offsetSectors, startSector)
            let last = min(range.endSectors, endSector)
            result.append(SectorRange(offsetSectors: first, countSectors: last - first))
            index += 1
        }
        return result
    }
}
