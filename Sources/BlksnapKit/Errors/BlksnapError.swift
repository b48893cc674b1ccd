import SystemPackage

/// A failed blksnap operation: which operation, on which object, the errno, and
/// what that errno means for blksnap on that path.
///
/// The description reads like
/// `BLKFILTER_CTL cbtinfo on /dev/sdb: device /dev/sdb is not tracked: attach it first (ENOENT)`.
/// ``category`` tells callers how to react (the CLI maps it to an exit status).
public struct BlksnapError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The operation that failed.
    public var operation: BlksnapOperation
    /// The errno the kernel (or simulator) returned, or the library's own validation errno.
    public var errno: Errno
    /// The device path involved (block device, storage device, or the control device).
    public var devicePath: String?
    /// The snapshot involved.
    public var snapshotID: SnapshotID?
    /// Set when the library rejected the request before any kernel call; replaces the
    /// errno-derived meaning and makes the category ``BlksnapErrorCategory/usage``.
    public var validationMessage: String?
    /// Set when a safety guard refused the request or found protection lost; the
    /// message is ``validationMessage`` and the category is the hazard's.
    public var hazard: SafetyHazard?
    /// The user API the request was sent in, when it is not v5 (request names differ).
    public var abi: BlksnapABI?

    /// An error returned by the kernel.
    public init(operation: BlksnapOperation, errno: Errno, devicePath: String? = nil, snapshotID: SnapshotID? = nil) {
        self.operation = operation
        self.errno = errno
        self.devicePath = devicePath
        self.snapshotID = snapshotID
        self.validationMessage = nil
        self.hazard = nil
        self.abi = nil
    }

    /// An error returned by a module of `abi` (its request names appear in the description).
    public init(_ abi: BlksnapABI, operation: BlksnapOperation, errno: Errno, devicePath: String? = nil,
                snapshotID: SnapshotID? = nil) {
        self.init(operation: operation, errno: errno, devicePath: devicePath, snapshotID: snapshotID)
        self.abi = abi == .v5 ? nil : abi
    }

    /// This error as one of a module of `abi` (its request names appear in the description).
    public func withABI(_ abi: BlksnapABI) -> BlksnapError {
        var error = self
        error.abi = abi == .v5 ? nil : abi
        return error
    }

    /// A request the module's user API cannot express: `EOPNOTSUPP`, category
    /// ``BlksnapErrorCategory/usage``; the message names the ABI and says what to do instead.
    public static func unsupported(_ abi: BlksnapABI, _ operation: BlksnapOperation, _ alternative: String,
                                   devicePath: String? = nil, snapshotID: SnapshotID? = nil) -> BlksnapError {
        var error = BlksnapError(abi, operation: operation, errno: .notSupported, devicePath: devicePath,
                                 snapshotID: snapshotID)
        error.validationMessage = "not possible on the \(abi.displayName) module: \(alternative)"
        return error
    }

    /// A request the library refused to send (bad input), with the errno it stands for.
    public static func invalidRequest(_ operation: BlksnapOperation, _ message: String, errno: Errno = .invalidArgument,
                                      devicePath: String? = nil, snapshotID: SnapshotID? = nil) -> BlksnapError {
        var error = BlksnapError(operation: operation, errno: errno, devicePath: devicePath, snapshotID: snapshotID)
        error.validationMessage = message
        return error
    }

    /// A safety guard's verdict: a request refused before the kernel saw it, or a loss of
    /// protection found (see ``SafetyHazard``), with the errno it stands for.
    public static func guarded(_ hazard: SafetyHazard, _ operation: BlksnapOperation, _ message: String, errno: Errno,
                               devicePath: String? = nil, snapshotID: SnapshotID? = nil) -> BlksnapError {
        var error = BlksnapError(operation: operation, errno: errno, devicePath: devicePath, snapshotID: snapshotID)
        error.validationMessage = message
        error.hazard = hazard
        return error
    }

    /// The symbolic errno name, e.g. `ENOENT`.
    public var errnoName: String { ErrnoName.name(of: errno) }

    /// What the errno means for blksnap on this path, without the errno name.
    public var meaning: String {
        if let validationMessage { return validationMessage }
        return explanation.text
    }

    /// How a caller should react.
    public var category: BlksnapErrorCategory {
        if let hazard { return hazard.category }
        if validationMessage != nil { return .usage }
        return explanation.category
    }

    /// The meaning table's entry: the ABI's own paths first (``explainFieldModule(_:_:_:device:snapshot:)``),
    /// then the paths every ABI shares with v5.
    private var explanation: Explanation {
        let device = devicePath ?? "the device"
        if let abi, let special = Self.explainFieldModule(abi, operation, errno, device: device, snapshot: snapshotText) {
            return special
        }
        return Self.explain(operation, errno, device: device, snapshot: snapshotText)
    }

    /// `REQUEST on OBJECT: meaning (ENAME)`.
    public var description: String {
        var objects: [String] = []
        if let devicePath { objects.append(devicePath) }
        if let snapshotID { objects.append("snapshot \(snapshotID)") }
        let on = objects.isEmpty ? "" : " on " + objects.joined(separator: ", ")
        return "\(operation.requestName(in: abi ?? .v5))\(on): \(meaning) (\(errnoName))"
    }

    private var snapshotText: String { snapshotID.map { "snapshot \($0)" } ?? "the snapshot" }

    /// What a difference-area error code (a `corrupted` event's errno or
    /// `snapshotinfo.error_code`) means.
    public static func corruptionMeaning(_ errno: Errno) -> String {
        switch errno {
        case .noSpace:
            return "difference storage overflowed (permanent: appending storage now does not revive it; destroy the snapshot)"
        case .ioError:
            return "I/O error reading the original device or writing the difference storage"
        case .notBlockDevice:
            return "a storage device has a larger logical block size than the original device"
        case .noMemory:
            return "out of memory while storing a chunk"
        case .invalidArgument:
            return "a chunk descriptor could not be allocated"
        default:
            return "the difference area failed"
        }
    }

    // MARK: - The meaning table

    struct Explanation {
        var text: String
        var category: BlksnapErrorCategory
    }

    static func explain(_ operation: BlksnapOperation, _ errno: Errno, device: String, snapshot: String) -> Explanation {
        func refused(_ text: String) -> Explanation { Explanation(text: text, category: .refused) }
        func unavailable(_ text: String) -> Explanation { Explanation(text: text, category: .moduleUnavailable) }

        // Paths shared by several operations first.
        if operation.isControlRequest && errno == .inappropriateIOCTLForDevice {
            return unavailable("the control device does not know this request: not a v5 blksnap module (or a 32-bit caller on a 64-bit kernel)")
        }
        if operation.isFilterControl {
            switch errno {
            case .noSuchFileOrDirectory:
                return refused("device \(device) is not tracked: attach it first")
            case .inappropriateIOCTLForDevice:
                return unavailable("kernel has no block-device filter support, or the filter does not know this command")
            case .operationNotSupportedByDevice:
                return refused("device \(device) is going away (its queue cannot be entered)")
            default: break
            }
        }

        switch (operation, errno) {
        // open(/dev/blksnap-control)
        case (.openControl, .noSuchFileOrDirectory), (.openControl, .noSuchAddressOrDevice), (.openControl, .operationNotSupportedByDevice):
            return unavailable("blksnap module not loaded (no \(device))")
        case (.openControl, .permissionDenied), (.openControl, .notPermitted):
            return refused("permission denied: the control device is root-only")

        // open of a block device
        case (.openDevice, .noSuchFileOrDirectory):
            return refused("no such device \(device)")
        case (.openDevice, .noSuchAddressOrDevice), (.openDevice, .operationNotSupportedByDevice):
            return refused("device \(device) is not present")
        case (.openDevice, .permissionDenied), (.openDevice, .notPermitted):
            return refused("permission denied opening \(device)")

        // VERSION
        case (.version, .noData):
            return refused("the kernel could not write the version (bad argument address)")

        // CREATE
        case (.createSnapshot, .noMemory):
            return refused("out of memory creating the snapshot")
        case (.createSnapshot, .noData):
            return refused("the kernel could not write the new id; the snapshot WAS created: find it with collect and destroy it")

        // DESTROY
        case (.destroySnapshot, .operationNotSupportedByDevice):
            return refused("no such snapshot (already destroyed?)")
        case (.destroySnapshot, .noData):
            return refused("the kernel could not read the snapshot id (bad argument address)")

        // APPEND_STORAGE
        case (.appendStorage, .noSuchProcess):
            return refused("no such snapshot")
        case (.appendStorage, .badAddress):
            return refused("the storage device path could not be read (zero size or bad address)")
        case (.appendStorage, .invalidArgument):
            return refused("bad request: the path is not NUL-terminated within its size, or a range could not be read (ranges before it were added)")
        case (.appendStorage, .noMemory):
            return refused("out of memory adding storage")
        case (.appendStorage, .noSuchFileOrDirectory):
            return refused("storage device \(device) does not exist")
        case (.appendStorage, .notBlockDevice):
            return refused("storage \(device) is not a block device")
        case (.appendStorage, .noSuchAddressOrDevice), (.appendStorage, .operationNotSupportedByDevice):
            return refused("storage device \(device) is not present")
        case (.appendStorage, .permissionDenied), (.appendStorage, .notPermitted), (.appendStorage, .readOnlyFileSystem):
            return refused("the kernel cannot open storage device \(device) for writing")
        case (.appendStorage, .resourceBusy):
            return refused("storage device \(device) is busy (opened exclusively by someone else)")

        // TAKE
        case (.takeSnapshot, .noSuchProcess):
            return refused("no such snapshot")
        case (.takeSnapshot, .alreadyInProcess):
            return refused("already taken (or broken by a failed take: destroy it)")
        case (.takeSnapshot, .operationNotSupportedByDevice):
            return refused("it has no devices: add devices before taking it")
        case (.takeSnapshot, .badAddress):
            return refused("no difference storage appended, chunk size above chunk_maximum_shift, or a device was corrupted right after the switch")
        case (.takeSnapshot, .noMemory):
            return refused("out of memory taking the snapshot")
        case (.takeSnapshot, .noData):
            return refused("the kernel could not read the snapshot id (bad argument address)")
        case (.takeSnapshot, .invalidArgument):
            return refused("an image disk could not be created")
        case (.takeSnapshot, .fileExists):
            return refused("an image disk of the same name already exists (a device re-attached from another snapshot): the snapshot is now BROKEN, destroy it")
        case (.takeSnapshot, .noSuchFileOrDirectory), (.takeSnapshot, .noSuchAddressOrDevice):
            return refused("an original device of \(snapshot) could not be opened")

        // COLLECT
        case (.collectSnapshots, .noData):
            return refused("the snapshot list kept changing or the kernel could not copy it")

        // WAIT_EVENT
        case (.waitEvent, .noSuchFileOrDirectory):
            return Explanation(text: "no event for \(snapshot) before the timeout", category: .timedOut)
        case (.waitEvent, .noSuchProcess):
            return refused("no such snapshot (destroyed?)")
        case (.waitEvent, .interrupted):
            return refused("the wait was interrupted by a signal")
        case (.waitEvent, .noMemory):
            return refused("out of memory for the event buffer")
        case (.waitEvent, .invalidArgument):
            return refused("the kernel could not copy the event request or result (bad argument address)")
        case (.waitEvent, .noSpace):
            return refused("the event is larger than the event buffer")

        // BLKFILTER_ATTACH
        case (.attachFilter, .noSuchFileOrDirectory):
            return unavailable("no filter named \"blksnap\" is registered: blksnap module not loaded")
        case (.attachFilter, .inappropriateIOCTLForDevice), (.attachFilter, .invalidArgument):
            return unavailable("kernel has no block-device filter support (or \(device) is not a block device)")
        case (.attachFilter, .alreadyInProcess):
            return refused("device \(device) is already tracked by blksnap")
        case (.attachFilter, .resourceBusy):
            return refused("device \(device) has another filter attached, or its filesystem is frozen")
        case (.attachFilter, .noMemory):
            return refused("the CBT map for \(device) could not be allocated (a zero-sector device also fails this way)")
        case (.attachFilter, .badAddress):
            return refused("the kernel could not read the filter name (bad argument address)")

        // BLKFILTER_DETACH
        case (.detachFilter, .noSuchFileOrDirectory):
            return refused("device \(device) is not tracked: no filter attached")
        case (.detachFilter, .invalidArgument):
            return refused("device \(device) has a different filter attached, or the kernel has no block-device filter support")
        case (.detachFilter, .inappropriateIOCTLForDevice):
            return unavailable("kernel has no block-device filter support (or \(device) is not a block device)")
        case (.detachFilter, .badAddress):
            return refused("the kernel could not read the filter name (bad argument address)")

        // cbtinfo
        case (.cbtInfo, .noData):
            return refused("the kernel could not write the CBT info (bad argument address)")
        case (.cbtInfo, .invalidArgument):
            return unavailable("kernel has no block-device filter support (a loop device answers an unknown request with EINVAL), or the argument was too short")
        case (.cbtInfo, .noSuchProcess):
            return refused("device \(device) has no CBT map")

        // cbtmap
        case (.cbtMap, .badAddress):
            return Explanation(text: "the CBT of \(device) is corrupted (the device grew past its tracked size); it resets at the next take: make a full backup",
                               category: .corrupted)
        case (.cbtMap, .noData):
            return refused("the requested part lies beyond the CBT map of \(device) (or the request could not be read)")
        case (.cbtMap, .invalidArgument):
            return unavailable("the CBT map could not be copied to the buffer, or the kernel has no block-device filter support (a loop device answers an unknown request with EINVAL)")

        // cbtdirty
        case (.markDirty, .invalidArgument):
            return refused("the range lies beyond the CBT map of \(device), or its CBT is corrupted")
        case (.markDirty, .noData):
            return refused("the kernel could not read the ranges (bad argument address)")

        // snapshotadd
        case (.addToSnapshot, .noSuchProcess):
            return refused("no such snapshot")
        case (.addToSnapshot, .alreadyInProcess):
            return refused("device \(device) is already in \(snapshot) (a re-attached device keeps its old entry)")
        case (.addToSnapshot, .resourceBusy):
            return refused("device \(device) belongs to another snapshot (possibly a destroyed one still held by a waiter)")
        case (.addToSnapshot, .noData):
            return refused("the kernel could not read the snapshot id (bad argument address)")
        case (.addToSnapshot, .notSupported):
            return refused("device \(device) is a snapshot image: the simulator does not snapshot images (v5 would try; use the original device)")
        case (.addToSnapshot, .invalidArgument):
            return unavailable("kernel has no block-device filter support (a loop device answers an unknown request with EINVAL), or the argument was too short")

        // snapshotinfo
        case (.snapshotInfo, .noData):
            return refused("the kernel could not copy the snapshot info (bad argument address)")
        case (.snapshotInfo, .invalidArgument):
            return unavailable("kernel has no block-device filter support (a loop device answers an unknown request with EINVAL), or the argument was too short")

        // the BLKFILTER_CTL envelope itself (cbtmap's EFAULT is its corrupted CBT, above)
        case (.cbtInfo, .badAddress), (.markDirty, .badAddress), (.addToSnapshot, .badAddress), (.snapshotInfo, .badAddress):
            return refused("the kernel could not read the BLKFILTER_CTL request (bad argument address)")

        // BLKGETSIZE64 / BLKSSZGET
        case (.capacity, .inappropriateIOCTLForDevice), (.logicalBlockSize, .inappropriateIOCTLForDevice):
            return refused("\(device) is not a block device")

        // stat
        case (.stat, .noSuchFileOrDirectory):
            return refused("no such path \(device)")

        // corruption of a difference area
        case (.snapshotCorruption, _):
            return Explanation(text: "the snapshot of \(device) is corrupted: \(corruptionMeaning(errno))", category: .corrupted)

        default:
            return refused(errno.description)
        }
    }
}
