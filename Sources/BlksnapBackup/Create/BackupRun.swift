import BlksnapKit
import Dispatch
import Foundation
import Logging
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What ``BackupRun`` reports while it runs, in order, from its threads.
public enum BackupRunEvent: Sendable {
    /// A leftover of an interrupted run was deleted from the repository.
    case removedLeftover(fileName: String)
    /// The session's own events (storage appended, low free space, corruption, ...).
    case session(SessionEvent)
    /// A device's plan is made: full (with the reason) or incremental.
    case planned(deviceIndex: Int, plan: BackupPlan)
    /// Bytes copied so far for a device: after each block, unthrottled (a
    /// ``BackupProgressMeter`` given to the run yields them with rates, rate-limited).
    case progress(BackupProgress)
    /// A device's backup is committed.
    case committed(deviceIndex: Int, record: BackupRecord)
    /// A hook (`pre-snapshot` or `post-snapshot`) ended.
    case hook(name: String, outcome: HookOutcome)
    /// An interrupted run was killed while its snapshot was being created, so no marker
    /// names that snapshot; these snapshots appeared since and may be it (or another
    /// program's). Not destroyed: the caller decides (`Control.destroySnapshot`).
    case unclaimedSnapshots(ids: [String])
}

/// The outcome of a ``BackupRun``.
public struct BackupRunResult: Sendable {
    /// The committed backups, in device order.
    public var records: [BackupRecord]
    /// The plans they followed, in device order.
    public var plans: [BackupPlan]
    /// How long the copy took (take to last fsync), in seconds.
    public var copySeconds: Double
    /// How the data clusters were stored (the one asked for, else the repository's default).
    public var compression: BackupCompression
    /// Whether the hooks made the point application-consistent.
    public var consistency: BackupConsistency
}

/// `backup create`: a ``Session`` (snapshot, storage kept ahead of demand, teardown)
/// around the copy of every device's image into the repository.
///
/// The session's event loop runs on a thread of its own while the calling thread plans,
/// copies and syncs each device; then the session is stopped and torn down, and only if
/// no member was corrupted meanwhile are the files renamed and their rows committed.
public final class BackupRun {
    /// The repository.
    public let repository: BackupRepository
    /// Stops the run from any thread (a signal): the copy ends, nothing is committed.
    public var stopHandle: SessionStopHandle { session.stopHandle }

    private let driver: any BlksnapDriver
    private var kernel: any KernelInterface { driver.kernel }
    private let configuration: SessionConfiguration
    private let session: Session
    private let forceFull: Bool
    private let blockBytes: Int
    private let compression: BackupCompression?
    private let hooks: SnapshotHooks
    private let onEvent: @Sendable (BackupRunEvent) -> Void
    private let takenAt: Date?
    private let progress: BackupProgressMeter?

    /// Prepares a run of `configuration.devices` (nothing happens until ``run()``).
    /// `logger` receives the session's lines (storage extensions, teardown); none by default.
    public convenience init(repository: BackupRepository, kernel: any KernelInterface, configuration: SessionConfiguration,
                            storage: any DifferenceStorageProvider, forceFull: Bool = false, blockBytes: Int = 4 << 20,
                            compression: BackupCompression? = nil, hooks: SnapshotHooks = SnapshotHooks(),
                            logger: Logger = Logger(label: "blksnap.backup", factory: { _ in SwiftLogNoOpLogHandler() }),
                            takenAt: Date? = nil, progress: BackupProgressMeter? = nil,
                            onEvent: @escaping @Sendable (BackupRunEvent) -> Void = { _ in }) {
        self.init(repository: repository, driver: V5Driver(kernel: kernel), configuration: configuration, storage: storage,
                  forceFull: forceFull, blockBytes: blockBytes, compression: compression, hooks: hooks, logger: logger,
                  takenAt: takenAt, progress: progress, onEvent: onEvent)
    }

    /// Prepares a run whose requests go through `driver` (the module's ABI).
    ///
    /// `compression` nil stores clusters as the repository's default says (recorded by
    /// its first run: that run's `compression`, or none); a value applies to this run only.
    /// `hooks` run around the take (``SnapshotHooks``). `takenAt` is the time recorded as
    /// the backups' take (nil: the clock's at take; tests simulate days). `progress`, when
    /// given, receives every device's copy and is finished by ``run()`` (its summary says
    /// whether the run succeeded), so its ``BackupProgressMeter/events`` end with the run.
    public init(repository: BackupRepository, driver: any BlksnapDriver, configuration: SessionConfiguration,
                storage: any DifferenceStorageProvider, forceFull: Bool = false, blockBytes: Int = 4 << 20,
                compression: BackupCompression? = nil, hooks: SnapshotHooks = SnapshotHooks(),
                logger: Logger = Logger(label: "blksnap.backup", factory: { _ in SwiftLogNoOpLogHandler() }),
                takenAt: Date? = nil, progress: BackupProgressMeter? = nil,
                onEvent: @escaping @Sendable (BackupRunEvent) -> Void = { _ in }) {
        self.repository = repository
        self.takenAt = takenAt
        self.progress = progress
        self.driver = driver
        self.configuration = configuration
        self.forceFull = forceFull
        self.blockBytes = blockBytes
        self.compression = compression
        self.hooks = hooks
        self.onEvent = onEvent
        let marker = repository.path(of: Self.snapshotMarker)
        session = Session(driver: driver, configuration: configuration, storage: storage, logger: logger) { event in
            if case .created(let id) = event {
                // Durable before the devices join it: a killed run's snapshot (created,
                // filled or taken) is destroyed by the next run, whose devices it would keep busy.
                try? Self.writeMarker(marker, text: id)
            }
            onEvent(.session(event))
        }
    }

    /// The file naming the snapshot of the run in progress: `.snapshot` in the repository.
    public static let snapshotMarker = ".snapshot"

    /// The first word of a marker written just before SNAPSHOT_CREATE; the snapshots that
    /// existed then follow, one per line.
    static let pendingMarker = "pending"

    /// Writes the marker with one write and a rename, without fsync: a snapshot does not
    /// survive a reboot, so the marker only has to outlive the process (the page cache
    /// does that), and every millisecond spent syncing would be a window in which a
    /// SIGKILL leaves a snapshot no marker names. Before CREATE the marker says `pending`
    /// and lists the snapshots that exist; CREATE's id replaces it. A kill between CREATE's
    /// return and that rename (tens of microseconds) leaves a snapshot only the pending
    /// list can point at.
    private static func writeMarker(_ path: String, text: String) throws(BackupError) {
        let file = try HostFile(path: path + ".new", flags: O_WRONLY | O_CREAT | O_TRUNC)
        try file.write(Array((text + "\n").utf8), at: 0)
        file.close()
        try HostFile.rename(path + ".new", to: path)
    }

    /// Marks the snapshot about to be created: `pending` and the snapshots existing now.
    private func writePendingMarker() throws(BackupError) {
        let existing: [SnapshotID]
        do {
            let control = try Control(driver: driver)
            defer { try? control.close() }
            existing = try control.collectSnapshots()
        } catch {
            throw BackupError(.io, "listing the snapshots before creating one failed: \(error.description)", errno: error.errno,
                              category: error.category)
        }
        try Self.writeMarker(repository.path(of: Self.snapshotMarker),
                             text: ([Self.pendingMarker] + existing.map(\.description)).joined(separator: "\n"))
    }

    /// Destroys the snapshot a killed run left (named by `.snapshot`), if it still exists.
    /// A run killed while creating its snapshot left a pending marker: the snapshots that
    /// appeared since are reported (``BackupRunEvent/unclaimedSnapshots(ids:)``), not
    /// destroyed, since another program may have created them after the kill.
    private func destroyLeftoverSnapshot() throws(BackupError) {
        let marker = repository.path(of: Self.snapshotMarker)
        guard HostFile.exists(marker) else { return }
        let text = (try? String(contentsOfFile: marker, encoding: .utf8)) ?? ""
        defer { HostFile.remove(marker) }
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        if lines.first == Self.pendingMarker {
            let before = Set(lines.dropFirst().compactMap { SnapshotID(parsing: $0) })
            let control = try? Control(driver: driver)
            defer { try? control?.close() }
            let appeared = ((try? control?.collectSnapshots()) ?? []).filter { !before.contains($0) }
            if !appeared.isEmpty { onEvent(.unclaimedSnapshots(ids: appeared.map(\.description))) }
            return
        }
        guard let id = lines.first.flatMap({ SnapshotID(parsing: $0) }) else { return }
        do {
            let control = try Control(driver: driver)
            defer { try? control.close() }
            guard try control.collectSnapshots().contains(id) else { return }
            try control.destroySnapshot(id)
            onEvent(.removedLeftover(fileName: "snapshot \(id)"))
        } catch {
            throw BackupError(.io, "destroying snapshot \(id), left by an interrupted backup, failed: \(error.description); destroy it with 'blksnapctl snapshot destroy \(id)'",
                              errno: error.errno, category: error.category)
        }
        waitForImagesToVanish()
    }

    /// A destroyed snapshot lives on while a waiter still holds it (spec §12, fact 3): its
    /// devices stay busy and its image nodes exist. The killed run's WAIT_EVENT may still be
    /// running (in a simulator server it outlives its client until its slice ends), so wait,
    /// bounded, until the devices' image nodes are gone before the new session adds them.
    private func waitForImagesToVanish(seconds: Int = 15) {
        let images = configuration.devices.compactMap { path -> String? in
            guard let number = try? kernel.stat(path).deviceNumber else { return nil }
            return "/dev/" + DeviceInventory.imageName(ofOriginal: number)
        }
        for _ in 0..<(seconds * 20) {
            if images.allSatisfy({ (try? kernel.stat($0)) == nil }) { return }
            usleep(50_000)
        }
    }

    /// Locks the repository, removes leftovers, runs the session and copies, commits;
    /// then finishes the progress meter, if any, with the outcome.
    public func run() throws(BackupError) -> BackupRunResult {
        do {
            let result = try runAndCommit()
            progress?.finish()
            return result
        } catch {
            progress?.finish(failure: error.message)
            throw error
        }
    }

    private func runAndCommit() throws(BackupError) -> BackupRunResult {
        try repository.lockForWriting()
        for name in try repository.removeLeftovers() { onEvent(.removedLeftover(fileName: name)) }
        try destroyLeftoverSnapshot()
        let repositoryDefault = try repository.catalog.recordDefaultCompression(ifUnset: self.compression ?? .none)
        let compression = self.compression ?? repositoryDefault
        var devices: [BlockDevice] = []
        var identities: [DeviceIdentity] = []
        defer { for device in devices { try? device.close() } }
        for path in configuration.devices {
            do {
                let device = try BlockDevice(path: path, driver: driver)
                devices.append(device)
                identities.append(try DeviceIdentity.read(device))
            } catch {
                throw BackupError(.io, "opening \(path) failed: \(error.description)", errno: error.errno, category: error.category)
            }
        }
        let thread = SessionThread(session)
        let consistency = try takeWithHooks(thread)
        var prepared: [PreparedBackup] = []
        var plans: [BackupPlan] = []
        let creator = BackupCreator(repository: repository, blockBytes: blockBytes, compression: compression)
        let started = ContinuousClock.now
        var copyFailure: BackupError?
        let takenAt = self.takenAt ?? Date()
        let snapshotID = session.snapshotID?.description ?? "?"
        let images = session.images
        let handle = session.stopHandle
        for (index, device) in devices.enumerated() {
            do throws(BackupError) {
                let plan = try creator.plan(device: device, identity: identities[index], forceFull: forceFull)
                plans.append(plan)
                onEvent(.planned(deviceIndex: index, plan: plan))
                let image: SnapshotImageReader
                do {
                    image = try SnapshotImageReader(path: images[index].imagePath, driver: driver)
                } catch {
                    throw BackupError(.io, "opening the image \(images[index].imagePath) failed: \(error.description)", errno: error.errno)
                }
                defer { try? image.close() }
                let onEvent = self.onEvent
                let meter = progress
                let result = try creator.prepare(plan: plan, image: image, snapshotID: snapshotID, takenAt: takenAt,
                                                 deviceIndex: index, progress: { onEvent(.progress($0)); meter?.record($0) },
                                                 shouldStop: { handle.isStopRequested })
                prepared.append(result)
                if let info = try? device.snapshotInfo(), let code = info.errorCode {
                    throw BackupError(.snapshotCorrupted, "the snapshot of \(device.path) was corrupted while it was copied (\(ErrnoName.name(of: code))): \(BlksnapError.corruptionMeaning(code)); nothing was committed, run the backup again (with more --storage)", errno: code)
                }
            } catch {
                copyFailure = error
                break
            }
        }
        let copySeconds = (ContinuousClock.now - started).inSeconds
        handle.requestStop(.stopped(signal: nil))
        let ended = thread.join()
        if ended.teardownError == nil { HostFile.remove(repository.path(of: Self.snapshotMarker)) }
        func discardAll() { for backup in prepared { creator.discard(backup) } }
        if let copyFailure {
            discardAll()
            throw copyFailure
        }
        if let lost = session.corruptedDevices.first {
            discardAll()
            let path = images.first { $0.deviceNumber == lost.description }?.devicePath ?? lost.description
            throw BackupError(.snapshotCorrupted, "the snapshot of \(path) was corrupted during the backup: its image is not a point in time; nothing was committed, run the backup again (with more --storage)")
        }
        switch ended.reason {
        case .snapshotVanished?:
            discardAll()
            throw BackupError(.refused, "the snapshot was destroyed by someone else during the backup (ESRCH); nothing was committed", errno: .noSuchProcess)
        case .failed(let message)?:
            discardAll()
            throw BackupError(.io, "the session failed during the backup: \(message); nothing was committed")
        case .stopped(let signal?)?:
            discardAll()
            throw BackupError(.refused, "stopped by signal \(signal) (EINTR); nothing was committed", errno: .interrupted)
        default:
            break
        }
        var records: [BackupRecord] = []
        for (index, backup) in prepared.enumerated() {
            let record = try creator.commit(backup, consistency: consistency)
            records.append(record)
            onEvent(.committed(deviceIndex: index, record: record))
        }
        if let teardown = ended.teardownError {
            let ids = records.compactMap(\.id).map(String.init).joined(separator: ", ")
            throw BackupError(.io, "backups \(ids) are committed, but the session's teardown failed: \(teardown.description)", errno: teardown.errno)
        }
        return BackupRunResult(records: records, plans: plans, copySeconds: copySeconds, compression: compression,
                               consistency: consistency)
    }

    /// Runs the pre-snapshot hook, starts the session (the take), runs the post-snapshot
    /// hook whatever happened; returns whether the point is application-consistent.
    ///
    /// - Throws: ``BackupError`` `.refused` when the pre hook failed or timed out (nothing
    ///   is created then), or the session's failure to start.
    private func takeWithHooks(_ thread: SessionThread) throws(BackupError) -> BackupConsistency {
        let environment = ["BLKSNAP_DEVICES": configuration.devices.joined(separator: " ")]
        func post(taken: Bool) -> Bool {
            guard let command = hooks.postSnapshot else { return true }
            let outcome = HookRunner.run(command, environment: environment.merging(
                ["BLKSNAP_HOOK": "post-snapshot", "BLKSNAP_TAKE": taken ? "ok" : "failed"]) { $1 },
                                         timeoutSeconds: hooks.timeoutSeconds)
            onEvent(.hook(name: "post-snapshot", outcome: outcome))
            return outcome.succeeded
        }
        if let command = hooks.preSnapshot {
            let outcome = HookRunner.run(command, environment: environment.merging(["BLKSNAP_HOOK": "pre-snapshot"]) { $1 },
                                         timeoutSeconds: hooks.timeoutSeconds)
            onEvent(.hook(name: "pre-snapshot", outcome: outcome))
            guard outcome.succeeded else {
                _ = post(taken: false)
                var errno: Errno?
                if case .timedOut = outcome { errno = .timedOut }
                throw BackupError(.refused, "the pre-snapshot hook '\(command)' \(outcome): nothing was taken; fix the hook (or raise --hook-timeout) and run the backup again",
                                  errno: errno)
            }
        }
        do throws(BackupError) {
            try writePendingMarker()
            do {
                try thread.start()
            } catch {
                throw BackupError(error.category == .refused ? .refused : .io, "the backup's session could not start: \(error.description)",
                                  errno: error.errno, category: error.category)
            }
        } catch {
            // No snapshot was created: a pending marker left now would point the next run
            // at other programs' snapshots.
            if session.snapshotID == nil { HostFile.remove(repository.path(of: Self.snapshotMarker)) }
            _ = post(taken: false)
            throw error
        }
        let released = post(taken: true)
        return hooks.preSnapshot != nil && released ? .application : .crash
    }
}
