/// What the copy-on-write state of one tracked device holds in memory right now
/// (benchmarks and diagnostics; no ioctl exposes it).
public struct SimCOWStatistics: Sendable, Equatable {
    /// Chunk size in bytes (also the size of each chunk buffer).
    public var chunkBytes: UInt64
    /// Number of chunks of the device.
    public var chunkCount: UInt64
    /// Chunk descriptors in the index (chunks touched by COW or image writes).
    public var descriptorCount: Int
    /// Chunks waiting in the store queue (each holds a chunk buffer).
    public var queuedChunkCount: Int
    /// Idle chunk buffers kept in the pool.
    public var idleBufferCount: Int
    /// Estimated bytes of the chunk index's hash-table storage.
    public var indexStorageBytes: Int

    /// Bytes held by chunk buffers (queued plus idle), i.e. data, not bookkeeping.
    public var bufferBytes: UInt64 { UInt64(queuedChunkCount + idleBufferCount) * chunkBytes }
}

extension SimKernel {
    /// The COW memory figures of device `name` while it is in a taken snapshot, or nil
    /// when it is not tracked or has no diff area.
    public func cowStatistics(device name: String) -> SimCOWStatistics? {
        guard let area = blockLayer.disk(named: name)?.filter?.diffArea else { return nil }
        return SimCOWStatistics(chunkBytes: area.chunkSectors * 512, chunkCount: area.chunkCount,
                                descriptorCount: area.descriptorCount, queuedChunkCount: area.queuedChunks.count,
                                idleBufferCount: area.idleBufferCount, indexStorageBytes: area.indexStorageBytes)
    }
}
