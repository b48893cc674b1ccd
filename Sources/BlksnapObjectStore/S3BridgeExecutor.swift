import Dispatch
import Synchronization

/// The executor ``S3BlockingBridge`` runs its async work on: a `TaskExecutor` over a few
/// private serial `DispatchQueue`s ("lanes", taken in turn), so that work never needs a thread
/// of Swift's cooperative pool.
///
/// Private serial queues are overcommitting: libdispatch gives each a thread when it has work,
/// even when every other thread is busy or blocked. The cooperative pool has a fixed width (one
/// thread per core) and stalls when its threads block; a synchronous caller that blocks a pool
/// thread while its request runs here therefore cannot starve that request. (A private
/// concurrent queue is not overcommitting in libdispatch: whether it gets a thread while
/// every core is taken would be up to the platform's thread pool.) Several lanes let the CPU
/// work of requests in flight (hashing bodies for SigV4, parsing answers) use several cores.
final class S3BridgeExecutor: TaskExecutor {
    private let lanes: [DispatchQueue]
    private let next = Atomic<Int>(0)

    /// An executor of `lanes` serial queues labelled `label`.N (in debuggers and thread dumps).
    init(label: String, lanes: Int) {
        self.lanes = (0..<max(1, lanes)).map { DispatchQueue(label: "\(label).\($0)", qos: .userInitiated) }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // A task's jobs are enqueued one at a time, so any lane may run the next one.
        let lane = next.wrappingAdd(1, ordering: .relaxed).oldValue
        lanes[Int(UInt(bitPattern: lane) % UInt(lanes.count))].async { job.runSynchronously(on: executor) }
    }
}
