#if canImport(Glibc)
import Glibc
#endif

/// Reads an image's blocks on a thread of its own, up to `depth` blocks ahead of their
/// consumer, so that the image read overlaps what the consumer does with the previous
/// blocks (hashing, writing). Blocks come out in the cursor's order, each in a buffer of
/// the ring that the consumer hands back with ``release()``.
///
/// `@unchecked Sendable`: every mutable field is read and written under `mutex`, except
/// `cursor` (only the reading thread uses it once started) and the buffers' bytes: the
/// slot `produced % depth` belongs to the reading thread until it counts it produced,
/// and to the consumer from then until ``release()``.
final class ImageReadAhead: @unchecked Sendable {
    /// What the reading thread left in a slot.
    enum Block {
        /// `count` bytes read at `offsetBytes` (fewer than asked: the image ended).
        case data(offsetBytes: UInt64, count: Int)
        /// The read failed; the thread stopped.
        case failed(ImageReadError)
        /// Every block was read; the thread stopped.
        case end
    }

    private let reader: SnapshotImageReader
    private var cursor: ImageBlockCursor
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var slots: [Block?]
    private var produced = 0
    private var consumed = 0
    private var stopping = false
    private var exited = false
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>

    /// Allocates `depth` buffers of `blockBytes`; nothing is read before ``start()``.
    init(reader: SnapshotImageReader, cursor: ImageBlockCursor, blockBytes: Int, depth: Int) {
        precondition(depth > 0)
        self.reader = reader
        self.cursor = cursor
        buffers = (0..<depth).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: blockBytes, alignment: 4096) }
        slots = Array(repeating: nil, count: depth)
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        changed = .allocate(capacity: 1)
        changed.initialize(to: pthread_cond_t())
        pthread_cond_init(changed, nil)
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
        pthread_cond_destroy(changed)
        changed.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Starts the reading thread.
    func start() {
        DedicatedThread.spawn { [self] in produce() }
    }

    /// Waits for the next block; its bytes stay valid until ``release()``.
    func next() -> (block: Block, bytes: UnsafeRawBufferPointer) {
        locked {
            while produced == consumed { pthread_cond_wait(changed, mutex) }
        }
        let slot = consumed % buffers.count
        let block = locked { slots[slot]! }
        if case .data(_, let count) = block {
            return (block, UnsafeRawBufferPointer(rebasing: buffers[slot][..<count]))
        }
        return (block, UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Gives the buffer of the block ``next()`` returned back to the reading thread.
    func release() {
        locked {
            consumed += 1
            pthread_cond_broadcast(changed)
        }
    }

    /// Stops the reading thread and waits until it has exited: after this the buffers
    /// are no longer touched and the reader may be closed.
    func finish() {
        locked {
            stopping = true
            pthread_cond_broadcast(changed)
            while !exited { pthread_cond_wait(changed, mutex) }
        }
    }

    private func produce() {
        while true {
            let slot: Int? = locked {
                while !stopping && produced - consumed >= buffers.count { pthread_cond_wait(changed, mutex) }
                return stopping ? nil : produced % buffers.count
            }
            guard let slot else { break }
            let block: Block
            do {
                if let (offset, count) = try cursor.readNext(from: reader, into: buffers[slot]) {
                    block = .data(offsetBytes: offset, count: count)
                } else {
                    block = .end
                }
            } catch {
                block = .failed(error)
            }
            let last = locked {
                slots[slot] = block
                produced += 1
                pthread_cond_broadcast(changed)
                if case .data = block { return false }
                return true
            }
            if last { break }
        }
        locked {
            exited = true
            pthread_cond_broadcast(changed)
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}
