import Synchronization

/// Turns the raw ``BackupProgress`` reports of a backup or restore into a stream of
/// ``BackupProgressEvent``s: rate-limited samples with the rate and ETA, then one summary.
///
/// Give a meter to ``BackupRun`` or ``BackupRestorer/restore(id:to:overwrite:delta:progress:)``
/// and iterate ``events`` (from a task of your own: the copy runs on the caller's thread):
///
/// ```swift
/// let meter = BackupProgressMeter(phase: .backup)
/// let watcher = Task { for await event in meter.events { print(event) } }
/// let run = BackupRun(repository: repository, kernel: kernel, configuration: configuration,
///                     storage: storage, progress: meter)
/// _ = try run.run()  // finishes the meter: a .summary, then the stream ends
/// await watcher.value
/// ```
///
/// A device's sample is yielded on its first report (0 bytes: its copy starts), then
/// whenever `interval` passed or `byteInterval` bytes were read since its last sample,
/// whichever comes first, and always on its last report (``BackupProgress/finished``).
/// The summary's per-device counts are each device's last report, so the last sample of
/// a device that finished equals its summary entry, and the summary's totals are their sums.
/// The stream buffers every event (a slow reader loses none; there are few).
public final class BackupProgressMeter: Sendable {
    /// The default time between two samples of a device: 1 second.
    public static let defaultInterval: Duration = .seconds(1)
    /// The default bytes between two samples of a device: 64 MiB.
    public static let defaultByteInterval: UInt64 = 64 << 20

    /// What is measured.
    public let phase: BackupProgressPhase
    /// Time between two samples of a device.
    public let interval: Duration
    /// Bytes read between two samples of a device.
    public let byteInterval: UInt64
    /// The events, in order; finished after the summary.
    public let events: AsyncStream<BackupProgressEvent>

    private struct DeviceState {
        var last: BackupProgress
        var started: ContinuousClock.Instant
        var sampledAt: ContinuousClock.Instant
        var sampledBytes: UInt64
    }

    private struct State {
        var devices: [Int: DeviceState] = [:]
        var finished = false
    }

    private let continuation: AsyncStream<BackupProgressEvent>.Continuation
    private let created = ContinuousClock.now
    private let state = Mutex(State())

    /// Creates a meter; nothing is yielded until the first report.
    public init(phase: BackupProgressPhase, interval: Duration = defaultInterval,
                byteInterval: UInt64 = defaultByteInterval) {
        self.phase = phase
        self.interval = interval
        self.byteInterval = max(byteInterval, 1)
        (events, continuation) = AsyncStream.makeStream(of: BackupProgressEvent.self, bufferingPolicy: .unbounded)
    }

    /// Takes one raw report (from any thread); yields a sample when one is due. Reports
    /// after ``finish(failure:)`` are ignored.
    public func record(_ progress: BackupProgress) {
        let now = ContinuousClock.now
        let sample: BackupProgressSample? = state.withLock { state in
            guard !state.finished else { return nil }
            guard var device = state.devices[progress.deviceIndex] else {
                state.devices[progress.deviceIndex] = DeviceState(last: progress, started: now, sampledAt: now,
                                                                  sampledBytes: progress.bytesRead)
                return makeSample(progress, started: now, now: now)
            }
            device.last = progress
            defer { state.devices[progress.deviceIndex] = device }
            let due = progress.finished || now - device.sampledAt >= interval
                || progress.bytesRead >= device.sampledBytes + byteInterval
            guard due else { return nil }
            device.sampledAt = now
            device.sampledBytes = progress.bytesRead
            return makeSample(progress, started: device.started, now: now)
        }
        if let sample { continuation.yield(.progress(sample)) }
    }

    /// Ends the stream: yields the summary (`failure` nil when the operation succeeded,
    /// else its message) and finishes ``events``. Only the first call does anything.
    public func finish(failure: String? = nil) {
        let now = ContinuousClock.now
        let summary: BackupProgressSummary? = state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            let devices = state.devices.sorted { $0.key < $1.key }.map(\.value.last)
            return BackupProgressSummary(phase: phase, failure: failure, devices: devices,
                                         elapsedSeconds: (now - created).inSeconds)
        }
        guard let summary else { return }
        continuation.yield(.summary(summary))
        continuation.finish()
    }

    private func makeSample(_ progress: BackupProgress, started: ContinuousClock.Instant,
                            now: ContinuousClock.Instant) -> BackupProgressSample {
        let elapsed = (now - started).inSeconds
        let rate = elapsed > 0 ? Double(progress.bytesRead) / elapsed : 0
        let left = progress.bytesTotal - min(progress.bytesRead, progress.bytesTotal)
        let eta: Double? = left == 0 ? 0 : rate > 0 ? Double(left) / rate : nil
        return BackupProgressSample(phase: phase, counts: progress, bytesPerSecond: UInt64(rate), etaSeconds: eta,
                                    elapsedSeconds: (now - created).inSeconds)
    }
}
