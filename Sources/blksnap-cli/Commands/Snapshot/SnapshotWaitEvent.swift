import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot wait-event ID [--timeout-ms N]` (IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT).
struct SnapshotWaitEvent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait-event",
        abstract: "Wait for the next event of snapshot ID and print it (JSON Lines with --json).",
        discussion: """
            Events: low_free_space (append at least the requested sectors of storage; v5 \
            queues one at creation) and corrupted (a device's difference area failed). \
            The timeout is converted to kernel ticks (v5 counts its timeout_ms in jiffies): \
            at HZ=250 for the real kernel, at the simulator's hz parameter with --sim. \
            No single wait exceeds 2^31-1 ticks (v5 fails or crashes above): longer waits, \
            and the default of no limit, are a series of shorter ones. \
            Exits 75 when no event arrived in time, 65 after a corrupted event. \
            --drain also prints every event already queued after the first. After the wait, \
            while ID is the only snapshot (v5 does not say which snapshot an image belongs \
            to), every image is checked: exit 65 when a member was detached or resized.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot id (UUID).", transform: ArgumentTransforms.snapshotID)
    var id: SnapshotID

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Give up after this many milliseconds (0 polls; default: wait until an event arrives).",
                                            valueName: "ms"),
            transform: ArgumentTransforms.milliseconds)
    var timeoutMs: UInt64?

    @Flag(name: .long, help: "After the first event, also print the events already queued (polling with timeout 0).")
    var drain = false

    func run() throws {
        let backend = try Backend(global)
        let control = try backend.control()
        let hz = backend.ticksPerSecond
        let first = try performing(backend) { () throws(BlksnapError) in
            if let timeoutMs { return try control.waitEvent(id, timeoutMilliseconds: timeoutMs, hz: hz) }
            // No limit: consecutive waits of 2^31-1 ticks, never one above (v5 fails or
            // oopses on larger timeouts, spec §12.1 item 10).
            return try control.waitEventWithoutTimeout(id)
        }
        let lost = protectionLosses(control, backend)
        guard let first else {
            try SafetyReport.exitIfLost(lost, backend)
            throw CommandFailure("IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT on snapshot \(id): no event within \(timeoutMs ?? 0) ms (ENOENT)",
                                 status: .timedOut)
        }
        var events = [first]
        if drain {
            while let next = try performing(backend, { () throws(BlksnapError) in try control.waitEvent(id, timeoutTicks: 0) }) {
                events.append(next)
            }
        }
        for event in events {
            let report = EventReport(id: id, event: event)
            global.output.emit(report) { [report.line] }
        }
        try SafetyReport.exitIfLost(lost, backend)
        if events.contains(where: { $0.code == 1 }) { throw ExitStatus.corrupted.exitCode }
    }

    /// Members of snapshot ID that lost protection silently (detached, resized), when its
    /// images can be attributed to it.
    private func protectionLosses(_ control: Control, _ backend: Backend) -> [BlksnapError] {
        guard let (inventory, images) = SafetyReport.imagesOfOnlySnapshot(id, control: control) else { return [] }
        return ProtectionCheck(driver: backend.driver).check(images: images, in: inventory)
    }
}

/// `--json` form of a ``SnapshotEvent`` (one JSON Lines record).
struct EventReport: Encodable {
    var id: String
    var code: UInt32
    var event: String
    var timeLabelNs: Int64
    var requestedSectors: UInt64?
    var device: String?
    var errno: Int32?
    var errnoName: String?
    var meaning: String

    init(id: SnapshotID, event: SnapshotEvent) {
        self.id = id.description
        code = event.code
        timeLabelNs = event.timeLabelNanoseconds
        meaning = event.description
        self.event = Self.name(of: event)
        switch event {
        case .lowFreeSpace(let sectors, _):
            requestedSectors = sectors
        case .corrupted(let device, let errno, _):
            self.device = device.description
            self.errno = errno.rawValue
            errnoName = ErrnoName.name(of: errno)
        case .unknown:
            break
        }
    }

    /// The event's name as the UAPI spells its code: `low_free_space`, `corrupted`, `unknown`.
    static func name(of event: SnapshotEvent) -> String {
        switch event {
        case .lowFreeSpace: "low_free_space"
        case .corrupted: "corrupted"
        case .unknown: "unknown"
        }
    }

    /// The text form: `EVENT: meaning`.
    var line: String { "snapshot \(id): \(event): \(meaning)" }
}
