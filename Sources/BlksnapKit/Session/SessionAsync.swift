extension Session {
    /// Runs the whole session — ``start()``, ``runEventLoop()``, ``teardown()`` — on a
    /// thread of its own while the calling task waits without holding a thread of the
    /// cooperative pool; returns why the event loop ended.
    ///
    /// Cancelling the task stops the session as ``SessionStopHandle/requestStop(_:)``
    /// does (the CLI does that on SIGTERM): the loop ends within one poll interval with
    /// ``SessionEndReason/stopped(signal:)`` (signal nil), then teardown runs in order —
    /// destroy, wait for the images to vanish, release the storage — before this returns.
    /// A cancellation during ``start()`` takes effect once the snapshot is taken, and
    /// is torn down the same way. Events reach `onEvent` on the session's thread.
    ///
    /// ```swift
    /// let task = Task { try await session.run() }
    /// // …
    /// task.cancel()
    /// let reason = try await task.value   // .stopped(signal: nil); nothing left behind
    /// ```
    ///
    /// - Throws: ``SessionError`` from setup (rolled back) or teardown.
    public func run() async throws(SessionError) -> SessionEndReason {
        let handle = stopHandle
        // This task is suspended until the thread is done: the thread is the session's
        // only user meanwhile.
        let handover = Handover(suspendedOwnerOf: self)
        let result: Result<SessionEndReason, SessionError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                DedicatedThread.spawn {
                    guard let session = handover.take() else { return }
                    continuation.resume(returning: Result { () throws(SessionError) -> SessionEndReason in
                        try session.run()
                    })
                }
            }
        } onCancel: {
            handle.requestStop()
        }
        return try result.get()
    }
}
