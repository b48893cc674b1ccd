import SystemPackage

/// Why ``ModuleDetection/detect(kernel:override:)`` found no usable module: what was
/// looked for or what answered, the errno, what it means and what to do.
///
/// The description reads like
/// `module detection: no blksnap module is loaded (looked for /dev/blksnap-control, /dev/veeamblksnap, /dev/blksnap) (ENOENT); load it: …`.
/// A failed system call is also kept as a ``BlksnapError`` in ``underlying``.
public struct ModuleDetectionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Hashable, Sendable {
        /// No control node exists; `lookedFor` lists the nodes tried.
        case noModule(lookedFor: [String])
        /// An ABI was requested but none of its control nodes exists; `found` lists the
        /// control nodes that do exist (another generation's).
        case nodeMissing(requested: BlksnapABI, lookedFor: [String], found: [String])
        /// The control node answered VERSION with another ABI's version than the one requested
        /// (or than the node can belong to); `foundABI` is nil for an unknown major.
        case versionMismatch(expected: BlksnapABI, controlPath: String, version: Version, foundABI: BlksnapABI?)
        /// The control node answered VERSION with a major no supported ABI uses.
        case unknownVersion(controlPath: String, version: Version)
        /// Opening the control node or the VERSION request failed.
        case requestFailed(BlksnapError)
    }

    /// What went wrong.
    public var reason: Reason

    /// Creates an error for `reason`.
    public init(_ reason: Reason) {
        self.reason = reason
    }

    /// The failed call as a ``BlksnapError``, when a call failed.
    public var underlying: BlksnapError? {
        if case .requestFailed(let error) = reason { return error }
        return nil
    }

    /// The errno: `ENOENT` for a missing node, `ENODEV` for a module of another
    /// generation or an unknown one, the call's errno for a failed call.
    public var errno: Errno {
        switch reason {
        case .noModule: return .noSuchFileOrDirectory
        case .nodeMissing, .versionMismatch, .unknownVersion: return .operationNotSupportedByDevice
        case .requestFailed(let error): return error.errno
        }
    }

    /// The symbolic errno name, e.g. `ENOENT`.
    public var errnoName: String { ErrnoName.name(of: errno) }

    /// How a caller should react: a missing or different module is
    /// ``BlksnapErrorCategory/moduleUnavailable``; a failed call keeps its own category
    /// (a non-root caller is ``BlksnapErrorCategory/refused``).
    public var category: BlksnapErrorCategory {
        if case .requestFailed(let error) = reason { return error.category }
        return .moduleUnavailable
    }

    /// What was found, without the errno name.
    public var meaning: String {
        switch reason {
        case .noModule(let lookedFor):
            return "no blksnap module is loaded (looked for \(lookedFor.joined(separator: ", ")))"
        case .nodeMissing(let requested, let lookedFor, let found):
            let others = found.isEmpty ? "no blksnap control node exists" : "found \(found.joined(separator: ", ")) instead"
            return "the \(requested.displayName) module is not loaded (no \(lookedFor.joined(separator: " or "))); \(others)"
        case .versionMismatch(let expected, let controlPath, let version, let foundABI):
            let found = foundABI.map { "which is \($0.displayName)" } ?? "which no supported ABI reports"
            return "\(expected.displayName) was expected, but \(controlPath) answers VERSION \(version), \(found)"
        case .unknownVersion(let controlPath, let version):
            return "\(controlPath) answers VERSION \(version): major \(version.major) is none of v5 (2), VAL-6.x (1), VAL-7.0 (7)"
        case .requestFailed(let error):
            if error.operation == .version && error.errno == .inappropriateIOCTLForDevice {
                return "\(error.devicePath ?? "the control node") does not answer VERSION (0x80085600): it is not a blksnap module"
            }
            return error.description
        }
    }

    /// What to do about it.
    public var remedy: String {
        switch reason {
        case .noModule:
            return Self.loadRemedy
        case .nodeMissing(let requested, _, _):
            return "load the \(requested.displayName) module (\(Self.loadCommand(for: requested))), or choose the ABI of the module that is loaded"
        case .versionMismatch(_, _, _, let foundABI):
            if let foundABI { return "choose \(foundABI.displayName) (the ABI the loaded module speaks), or load the module you want" }
            return "load a supported module: \(Self.loadRemedy)"
        case .unknownVersion:
            return "load a supported module: \(Self.loadRemedy)"
        case .requestFailed(let error):
            switch error.errno {
            case .permissionDenied, .notPermitted:
                return "run as root: the control node is root-only"
            case .noSuchFileOrDirectory, .noSuchAddressOrDevice, .operationNotSupportedByDevice:
                return "the node exists but no module answers it (a stale node): \(Self.loadRemedy)"
            case .inappropriateIOCTLForDevice:
                return "load a blksnap module: \(Self.loadRemedy)"
            default:
                return "check the kernel log (dmesg) for the module's messages"
            }
        }
    }

    /// `module detection: MEANING (ENAME); REMEDY`.
    public var description: String {
        "module detection: \(meaning) (\(errnoName)); \(remedy)"
    }

    /// The command that loads `abi`'s module.
    public static func loadCommand(for abi: BlksnapABI) -> String {
        switch abi {
        case .v5: return "modprobe blksnap"
        case .val6, .val7: return "modprobe bdevfilter && modprobe veeamblksnap"
        }
    }

    /// How to get any module: load Veeam's or v5's, or use the simulator.
    public static let loadRemedy = "load it with 'modprobe bdevfilter && modprobe veeamblksnap' (Veeam's modules)"
        + " or 'modprobe blksnap' (v5), or use the simulator"
}
