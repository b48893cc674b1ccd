import Synchronization

extension Control {
    /// The events of a snapshot as an asynchronous sequence, for `for try await`.
    ///
    /// ```swift
    /// for try await event in control.events(of: id) {
    ///     print(event)
    /// }
    /// // here the snapshot was destroyed, or the task cancelled
    /// ```
    ///
    /// Each iteration starts a dedicated thread that calls
    /// ``waitEvent(_:timeoutTicks:)`` with a bounded timeout of `pollMilliseconds`
    /// again and again, so no thread of Swift's cooperative pool is held while the
    /// kernel sleeps. The sequence
    /// - yields every event in the kernel's order (none is dropped);
    /// - ends (returns nil) when the snapshot is gone: `WAIT_EVENT` answers `ESRCH`;
    /// - ends at once when the iterating task is cancelled; the thread notices within
    ///   one bounded wait and exits;
    /// - throws the ``BlksnapError`` of any other failure (a signal's `EINTR` is retried).
    ///
    /// Note that the events are the kernel's: answering `low_free_space` is the caller's
    /// job (or a ``Session``'s, which consumes them itself — do not iterate the events
    /// of a snapshot a session runs, the two would each see only some of them).
    ///
    /// - Parameters:
    ///   - id: the snapshot.
    ///   - hz: the kernel's ticks per second (the timeout is in jiffies, see
    ///     ``waitEvent(_:timeoutTicks:)``); 250 on common kernels and on the simulator.
    ///   - pollMilliseconds: the bound of one wait, hence of the delay until a
    ///     cancellation frees the thread.
    ///
    /// The corresponding ioctl is `IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT`.
    public func events(of id: SnapshotID, hz: UInt32 = 250, pollMilliseconds: UInt64 = 50) -> SnapshotEvents {
        SnapshotEvents(control: self, id: id, ticks: Self.ticks(milliseconds: max(1, pollMilliseconds), hz: hz))
    }
}

/// The events of one snapshot (``Control/events(of:hz:pollMilliseconds:)``).
public struct SnapshotEvents: AsyncSequence, Sendable {
    /// An event.
    public typealias Element = SnapshotEvent
    /// A ``BlksnapError`` from `WAIT_EVENT`, as `any Error`.
    public typealias Failure = any Error

    private let control: Control
    private let id: SnapshotID
    private let ticks: UInt32

    init(control: Control, id: SnapshotID, ticks: UInt32) {
        self.control = control
        self.id = id
        self.ticks = ticks
    }

    /// Starts waiting: a new thread for each iterator.
    public func makeAsyncIterator() -> Iterator {
        let (stream, continuation) = AsyncThrowingStream<SnapshotEvent, any Error>.makeStream(bufferingPolicy: .unbounded)
        let waiter = Waiter(control: control, id: id, ticks: ticks)
        continuation.onTermination = { [waiter] _ in waiter.stop() }
        DedicatedThread.spawn { [waiter] in waiter.run(continuation) }
        return Iterator(base: stream.makeAsyncIterator())
    }

    /// Hands out the events the waiting thread delivers.
    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<SnapshotEvent, any Error>.AsyncIterator

        /// The next event; nil once the snapshot is gone or the task is cancelled.
        public mutating func next() async throws -> SnapshotEvent? {
            try await base.next()
        }
    }

    /// The thread's side: bounded waits until the snapshot goes or the consumer stops.
    private final class Waiter: Sendable {
        let control: Control
        let id: SnapshotID
        let ticks: UInt32
        private let stopped = Atomic<Bool>(false)

        init(control: Control, id: SnapshotID, ticks: UInt32) {
            self.control = control
            self.id = id
            self.ticks = ticks
        }

        /// Called when the consumer goes (cancelled, or the iterator dropped).
        func stop() { stopped.store(true, ordering: .releasing) }

        func run(_ continuation: AsyncThrowingStream<SnapshotEvent, any Error>.Continuation) {
            while !stopped.load(ordering: .acquiring) {
                do {
                    if let event = try control.waitEvent(id, timeoutTicks: ticks) {
                        continuation.yield(event)
                    }
                } catch where error.errno == .noSuchProcess {
                    break  // destroyed: the sequence ends
                } catch where error.errno == .interrupted {
                    continue
                } catch {
                    continuation.finish(throwing: error)
                    return
                }
            }
            continuation.finish()
        }
    }
}
