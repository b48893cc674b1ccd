import Dispatch

/// The executor ``S3BlockingBridge`` runs its async work on: a `TaskExecutor` over a private
/// concurrent `DispatchQueue`, so that work never needs a thread of Swift's cooperative pool.
///
/// A private queue is served by libdispatch's overcommitting worker threads, which are
/// created when the existing ones are busy or blocked; the cooperative pool has a fixed width
/// (one thread per core) and stalls when its threads block. A synchronous caller that blocks a
/// pool thread while its request runs here therefore cannot starve that request.
final class S3BridgeExecutor: TaskExecutor {
    private let queue: DispatchQueue

    /// An executor whose queue carries `label` (in debuggers and thread dumps).
    init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated, attributes: .concurrent)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
