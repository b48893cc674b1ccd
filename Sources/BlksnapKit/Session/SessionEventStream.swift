/// Session events as an `AsyncStream`, for callers that consume them from a task while
/// the session runs on its own thread.
///
/// ```swift
/// let (events, deliver) = SessionEventStream.make()
/// // on the session's thread:
/// let session = Session(kernel: k, configuration: c, storage: s, onEvent: deliver)
/// // in a task:
/// for await event in events { … }
/// ```
/// The stream buffers every event (none is dropped) and finishes after
/// ``SessionEvent/ended(reason:)``.
public enum SessionEventStream {
    /// A new stream and the callback that feeds it (pass it as `onEvent`).
    public static func make() -> (stream: AsyncStream<SessionEvent>, deliver: @Sendable (SessionEvent) -> Void) {
        let (stream, continuation) = AsyncStream<SessionEvent>.makeStream(bufferingPolicy: .unbounded)
        return (stream, { event in
            continuation.yield(event)
            if case .ended = event { continuation.finish() }
        })
    }
}
