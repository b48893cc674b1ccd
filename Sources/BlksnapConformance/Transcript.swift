import BlksnapKit

/// The normalized record of a conformance run: one line per observation, each tagged
/// with the area that produced it.
///
/// Lines never carry values that differ between backends for reasons the module does
/// not define (ids, device numbers, time labels): ``Symbols`` replaces them.
public final class Transcript {
    /// One observation.
    public struct Line: Sendable, Equatable {
        /// The area (`lifecycle`, `cbt`, `events`, ...).
        public var area: String
        /// The observation, without the area.
        public var text: String
    }

    /// The lines so far, in order.
    public private(set) var lines: [Line] = []
    /// Called with each new line as text (`area text`), e.g. to print it at once.
    public var sink: ((String) -> Void)?

    /// The area that new lines are tagged with.
    public var area = "setup"

    /// Creates an empty transcript.
    public init() {}

    /// Appends one observation to the current area.
    public func emit(_ text: String) {
        let line = Line(area: area, text: text)
        lines.append(line)
        sink?(Self.render(line))
    }

    /// `area text`, the form the lane compares.
    public static func render(_ line: Line) -> String { "\(line.area) \(line.text)" }

    /// The whole transcript as text, one line per observation.
    public var text: String { lines.map { Self.render($0) + "\n" }.joined() }

    /// Number of lines per area, in the order the areas first appear.
    public var countsByArea: [(area: String, lines: Int)] {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for line in lines {
            if counts[line.area] == nil { order.append(line.area) }
            counts[line.area, default: 0] += 1
        }
        return order.map { ($0, counts[$0]!) }
    }
}

/// Replaces run-specific values by symbols given in order of first appearance:
/// snapshot ids `S1, S2, ...`, CBT generation ids `G1, G2, ...`, and device numbers by
/// the role of the device (`ORIG0`, `ORIG1`, `STORE`).
public final class Symbols {
    private var snapshots: [SnapshotID: String] = [:]
    private var generations: [CBTGenerationID: String] = [:]
    private var devices: [DeviceNumber: String] = [:]
    private var images: [String: DeviceNumber] = [:]

    /// Creates an empty table.
    public init() {}

    /// Registers a device number under a role name.
    public func register(device: DeviceNumber, as role: String) { devices[device] = role }

    /// Registers an image name that does not encode its original (VAL-6.x's
    /// `veeamblksnapimg<minor>`) as the image of `original`.
    public func register(image name: String, of original: DeviceNumber) { images[name] = original }

    /// The symbol of a snapshot id (a new one on first sight).
    public func snapshot(_ id: SnapshotID) -> String {
        if let name = snapshots[id] { return name }
        let name = "S\(snapshots.count + 1)"
        snapshots[id] = name
        return name
    }

    /// The symbol of a CBT generation id (a new one on first sight).
    public func generation(_ id: CBTGenerationID) -> String {
        if let name = generations[id] { return name }
        let name = "G\(generations.count + 1)"
        generations[id] = name
        return name
    }

    /// The role of a device number, or `DEV?` for one that is not registered.
    public func device(_ number: DeviceNumber) -> String { devices[number] ?? "DEV?" }

    /// The role of a device given as major and minor.
    public func device(major: UInt32, minor: UInt32) -> String {
        device(DeviceNumber(major: major, minor: minor))
    }

    /// An image name `blksnap-image_M:m` (VAL-7.0: `veeamblksnapimg_M:m`) with the
    /// original's role in place of `M:m`; other names are returned as they are.
    public func imageName(_ name: String) -> String {
        if let original = images[name] { return "IMAGE(\(device(original)))" }
        for prefix in ["blksnap-image_", "veeamblksnapimg_"] where name.hasPrefix(prefix) {
            if let number = DeviceNumber(parsing: name.dropFirst(prefix.count)) { return "IMAGE(\(device(number)))" }
        }
        return name.isEmpty ? "\"\"" : "\"\(name)\""
    }
}
