import BlksnapBackup

/// One line of `--progress json` (JSON Lines on stderr), told apart by `event`:
///
/// - `progress`: `phase` (`backup` or `restore`), `device` (the device backed up, or the
///   restore's target), `device_index`, `bytes_read`, `bytes_written`, `bytes_total`,
///   `rate` (bytes read per second since the device's copy started), `eta_seconds` (null
///   while unknown), `elapsed_seconds` (since the command's copy began), `final` (true on
///   the device's last line: its counts are those of the summary).
/// - `summary`, the last line: `phase`, `status` (`ok` or `failed`), `error` (null, or the
///   message the command fails with), `bytes_read`, `bytes_written`, `bytes_total` (sums
///   of `devices`), `rate`, `elapsed_seconds`, and `devices`: each device's last counts
///   (`device`, `device_index`, `bytes_read`, `bytes_written`, `bytes_total`).
///
/// Keys are sorted and snake_case, as every JSON document of the CLI (``Output``).
struct ProgressReport: Encodable {
    var event: String
    var phase: String
    var device: String?
    var deviceIndex: Int?
    var bytesRead: UInt64
    var bytesWritten: UInt64
    var bytesTotal: UInt64
    var rate: UInt64
    var etaSeconds: Double?
    var elapsedSeconds: Double
    var final: Bool?
    var status: String?
    var error: String?
    var devices: [Device]?

    /// A device's counts in a summary.
    struct Device: Encodable {
        var device: String
        var deviceIndex: Int
        var bytesRead: UInt64
        var bytesWritten: UInt64
        var bytesTotal: UInt64
    }

    init(_ event: BackupProgressEvent) {
        switch event {
        case .progress(let sample):
            self.event = "progress"
            phase = sample.phase.rawValue
            device = sample.counts.devicePath
            deviceIndex = sample.counts.deviceIndex
            bytesRead = sample.counts.bytesRead
            bytesWritten = sample.counts.bytesWritten
            bytesTotal = sample.counts.bytesTotal
            rate = sample.bytesPerSecond
            etaSeconds = sample.etaSeconds.map(Self.rounded)
            elapsedSeconds = Self.rounded(sample.elapsedSeconds)
            final = sample.counts.finished
        case .summary(let summary):
            self.event = "summary"
            phase = summary.phase.rawValue
            bytesRead = summary.bytesRead
            bytesWritten = summary.bytesWritten
            bytesTotal = summary.bytesTotal
            rate = summary.bytesPerSecond
            elapsedSeconds = Self.rounded(summary.elapsedSeconds)
            status = summary.failure == nil ? "ok" : "failed"
            error = summary.failure
            devices = summary.devices.map {
                Device(device: $0.devicePath, deviceIndex: $0.deviceIndex, bytesRead: $0.bytesRead,
                       bytesWritten: $0.bytesWritten, bytesTotal: $0.bytesTotal)
            }
        }
    }

    private enum CodingKeys: String, CodingKey {
        case event, phase, device, deviceIndex, bytesRead, bytesWritten, bytesTotal, rate, etaSeconds, elapsedSeconds
        case final, status, error, devices
    }

    /// The fields of the line's event, every one present (null where unknown).
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(event, forKey: .event)
        try container.encode(phase, forKey: .phase)
        try container.encode(bytesRead, forKey: .bytesRead)
        try container.encode(bytesWritten, forKey: .bytesWritten)
        try container.encode(bytesTotal, forKey: .bytesTotal)
        try container.encode(rate, forKey: .rate)
        try container.encode(elapsedSeconds, forKey: .elapsedSeconds)
        if event == "progress" {
            try container.encode(device, forKey: .device)
            try container.encode(deviceIndex, forKey: .deviceIndex)
            try container.encode(etaSeconds, forKey: .etaSeconds)
            try container.encode(final, forKey: .final)
        } else {
            try container.encode(status, forKey: .status)
            try container.encode(error, forKey: .error)
            try container.encode(devices, forKey: .devices)
        }
    }

    /// Seconds to the millisecond.
    private static func rounded(_ seconds: Double) -> Double {
        (seconds * 1000).rounded() / 1000
    }
}
