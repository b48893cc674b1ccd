/// One block status descriptor: a run of bytes with the same status flags.
public struct NBDExtent: Sendable, Hashable {
    /// Bytes in the run.
    public var lengthBytes: UInt64
    /// The context's status flags (`NBD_STATE_*`).
    public var flags: UInt32

    /// Creates an extent.
    public init(lengthBytes: UInt64, flags: UInt32) {
        self.lengthBytes = lengthBytes
        self.flags = flags
    }
}

/// The block status of one context over one request's window, as a source reports it,
/// turned into the descriptors of one reply chunk — nbdkit's `nbdkit_add_extent`. Every
/// source reports through one, so the rules live here only:
///
/// - runs are clipped to the window; runs outside it are dropped;
/// - runs may come in any order: they are sorted by offset;
/// - where runs overlap, the bytes keep the flags of the run that starts first (of runs
///   starting at the same byte, the one added first);
/// - bytes no run covers have flags 0 (data, not dirty);
/// - adjacent runs with equal flags are merged;
/// - at most ``limit`` descriptors, from the window's start (the reply then covers less
///   than asked, as the protocol allows).
public struct NBDExtentBuilder: Sendable {
    /// First byte of the window.
    public let offsetBytes: UInt64
    /// Bytes in the window.
    public let lengthBytes: UInt64
    /// Most descriptors returned (1 for `NBD_CMD_FLAG_REQ_ONE`).
    public let limit: Int

    private struct Run: Sendable {
        var start: UInt64
        var end: UInt64
        var flags: UInt32
    }

    /// The runs added, clipped to the window, in the order added.
    private var runs: [Run] = []
    /// True while every run started at or after the end of the run before it.
    private var ordered = true
    /// While ordered: the end of the last run, and the descriptors so far and the flags
    /// of the last one (for ``isFull``).
    private var position: UInt64
    private var descriptors = 0
    private var lastFlags: UInt32 = 0

    /// A builder for `offsetBytes ..< offsetBytes + lengthBytes` returning at most `limit`
    /// descriptors (at least 1).
    public init(offsetBytes: UInt64, lengthBytes: UInt64, limit: Int = NBDLimits.maximumExtentsPerReply) {
        self.offsetBytes = offsetBytes
        self.lengthBytes = lengthBytes
        self.limit = max(1, limit)
        position = offsetBytes
    }

    /// The byte after the window.
    public var endBytes: UInt64 { offsetBytes + lengthBytes }

    /// True when, runs having come in order, the first ``limit`` descriptors can no
    /// longer change: a source may stop adding.
    public var isFull: Bool { ordered && descriptors > limit }

    /// Adds `lengthBytes` bytes at `offsetBytes` with status `flags`.
    public mutating func add(offsetBytes start: UInt64, lengthBytes length: UInt64, flags: UInt32) {
        let (sum, overflow) = start.addingReportingOverflow(length)
        let end = min(overflow ? UInt64.max : sum, endBytes)
        let start = max(start, offsetBytes)
        guard start < end else { return }
        if ordered {
            if start < position {
                ordered = false
            } else {
                if start > position { count(0) }
                count(flags)
                position = end
            }
        }
        runs.append(Run(start: start, end: end, flags: flags))
    }

    private mutating func count(_ flags: UInt32) {
        if descriptors == 0 || flags != lastFlags {
            descriptors += 1
            lastFlags = flags
        }
    }

    /// The descriptors: cover the window from its start, at most ``limit``; empty only
    /// for an empty window.
    public func extents() -> [NBDExtent] {
        let sorted = ordered ? runs : runs.enumerated().sorted {
            ($0.element.start, $0.offset) < ($1.element.start, $1.offset)
        }.map(\.element)
        var extents: [NBDExtent] = []
        func append(_ length: UInt64, _ flags: UInt32) {
            guard length > 0 else { return }
            if let last = extents.last, last.flags == flags {
                extents[extents.count - 1].lengthBytes += length
            } else {
                extents.append(NBDExtent(lengthBytes: length, flags: flags))
            }
        }
        var position = offsetBytes
        for run in sorted {
            // Past `limit` descriptors the first `limit` are final.
            if extents.count > limit { break }
            let start = max(run.start, position)
            guard start < run.end else { continue }
            append(start - position, 0)
            append(run.end - start, run.flags)
            position = run.end
        }
        if extents.count <= limit { append(endBytes - position, 0) }
        if extents.count > limit { extents.removeLast(extents.count - limit) }
        return extents
    }
}
