import BlksnapKit

/// The `--storage SPEC` of `session` and `snapshot watch`.
///
/// - `DEVICE:SECTOR:COUNT[,SECTOR:COUNT|,DEVICE:SECTOR:COUNT…]`: those ranges of one
///   storage device (512-byte sectors);
/// - `DEVICE` (a block device path): the whole device;
/// - `dir:PATH`: preallocated files in directory PATH (real kernel only);
/// - `kernel:PATH`: a file, directory or block device the module grows itself up to
///   `--limit` (VAL-7.0 only).
enum StorageSpec: Equatable, Sendable, CustomStringConvertible {
    /// Ranges of one device (nil ranges: the whole device).
    case device(path: String, ranges: [SectorRange]?)
    /// Files in a directory.
    case directory(String)
    /// Storage the module grows itself (VAL-7.0).
    case kernelGrown(String)

    var description: String {
        switch self {
        case .device(let path, nil): path
        case .device(let path, let ranges?): ranges.map { "\(path):\($0)" }.joined(separator: ",")
        case .directory(let path): "dir:\(path)"
        case .kernelGrown(let path): "kernel:\(path)"
        }
    }

    /// Parses a spec (pure; unit-tested).
    ///
    /// Separators are matched as Unicode scalars, not as Swift characters: a path that
    /// begins with a combining mark would otherwise fuse with the `,` or `:` before it into
    /// one grapheme and hide the separator (found by the parser fuzz target).
    static func parse(_ text: String) throws(ArgumentValueError) -> StorageSpec {
        let scalars = text.unicodeScalars
        if scalars.starts(with: "dir:".unicodeScalars) {
            let path = String(scalars.dropFirst(4))
            guard !path.isEmpty else { throw ArgumentValueError("storage 'dir:' needs a directory path after 'dir:'") }
            return .directory(path)
        }
        if scalars.starts(with: "kernel:".unicodeScalars) {
            let path = String(scalars.dropFirst(7))
            guard !path.isEmpty else {
                throw ArgumentValueError("storage 'kernel:' needs a file, directory or block device path after 'kernel:'")
            }
            return .kernelGrown(path)
        }
        guard !text.isEmpty else {
            throw ArgumentValueError("storage '' is empty: give DEVICE:SECTOR:COUNT[,…], a block device, dir:PATH or kernel:PATH")
        }
        var device: String?
        var ranges: [SectorRange] = []
        let items = scalars.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
        for item in items {
            let fields = item.unicodeScalars.split(separator: ":", omittingEmptySubsequences: false).map { String($0) }
            if fields.count == 1 {
                // A bare device: only valid alone.
                guard items.count == 1 else {
                    throw ArgumentValueError("storage '\(text)': item '\(item)' is not DEVICE:SECTOR:COUNT or SECTOR:COUNT")
                }
                return .device(path: Self.devicePath(String(item)), ranges: nil)
            }
            let range = try ArgumentValues.sectorRange(fields.suffix(2).joined(separator: ":"))
            guard range.countSectors > 0 else {
                throw ArgumentValueError("storage '\(text)': range \(range) is empty")
            }
            if fields.count > 2 {
                let path = Self.devicePath(fields.dropLast(2).joined(separator: ":"))
                if let device, device != path {
                    throw ArgumentValueError("storage '\(text)' names two devices (\(device), \(path)): one storage device per session")
                }
                device = path
            } else if device == nil {
                throw ArgumentValueError("storage '\(text)': the first item must name the device (DEVICE:SECTOR:COUNT)")
            }
            ranges.append(range)
        }
        guard let device else { throw ArgumentValueError("storage '\(text)' names no device") }
        return .device(path: device, ranges: ranges)
    }

    private static func devicePath(_ text: String) -> String {
        text.contains("/") ? text : "/dev/" + text
    }
}
