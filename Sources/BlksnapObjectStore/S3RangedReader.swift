import Foundation

/// A synchronous random-access reader of one object, through ranged GETs of aligned blocks
/// kept in a small least-recently-used cache: many small reads of neighbouring offsets (a
/// qcow2 reader's 64 KiB clusters) cost one GetObject per block.
///
/// Each block is `blockSize` bytes at a multiple of `blockSize` (the last one shorter), fetched
/// whole with `Range: bytes=first-last`. At most `cachedBlocks` blocks are kept, plus one being
/// fetched per thread reading, so the reader holds at most `blockSize × (cachedBlocks +
/// threads reading)` bytes. ``getCount`` and ``bytesFetched`` count the requests and their
/// bytes, for callers and tests that care about the cost.
///
/// The reader reads the object as it was when the reader was made: each block's ETag is
/// compared with the one HeadObject gave (when the reader made that request), and a block of
/// another object, or a short one, throws ``S3StreamError/Kind/objectChanged``.
///
/// Every call blocks its thread until done. Several threads may read at once: their GETs run
/// in parallel, and a block that one thread is fetching is waited for, not fetched again. It may
/// be called from any thread, including those of Swift's cooperative pool (``S3BlockingBridge``).
public final class S3RangedReader: @unchecked Sendable {
    // @unchecked: every mutable property is guarded by `lock`.

    /// The block size when none is given: 4 MiB.
    public static let defaultBlockSize = 4 << 20

    /// The bucket read.
    public let bucket: String
    /// The key read.
    public let key: String
    /// The object's size in bytes.
    public let size: UInt64
    /// The object's ETag, when the reader asked HeadObject for the size.
    public let eTag: String?
    /// The size of a block, the unit of each GET.
    public let blockSize: Int
    /// The most blocks kept.
    public let cachedBlocks: Int

    /// GetObject requests made so far.
    public var getCount: Int { lock.withLock { gets } }
    /// Bytes received from GetObject so far.
    public var bytesFetched: UInt64 { lock.withLock { fetched } }
    /// Reads of a block served from the cache so far.
    public var cacheHits: Int { lock.withLock { hits } }

    private let bridge: S3BlockingBridge
    /// Guards the counters, the cache and `fetching`; signalled when a fetch ends.
    private let lock = NSCondition()
    private var gets = 0
    private var fetched: UInt64 = 0
    private var hits = 0
    /// The blocks kept, least recently used first.
    private var cache: [(index: UInt64, bytes: [UInt8])] = []
    /// The blocks being fetched, by a thread that does not hold `lock` meanwhile.
    private var fetching: Set<UInt64> = []

    /// A reader of `key` in `bucket` through `bridge`, whose size (and ETag) come from
    /// HeadObject. Throws the ``S3Error`` of the HEAD (`NotFound` for a missing object), or
    /// ``S3StreamError/Kind/invalidArgument`` for a block size or cache size below 1.
    public convenience init(
        bridge: S3BlockingBridge, bucket: String, key: String, blockSize: Int = defaultBlockSize, cachedBlocks: Int = 4
    ) throws {
        try S3RangedReader.validate(bucket: bucket, key: key, blockSize: blockSize, cachedBlocks: cachedBlocks)
        let head = try bridge.run { client in try await client.headObject(bucket: bucket, key: key) }
        try self.init(
            bridge: bridge, bucket: bucket, key: key, size: UInt64(max(0, head.size)), eTag: head.eTag,
            blockSize: blockSize, cachedBlocks: cachedBlocks)
    }

    /// A reader of `key` in `bucket` through `bridge`, of an object whose size is known (no
    /// request is made until a read needs one). Reads past the object's real end throw
    /// (``S3Error`` `InvalidRange`, or ``S3StreamError/Kind/objectChanged`` for a short block).
    /// `eTag`, when given, is checked against each block's.
    public init(
        bridge: S3BlockingBridge, bucket: String, key: String, size: UInt64, eTag: String? = nil,
        blockSize: Int = defaultBlockSize, cachedBlocks: Int = 4
    ) throws {
        try S3RangedReader.validate(bucket: bucket, key: key, blockSize: blockSize, cachedBlocks: cachedBlocks)
        self.bridge = bridge
        self.bucket = bucket
        self.key = key
        self.size = size
        self.eTag = eTag
        self.blockSize = blockSize
        self.cachedBlocks = cachedBlocks
    }

    private static func validate(bucket: String, key: String, blockSize: Int, cachedBlocks: Int) throws {
        guard blockSize >= 1, cachedBlocks >= 1 else {
            throw S3StreamError(
                kind: .invalidArgument, resource: "s3://\(bucket)/\(key)",
                message: "block size \(blockSize) B and \(cachedBlocks) cached blocks: both must be at least 1",
                remedy: "pass a block size of at least 1 byte (4 MiB is the default) and at least 1 cached block")
        }
    }

    private var resource: String { "s3://\(bucket)/\(key)" }

    /// Reads up to `buffer.count` bytes at `offset` into `buffer`; returns how many were read,
    /// fewer only at the end of the object (0 at or past it). Fetches the blocks not cached
    /// (one GET each). Throws the ``S3Error`` of a failed GET, or
    /// ``S3StreamError/Kind/objectChanged``.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        guard offset < size, !buffer.isEmpty else { return 0 }
        let count = Int(min(UInt64(buffer.count), size - offset))
        let unit = UInt64(blockSize)
        var done = 0
        while done < count {
            let position = offset + UInt64(done)
            let index = position / unit
            let block = try self.block(index)
            let within = Int(position - index * unit)
            let length = min(count - done, block.count - within)
            block.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + length)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[within..<(within + length)]))
            }
            done += length
        }
        return count
    }

    /// Forgets the cached blocks (the counters stay).
    public func dropCache() {
        lock.withLock { cache.removeAll() }
    }

    /// Block `index`, from the cache, from another thread's fetch, or fetched (then cached,
    /// evicting the least recently used).
    private func block(_ index: UInt64) throws -> [UInt8] {
        lock.lock()
        while true {
            if let slot = cache.firstIndex(where: { $0.index == index }) {
                let entry = cache.remove(at: slot)
                cache.append(entry)
                hits += 1
                lock.unlock()
                return entry.bytes
            }
            guard fetching.contains(index) else { break }
            lock.wait()
        }
        fetching.insert(index)
        gets += 1
        lock.unlock()
        let outcome = Result { try fetch(index) }
        lock.lock()
        defer { lock.unlock() }
        fetching.remove(index)
        lock.broadcast()
        let bytes = try outcome.get()
        if cache.count >= cachedBlocks { cache.removeFirst() }
        cache.append((index, bytes))
        return bytes
    }

    /// GETs block `index` (without holding `lock`) and checks its length and ETag.
    private func fetch(_ index: UInt64) throws -> [UInt8] {
        let first = index * UInt64(blockSize)
        let last = min(first + UInt64(blockSize), size) - 1
        let (bucket, key) = (self.bucket, self.key)
        let data = try bridge.run { client in
            try await client.getObject(bucket: bucket, key: key, range: Int64(first)...Int64(last))
        }
        lock.withLock { fetched += UInt64(data.bytes.count) }
        let expected = Int(last - first + 1)
        if data.bytes.count != expected || (eTag != nil && !data.head.eTag.isEmpty && data.head.eTag != eTag) {
            throw S3StreamError(
                kind: .objectChanged, resource: resource,
                message: "bytes \(first)...\(last) came back as \(data.bytes.count) B of ETag \(data.head.eTag) where \(expected) B of ETag \(eTag ?? "(any)") of a \(size) B object were expected",
                remedy: "the object was replaced or shortened while it was read; read it again with a new reader, and keep other writers off the key")
        }
        return data.bytes
    }
}
