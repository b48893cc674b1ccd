#if canImport(Glibc)
import Glibc
#endif
import Logging
import SystemPackage

/// A snapshot kept alive by event-driven difference storage: create → attach (only
/// untracked devices) → add → append the first portion → take → event loop →
/// teardown.
///
/// The event loop answers `low_free_space` by appending enough that the total
/// appended capacity reaches the total the kernel requested (v5 re-arms the event only
/// then, §5.3), plus `step − requested` of headroom when the step is larger, in portions
/// of `max(requested, step)`, never past the limit (when capacity already covers the
/// target, an empty append just re-arms the event); it reports
/// `corrupted` events and keeps the snapshot until told to stop. It also watches for the
/// silent losses of protection v5 does not report (``ProtectionCheck``: a member
/// detached or resized after take), right after take, periodically and on block-device
/// uevents, and reports each as a `corrupted` event. It ends when
/// ``stopHandle`` is used, when the snapshot disappears (`ESRCH`), or on corruption
/// if so configured.
///
/// Teardown runs in order — destroy, wait for the image nodes to vanish, release the
/// storage, then (only if asked) detach the trackers this session attached — and is
/// idempotent. A failure during ``start()`` rolls back what was done.
///
/// Not thread-safe: use one thread for ``start()``, ``runEventLoop()`` and
/// ``teardown()``; stop from anywhere through ``stopHandle``. Events are delivered on
/// that thread, in order.
public final class Session {
    /// Whether the session created the snapshot or watches an existing one.
    public enum Mode: Sendable, Hashable {
        /// Created by ``start()``; destroyed at teardown.
        case owned
        /// An existing snapshot (``Session/init(watching:kernel:configuration:storage:destroyOnStop:imageWatcher:logger:onEvent:)``):
        /// destroyed at teardown only if `destroyOnStop`, or already gone; storage is
        /// released only once the snapshot is known destroyed.
        case watching(destroyOnStop: Bool)
    }

    /// The driver all requests go through (the module's ABI).
    public let driver: any BlksnapDriver
    /// The kernel all requests go to.
    public var kernel: any KernelInterface { driver.kernel }
    /// The configuration.
    public let configuration: SessionConfiguration
    /// Stops the session from any thread.
    public let stopHandle = SessionStopHandle()
    /// Where the session logs what it does (setup steps and appends at `.info`, each
    /// event at `.debug`, losses at `.error`); no output unless given one.
    public let logger: Logger
    /// Owned or watching.
    public let mode: Mode
    /// The snapshot, once created (or the watched one).
    public private(set) var snapshotID: SnapshotID?
    /// The images, once taken, in device order.
    public private(set) var images: [SessionImage] = []
    /// Devices whose tracker this session attached (the others were tracked already).
    public private(set) var attachedDevices: [String] = []
    /// Sectors appended so far.
    public private(set) var capacitySectors: UInt64 = 0
    /// Sectors the kernel requested so far (sum of `low_free_space` payloads seen).
    public private(set) var requestedSectors: UInt64 = 0
    /// Devices reported corrupted, in order of the events.
    public private(set) var corruptedDevices: [DeviceNumber] = []
    /// Why the event loop ended, once it did.
    public private(set) var endReason: SessionEndReason?
    /// Whether storage was released (teardown complete).
    public private(set) var isStorageReleased = false

    private let storage: any DifferenceStorageProvider
    private let imageWatcher: any ImageNodeWatcher
    private let onEvent: (SessionEvent) -> Void
    private var control: Control?
    private var memberNumbers: [DeviceNumber] = []
    private var memberPaths: [DeviceNumber: String] = [:]
    private var lastStorageDevicePath: String?
    private var limitReported = false
    private var estimator = FillRateEstimator()
    private var isDestroyed = false
    private var isSnapshotGone = false
    private var trackersHandled = false
    private var lostProtection: Set<String> = []
    private var lastProtectionCheck: ContinuousClock.Instant?
    private var uevents: UdevMonitor?

    /// Prepares a session that creates its own snapshot (nothing happens until ``start()``).
    ///
    /// - Parameters:
    ///   - kernel: the kernel all requests go to.
    ///   - configuration: the devices to snapshot and how storage grows.
    ///   - storage: where the difference storage comes from, portion by portion.
    ///   - imageWatcher: how image nodes are awaited; default: udev for the host's devices
    ///     (``KernelInterface/usesHostDevices``), the kernel's `stat` otherwise (simulator).
    ///   - logger: where the session logs; default: no output.
    ///   - onEvent: receives every ``SessionEvent`` on the session's thread.
    public convenience init(kernel: any KernelInterface, configuration: SessionConfiguration,
                            storage: any DifferenceStorageProvider, imageWatcher: (any ImageNodeWatcher)? = nil,
                            logger: Logger = Logger(label: "blksnap.session", factory: { _ in SwiftLogNoOpLogHandler() }),
                            onEvent: @escaping (SessionEvent) -> Void = { _ in }) {
        self.init(driver: V5Driver(kernel: kernel), configuration: configuration, storage: storage,
                  imageWatcher: imageWatcher, logger: logger, onEvent: onEvent)
    }

    /// Prepares a session whose requests go through `driver` (any module ABI; the
    /// session asks its ``BlksnapDriver/capabilities``: devices given at create where the
    /// ABI fixes them then, no attach where it cannot track without a snapshot).
    public init(driver: any BlksnapDriver, configuration: SessionConfiguration,
                storage: any DifferenceStorageProvider, imageWatcher: (any ImageNodeWatcher)? = nil,
                logger: Logger = Logger(label: "blksnap.session", factory: { _ in SwiftLogNoOpLogHandler() }),
                onEvent: @escaping (SessionEvent) -> Void = { _ in }) {
        self.driver = driver
        let kernel = driver.kernel
        self.logger = logger
        self.configuration = configuration
        self.storage = storage
        self.imageWatcher = imageWatcher ?? Self.defaultWatcher(for: kernel)
        self.onEvent = onEvent
        self.mode = .owned
    }

    /// Prepares a session that runs the event loop for an existing snapshot (the CLI's
    /// `snapshot watch`). ``start()`` only opens the control device.
    ///
    /// The kernel keeps its counters to itself, so the session does not know what was
    /// appended or requested before: it counts from zero, so it appends as if nothing
    /// had been appended (the creation event, if still queued, makes that exact; otherwise
    /// the first events are answered with fresh portions until its count catches up).
    public convenience init(watching id: SnapshotID, kernel: any KernelInterface, configuration: SessionConfiguration,
                            storage: any DifferenceStorageProvider, destroyOnStop: Bool = false,
                            imageWatcher: (any ImageNodeWatcher)? = nil,
                            logger: Logger = Logger(label: "blksnap.session", factory: { _ in SwiftLogNoOpLogHandler() }),
                            onEvent: @escaping (SessionEvent) -> Void = { _ in }) {
        self.init(watching: id, driver: V5Driver(kernel: kernel), configuration: configuration, storage: storage,
                  destroyOnStop: destroyOnStop, imageWatcher: imageWatcher, logger: logger, onEvent: onEvent)
    }

    /// Prepares a session that runs the event loop for an existing snapshot of `driver`'s module.
    public init(watching id: SnapshotID, driver: any BlksnapDriver, configuration: SessionConfiguration,
                storage: any DifferenceStorageProvider, destroyOnStop: Bool = false,
                imageWatcher: (any ImageNodeWatcher)? = nil,
                logger: Logger = Logger(label: "blksnap.session", factory: { _ in SwiftLogNoOpLogHandler() }),
                onEvent: @escaping (SessionEvent) -> Void = { _ in }) {
        self.driver = driver
        let kernel = driver.kernel
        self.logger = logger
        self.configuration = configuration
        self.storage = storage
        self.imageWatcher = imageWatcher ?? Self.defaultWatcher(for: kernel)
        self.onEvent = onEvent
        self.mode = .watching(destroyOnStop: destroyOnStop)
        self.snapshotID = id
    }

    private static func defaultWatcher(for kernel: any KernelInterface) -> any ImageNodeWatcher {
        kernel.usesHostDevices ? DiscoveryImageWatcher() : KernelStatImageWatcher(kernel: kernel)
    }

    // MARK: - Whole life

    /// ``start()``, ``runEventLoop()``, ``teardown()``; returns why the loop ended.
    public func run() throws(SessionError) -> SessionEndReason {
        try start()
        let reason = runEventLoop()
        try teardown()
        return reason
    }

    // MARK: - Setup

    /// Sets the snapshot up and takes it (owned mode); opens the control device (watching).
    /// Emits ``SessionEvent/started(snapshotID:images:capacitySectors:requestedSectors:)``.
    ///
    /// - Throws: ``SessionError``; everything done so far is rolled back first.
    public func start() throws(SessionError) {
        do {
            control = try Control(driver: driver)
        } catch {
            throw SessionError(.open, error)
        }
        guard case .owned = mode else {
            try checkWatchedSnapshotExists()
            return
        }
        do {
            try setUp()
        } catch let failure {
            do {
                try teardown(detachingAttached: true)
            } catch {
                throw SessionError(failure.stage, errno: failure.errno,
                                   "\(failure.message); rolling back also failed: \(error.message)",
                                   category: failure.category)
            }
            throw failure
        }
    }

    /// Watching mode: the snapshot must exist now, or the loop would report at once that
    /// it "disappeared" and end as if that were normal.
    private func checkWatchedSnapshotExists() throws(SessionError) {
        guard let control, let id = snapshotID else { return }
        let listed: [SnapshotID]
        do {
            listed = try control.collectSnapshots()
        } catch {
            throw SessionError(.open, error)
        }
        guard listed.contains(id) else {
            throw SessionError(.open, errno: .noSuchProcess,
                               "no snapshot \(id): list them with 'blksnapctl snapshot list'", category: .refused)
        }
    }

    private func setUp() throws(SessionError) {
        guard let control else { return }
        guard !configuration.devices.isEmpty else {
            throw SessionError(.open, errno: .invalidArgument, "no device to snapshot")
        }
        var devices: [BlockDevice] = []
        defer { for device in devices { try? device.close() } }
        for path in configuration.devices {
            do {
                let device = try BlockDevice(path: path, driver: driver)
                devices.append(device)
                let number = try device.deviceNumber()
                memberNumbers.append(number)
                memberPaths[number] = path
            } catch {
                throw SessionError(.open, error)
            }
        }
        let creation = SnapshotCreation(devices: configuration.devices, storage: try storageChoice())
        let id: SnapshotID
        do {
            id = try control.createSnapshot(creation)
        } catch {
            throw SessionError(.create, error)
        }
        snapshotID = id
        logger.info("snapshot created", metadata: ["snapshot": "\(id)"])
        onEvent(.created(snapshotID: id.description))
        // The creation event (§5.3 a) is queued already: take it now so the first
        // portion matches what the kernel counts as requested.
        if case .lowFreeSpace(let sectors, _)? = try? control.waitEvent(id, timeoutTicks: 0) {
            requestedSectors += sectors
        }
        // VAL-6.x starts tracking at create and fixed the members there.
        for device in devices where driver.capabilities.tracksWithoutSnapshot {
            do {
                try device.attach()
                attachedDevices.append(device.path)
            } catch where error.errno == .alreadyInProcess {
                // tracked before the session: not ours, never detached by us
            } catch {
                throw SessionError(.attach, error)
            }
        }
        for device in devices where !driver.capabilities.devicesFixedAtCreate {
            do {
                try device.addToSnapshot(id)
            } catch {
                throw SessionError(.add, error)
            }
        }
        if storage.kernelGrownPath == nil {
            try extendStorage(lastRequestSectors: requestedSectors, isFirstPortion: true)
            guard capacitySectors > 0 else {
                throw SessionError(.storage, errno: .noSpace, "the storage provider gave no storage at all")
            }
        }
        do {
            try control.takeSnapshot(id)
        } catch {
            throw SessionError(.take, error)
        }
        logger.info("snapshot taken", metadata: ["snapshot": "\(id)", "capacity_sectors": "\(capacitySectors)"])
        for (device, number) in zip(devices, memberNumbers) {
            let info: SnapshotInfo
            do {
                info = try device.snapshotInfo()
            } catch {
                throw SessionError(.images, error)
            }
            guard let imagePath = info.imagePath else {
                throw SessionError(.images, errno: .noSuchFileOrDirectory, "device \(device.path) has no image after take")
            }
            do {
                try imageWatcher.waitForNode(imagePath, timeout: configuration.imageNodeTimeout)
            } catch {
                throw SessionError(.images, errno: error, "image node \(imagePath) did not appear")
            }
            images.append(SessionImage(devicePath: device.path, deviceNumber: number.description, imagePath: imagePath))
        }
        onEvent(.started(snapshotID: id.description, images: images, capacitySectors: capacitySectors,
                         requestedSectors: requestedSectors))
        checkProtection()  // a member detached before take has an image that was never protected
    }

    // MARK: - Storage

    /// The storage the snapshot is created with: kernel-grown when the provider says so
    /// (the ABI must offer it, and a limit is required), else ranges appended on events.
    private func storageChoice() throws(SessionError) -> SnapshotCreation.Storage {
        guard let path = storage.kernelGrownPath else { return .sectorRanges(limitSectors: configuration.limitSectors) }
        guard driver.capabilities.storageForms.contains(.kernelGrownFile) else {
            throw SessionError(.storage, BlksnapError.unsupported(
                driver.abi, .createSnapshot, "the module does not grow storage itself (\(path)): give sector ranges of a block device",
                devicePath: path))
        }
        guard let limit = configuration.limitSectors, limit > 0 else {
            throw SessionError(.storage, errno: .invalidArgument,
                               "storage the kernel grows (\(path)) needs a limit: the kernel fills it up to that many sectors")
        }
        return .kernelGrown(path: path, limitSectors: limit)
    }

    /// Grows the storage after a request of `lastRequestSectors` (the first portion: the
    /// creation event's request).
    ///
    /// The kernel re-arms its event only when capacity ≥ requested (§5.3), so that is the
    /// floor. A step larger than the request also keeps `step − request` sectors of
    /// headroom above it: the kernel's warning comes when only half a request is left,
    /// and the headroom is what lets a writer outrun the session for a while. Portions are
    /// `max(request, step)` sectors, never past the limit. When nothing needs adding,
    /// an empty append (`count == 0`, §1.2, §12 fact 2) just re-arms the event.
    /// Reports ``SessionEvent/limitReached(capacitySectors:requestedSectors:limitSectors:)``
    /// once, the first time the limit or the provider stops a needed append.
    private func extendStorage(lastRequestSectors: UInt64, isFirstPortion: Bool = false) throws(SessionError) {
        guard let control, let id = snapshotID else { return }
        let portionSectors = max(configuration.stepSectors, lastRequestSectors, 1)
        let headroom = configuration.stepSectors > lastRequestSectors ? configuration.stepSectors - lastRequestSectors : 0
        let target = requestedSectors + headroom
        var appended = false
        var blocked = false
        while capacitySectors < target || (isFirstPortion && !appended) {
            var want = portionSectors
            if let limit = configuration.limitSectors {
                guard limit > capacitySectors else { blocked = true; break }
                want = min(want, limit - capacitySectors)
            }
            let portion: StoragePortion?
            do {
                portion = try storage.nextPortion(minimumSectors: want)
            } catch {
                throw SessionError(.storage, error)
            }
            guard let portion, portion.countSectors > 0 else { blocked = true; break }
            if !configuration.allowSameDeviceStorage { try checkNotMember(portion.devicePath) }
            do {
                let knownMembers: [String]
                if case .owned = mode { knownMembers = configuration.devices } else { knownMembers = [] }
                let warnings = try StorageGuard.check(driver: driver, devicePath: portion.devicePath, ranges: portion.ranges,
                                                      allowSameDevice: configuration.allowSameDeviceStorage,
                                                      knownMembers: knownMembers)
                for warning in warnings { onEvent(.warning(message: warning)) }
            } catch {
                throw SessionError(.storage, error)
            }
            do {
                // Checked just above, with the session's own members.
                try control.appendStorageUnchecked(id, devicePath: portion.devicePath, ranges: portion.ranges)
            } catch {
                throw SessionError(.storage, error)
            }
            lastStorageDevicePath = portion.devicePath
            capacitySectors += portion.countSectors
            appended = true
            logger.info("storage appended", metadata: [
                "device": "\(portion.devicePath)", "sectors": "\(portion.countSectors)",
                "capacity_sectors": "\(capacitySectors)", "requested_sectors": "\(requestedSectors)",
            ])
            onEvent(.appended(devicePath: portion.devicePath, sectors: portion.countSectors,
                              capacitySectors: capacitySectors, requestedSectors: requestedSectors))
        }
        if blocked, !limitReported {
            limitReported = true
            onEvent(.limitReached(capacitySectors: capacitySectors, requestedSectors: requestedSectors,
                                  limitSectors: configuration.limitSectors))
        }
        if !appended, !isFirstPortion, capacitySectors >= requestedSectors, let path = lastStorageDevicePath {
            // Capacity covers the request already: an empty append only re-arms (§5.3).
            do {
                try control.appendStorageUnchecked(id, devicePath: path, ranges: [])  // checked when first appended
            } catch {
                throw SessionError(.storage, error)
            }
        }
    }

    /// Refuses storage on a device being snapshotted (by device number in the kernel's namespace).
    private func checkNotMember(_ path: String) throws(SessionError) {
        guard case .owned = mode, let number = try? kernel.stat(path).deviceNumber else { return }
        if memberNumbers.contains(number) {
            throw SessionError(.storage, errno: .resourceBusy,
                               "storage device \(path) is one of the snapshotted devices: "
                               + "the snapshot would copy-on-write its own storage; use another device")
        }
    }

    // MARK: - Event loop

    /// Waits for events (``SessionConfiguration/pollMilliseconds`` at a time) and
    /// handles them until a stop is requested, the snapshot disappears, or (if
    /// configured) a device is corrupted. Emits ``SessionEvent/ended(reason:)``.
    @discardableResult
    public func runEventLoop() -> SessionEndReason {
        let reason = loop()
        endReason = reason
        logger.info("event loop ended", metadata: ["reason": "\(reason)"])
        onEvent(.ended(reason: reason))
        return reason
    }

    private func loop() -> SessionEndReason {
        guard let control, let id = snapshotID else { return .failed(message: "the session was not started") }
        let ticks = Control.ticks(milliseconds: max(1, configuration.pollMilliseconds), hz: configuration.hz)
        if kernel.usesHostDevices, let udev = try? Udev() { uevents = UdevMonitor(context: udev) }
        defer { uevents = nil }
        while true {
            if let reason = stopHandle.requestedReason { return reason }
            if let reason = checkProtectionIfDue() { return reason }
            let event: SnapshotEvent?
            do {
                event = try control.waitEvent(id, timeoutTicks: ticks)
            } catch where error.errno == .noSuchProcess {
                isSnapshotGone = true
                return .snapshotVanished
            } catch where error.errno == .interrupted {
                continue
            } catch {
                return .failed(message: error.description)
            }
            guard let event else { continue }
            if let reason = handle(event) { return reason }
        }
    }

    /// Handles one event; returns a reason to end the loop, if any.
    private func handle(_ event: SnapshotEvent) -> SessionEndReason? {
        logger.debug("event", metadata: ["event": "\(event)"])
        switch event {
        case .lowFreeSpace(let sectors, let time):
            let before = requestedSectors
            requestedSectors += sectors
            onEvent(.lowFreeSpace(requestedSectors: sectors, totalRequestedSectors: requestedSectors))
            if before > 0 {
                let estimate = estimator.observe(requestedBeforeSectors: before, stepSectors: sectors,
                                                 timeLabelNanoseconds: time)
                if let rate = estimate.sectorsPerSecond {
                    onEvent(.fillEstimate(sectorsPerSecond: rate,
                                          secondsToFull: secondsToFull(filledSectors: estimate.filledSectors, rate: rate)))
                }
            }
            do {
                try extendStorage(lastRequestSectors: sectors)
            } catch {
                onEvent(.warning(message: error.description))
            }
            return nil
        case .corrupted(let device, let errno, _):
            corruptedDevices.append(device)
            logger.error("snapshot corrupted", metadata: ["device": "\(device)", "errno": "\(ErrnoName.name(of: errno))"])
            onEvent(.corrupted(device: device.description, devicePath: memberPaths[device], errno: errno.rawValue,
                               errnoName: ErrnoName.name(of: errno), meaning: BlksnapError.corruptionMeaning(errno)))
            if configuration.endOnCorruption {
                return .corrupted(device: device.description, errno: errno.rawValue)
            }
            return nil
        case .unknown(let code, _, _):
            onEvent(.warning(message: "ignored an event with unknown code \(code)"))
            return nil
        }
    }

    // MARK: - Protection

    /// Runs ``checkProtection()`` when a block-device uevent arrived or the check period
    /// passed; returns a reason to end the loop (a loss, with ``SessionConfiguration/endOnCorruption``).
    private func checkProtectionIfDue() -> SessionEndReason? {
        var due = true
        if let uevents, (try? uevents.waitForEvent(timeoutMilliseconds: 0)) == true {
            uevents.drain()
        } else if let last = lastProtectionCheck {
            due = ContinuousClock.now - last >= .milliseconds(Int64(clamping: configuration.protectionCheckMilliseconds))
        }
        guard due else { return nil }
        let lost = checkProtection()
        if configuration.endOnCorruption, let first = lost.first {
            return .corrupted(device: first.device, errno: first.errno)
        }
        return nil
    }

    /// Checks every member of a taken snapshot (``ProtectionCheck``), reports each new
    /// loss once as a ``SessionEvent/corrupted(device:devicePath:errno:errnoName:meaning:)``
    /// and records it in ``corruptedDevices``; returns the new losses.
    ///
    /// Owned: the session's images. Watching: every image, while the watched snapshot is
    /// the only one (v5 does not say which snapshot an image belongs to).
    @discardableResult
    private func checkProtection() -> [(device: String, errno: Int32)] {
        lastProtectionCheck = .now
        let check = ProtectionCheck(driver: driver)
        var findings: [(number: DeviceNumber?, error: BlksnapError)] = []
        if case .owned = mode {
            for image in images {
                let name = String(image.imagePath.split(separator: "/").last ?? "")
                if let loss = check.check(originalPath: image.devicePath, expectedImageName: name) {
                    findings.append((DeviceNumber(parsing: image.deviceNumber), loss))
                }
            }
        } else if let id = snapshotID, let control, (try? control.collectSnapshots()) == [id] {
            let inventory = DeviceInventory.read(from: kernel)
            for image in inventory.images {
                if let loss = check.check(images: [image], in: inventory).first {
                    findings.append((image.imageOriginal, loss))
                }
            }
        }
        var reported: [(device: String, errno: Int32)] = []
        for finding in findings {
            let path = finding.error.devicePath ?? finding.number?.description ?? "?"
            guard finding.error.hazard != nil, !lostProtection.contains(path) else { continue }
            lostProtection.insert(path)
            let device = finding.number ?? DeviceNumber(rawValue: 0)
            if !corruptedDevices.contains(device) { corruptedDevices.append(device) }
            onEvent(.corrupted(device: device.description, devicePath: finding.error.devicePath,
                               errno: finding.error.errno.rawValue, errnoName: finding.error.errnoName,
                               meaning: finding.error.meaning))
            reported.append((device.description, finding.error.errno.rawValue))
        }
        return reported
    }

    /// Seconds until the largest capacity the session may reach is full, at `rate`.
    private func secondsToFull(filledSectors: UInt64, rate: Double) -> Double? {
        guard rate > 0 else { return nil }
        let ceiling: UInt64
        if let limit = configuration.limitSectors {
            ceiling = limit
        } else if let remaining = storage.remainingSectors {
            ceiling = capacitySectors + remaining
        } else {
            return nil
        }
        return ceiling > filledSectors ? Double(ceiling - filledSectors) / rate : 0
    }

    // MARK: - Teardown

    /// Destroys the snapshot, waits for its image nodes to vanish, releases the storage,
    /// and detaches the trackers this session attached if configured to. Safe to call
    /// again (each step runs once); a step that fails is retried by the next call.
    ///
    /// Watching mode: the snapshot is destroyed only with `destroyOnStop` (or is gone
    /// already); otherwise it is left running and the storage is **not** released (the
    /// kernel may still write to it).
    public func teardown() throws(SessionError) {
        try teardown(detachingAttached: configuration.detachAttachedTrackers)
    }

    /// Teardown; a setup rollback always detaches the trackers it attached.
    private func teardown(detachingAttached: Bool) throws(SessionError) {
        if let id = snapshotID, !isDestroyed {
            var shouldDestroy = true
            if case .watching(let destroyOnStop) = mode { shouldDestroy = destroyOnStop || isSnapshotGone }
            guard shouldDestroy else { return }
            if !isSnapshotGone, let control {
                do {
                    try control.destroySnapshot(id)
                } catch where error.errno == .operationNotSupportedByDevice {
                    // ENODEV: destroyed already (v5 answers an unknown id so)
                } catch {
                    throw SessionError(.teardown, error)
                }
            }
            isDestroyed = true
            logger.info("snapshot destroyed", metadata: ["snapshot": "\(id)"])
        }
        for image in images {
            do {
                try imageWatcher.waitForRemoval(image.imagePath, timeout: configuration.imageNodeTimeout)
            } catch {
                throw SessionError(.teardown, errno: error,
                                   "image node \(image.imagePath) did not vanish after destroy; storage kept")
            }
        }
        if !isStorageReleased {
            do {
                try storage.release()
            } catch {
                throw SessionError(.teardown, error)
            }
            isStorageReleased = true
            logger.info("storage released")
        }
        if detachingAttached, !trackersHandled {
            var failures: [String] = []
            var left: [String] = []
            for path in attachedDevices {
                do {
                    let device = try BlockDevice(path: path, driver: driver)
                    defer { try? device.close() }
                    try device.detach()
                } catch where error.errno == .noSuchFileOrDirectory {
                    // not tracked any more
                } catch {
                    failures.append(error.description)
                    left.append(path)
                }
            }
            attachedDevices = left
            if !failures.isEmpty {
                throw SessionError(.teardown, errno: .ioError, "detaching failed: " + failures.joined(separator: "; "))
            }
            trackersHandled = true
        }
        try? control?.close()
        control = nil
    }
}
