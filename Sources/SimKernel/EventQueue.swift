#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI

/// One event of a snapshot's queue (spec §6.1).
public struct SimEvent: Sendable, Equatable {
    /// low_free_space (v5 0, VAL-7.0 1) or corrupted (v5 1, VAL-7.0 0).
    public var code: UInt32
    /// CLOCK_MONOTONIC nanoseconds at the time the event was queued.
    public var timeLabel: Int64
    /// Payload bytes (8 for low_free_space, 12 for corrupted).
    public var payload: [UInt8]
}

/// The event queue of one snapshot (kernel: event_queue.c).
///
/// FIFO shared by all devices of the snapshot; each event is consumed by exactly one
/// waiter. Producers: the difference storage (low_free_space, §5.3) and each diff
/// area (corrupted, §4.6).
final class EventQueue: @unchecked Sendable {
    private let queue = WaitQueue()
    private var events: [SimEvent] = []
    /// The dialect's codes (VAL-7.0 swaps v5's).
    private let lowFreeSpaceCode: UInt32
    private let corruptedCode: UInt32

    init(dialect: SimDialect = .v5) {
        lowFreeSpaceCode = dialect.lowFreeSpaceCode
        corruptedCode = dialect.corruptedCode
    }

    /// Queues an event stamped with the current monotonic time and wakes waiters.
    func push(code: UInt32, payload: [UInt8]) {
        let event = SimEvent(code: code, timeLabel: Int64(monotonicNanoseconds()), payload: payload)
        queue.withLock {
            events.append(event)
            queue.wakeAll()
        }
    }

    /// Queues a low_free_space event with `requested_nr_sect` = `sectors`.
    func pushLowFreeSpace(requestedSectors sectors: UInt64) {
        var payload = blksnap_event_low_free_space(requested_nr_sect: sectors)
        push(code: lowFreeSpaceCode, payload: withUnsafeBytes(of: &payload) { Array($0) })
    }

    /// Queues a corrupted event for device `major:minor` with positive errno `errorCode`.
    func pushCorrupted(major: UInt32, minor: UInt32, errorCode: Int32) {
        var payload = blksnap_event_corrupted(dev_id_mj: major, dev_id_mn: minor, err_code: errorCode)
        push(code: corruptedCode, payload: withUnsafeBytes(of: &payload) { Array($0) })
    }

    /// Waits up to `timeoutNanoseconds` for an event and dequeues it (§6.3).
    ///
    /// - Parameter interrupted: polled while sleeping; when it returns true the wait
    ///   ends with `EINTR` (a signal to the sleeping task).
    /// - Returns: the event, or `ENOENT` when the queue is still empty at the end of
    ///   the wait, or `EINTR`.
    func wait(timeoutNanoseconds: UInt64, interrupted: () -> Bool = { false }) -> Result<SimEvent, SimErrno> {
        let deadline = monotonicNanoseconds() &+ timeoutNanoseconds
        return queue.withLock {
            if let error = sleepWhileEmptyLocked(until: deadline, interrupted: interrupted) { return .failure(error) }
            return .success(events.removeFirst())
        }
    }

    /// Waits up to `timeoutNanoseconds` until the queue is non-empty, without
    /// dequeuing: the first half of v5's `event_wait`, for the paths that fail after
    /// the wait and leave the event queued (Quirk.waitTimeoutIntOverflow).
    ///
    /// - Returns: success when an event is queued, `ENOENT` at the timeout, `EINTR`.
    func waitUntilQueued(timeoutNanoseconds: UInt64, interrupted: () -> Bool = { false }) -> Result<Void, SimErrno> {
        let deadline = monotonicNanoseconds() &+ timeoutNanoseconds
        return queue.withLock {
            if let error = sleepWhileEmptyLocked(until: deadline, interrupted: interrupted) { return .failure(error) }
            return .success(())
        }
    }

    /// Sleeps (lock held, released while sleeping) until an event is queued, the
    /// deadline passes (`ENOENT`) or `interrupted` says so (`EINTR`); nil when an event is queued.
    private func sleepWhileEmptyLocked(until deadline: UInt64, interrupted: () -> Bool) -> SimErrno? {
        while events.isEmpty {
            if interrupted() { return SimErrno(EINTR) }
            let now = monotonicNanoseconds()
            if now >= deadline { break }
            // Wake at least every 10 ms to notice interruption.
            _ = queue.wait(untilMonotonicNanoseconds: min(deadline, now + 10_000_000))
        }
        return events.isEmpty ? SimErrno(ENOENT) : nil
    }

    /// Wakes sleepers so that they re-check their interruption condition.
    func kick() { queue.withLock { queue.wakeAll() } }

    /// Drops all pending events (snapshot release, §2.4).
    func clear() { queue.withLock { events.removeAll() } }

    /// Number of pending events.
    var count: Int { queue.withLock { events.count } }
}
