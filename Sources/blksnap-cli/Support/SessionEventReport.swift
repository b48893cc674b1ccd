import BlksnapKit

/// One JSON Lines record (or text line) per ``SessionEvent``: `event` names the kind,
/// the other fields are set when they apply.
struct SessionEventReport: Encodable {
    var event: String
    var snapshotId: String?
    var images: [SessionImage]?
    var devicePath: String?
    var device: String?
    var sectors: UInt64?
    var capacitySectors: UInt64?
    var requestedSectors: UInt64?
    var limitSectors: UInt64?
    var errno: Int32?
    var errnoName: String?
    var sectorsPerSecond: Double?
    var secondsToFull: Double?
    var reason: String?
    var status: Int32?
    var message: String

    init(_ event: SessionEvent, snapshotID: String?) {
        self.snapshotId = snapshotID
        switch event {
        case .created(let id):
            self.event = "created"
            snapshotId = id
            message = "snapshot \(id) created"
        case .started(let id, let images, let capacity, let requested):
            self.event = "started"
            snapshotId = id
            self.images = images
            capacitySectors = capacity
            requestedSectors = requested
            message = "snapshot \(id) taken: " + images.map { "\($0.devicePath) -> \($0.imagePath)" }.joined(separator: ", ")
                + "; storage \(capacity) sectors"
        case .lowFreeSpace(let sectors, let total):
            self.event = "low_free_space"
            self.sectors = sectors
            requestedSectors = total
            message = "kernel asks for \(sectors) more sectors (requested in total: \(total))"
        case .appended(let path, let sectors, let capacity, let requested):
            self.event = "appended"
            devicePath = path
            self.sectors = sectors
            capacitySectors = capacity
            requestedSectors = requested
            message = "appended \(sectors) sectors of \(path): capacity \(capacity), requested \(requested)"
        case .limitReached(let capacity, let requested, let limit):
            self.event = "limit_reached"
            capacitySectors = capacity
            requestedSectors = requested
            limitSectors = limit
            message = limit.map { "storage limit of \($0) sectors reached (capacity \(capacity), requested \(requested)): the snapshot overflows if writes continue" }
                ?? "storage exhausted at \(capacity) sectors (requested \(requested)): the snapshot overflows if writes continue"
        case .corrupted(let device, let path, let errno, let name, let meaning):
            self.event = "corrupted"
            self.device = device
            devicePath = path
            self.errno = errno
            errnoName = name
            message = "snapshot of \(path ?? device) corrupted: \(meaning) (\(name))"
        case .fillEstimate(let rate, let toFull):
            self.event = "fill_estimate"
            sectorsPerSecond = rate
            secondsToFull = toFull
            let mib = rate * 512 / 1_048_576
            message = "filling at ~\(Int(mib.rounded())) MiB/s" + (toFull.map { ", full in ~\(Int($0.rounded())) s at this rate" } ?? "")
        case .warning(let text):
            self.event = "warning"
            message = text
        case .ended(let why):
            self.event = "ended"
            reason = Self.name(of: why)
            if case .commandExited(let code) = why { status = code }
            message = "session ended: \(why)"
        }
    }

    static func name(of reason: SessionEndReason) -> String {
        switch reason {
        case .stopped: "stopped"
        case .snapshotVanished: "snapshot_vanished"
        case .commandExited: "command_exited"
        case .corrupted: "corrupted"
        case .failed: "failed"
        }
    }
}

/// Prints session events as text lines or JSON Lines.
struct SessionEventPrinter {
    let output: Output
    var snapshotID: String?

    mutating func print(_ event: SessionEvent) {
        if case .created(let id) = event { snapshotID = id }
        if case .started(let id, _, _, _) = event { snapshotID = id }
        let report = SessionEventReport(event, snapshotID: snapshotID)
        output.emit(report) { ["session: " + report.message] }
    }
}
