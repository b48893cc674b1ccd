import SystemPackage

extension BlksnapError {
    /// The errno paths where Veeam's field modules mean something else than v5
    /// (`veeam-field-modules.md` §1.4, §2.3, §2.4); nil where the shared table applies.
    static func explainFieldModule(_ abi: BlksnapABI, _ operation: BlksnapOperation, _ errno: Errno,
                                   device: String, snapshot: String) -> Explanation? {
        func refused(_ text: String) -> Explanation { Explanation(text: text, category: .refused) }
        func unavailable(_ text: String) -> Explanation { Explanation(text: text, category: .moduleUnavailable) }
        if operation.isControlRequest && errno == .inappropriateIOCTLForDevice {
            return unavailable("the control device does not know this request: not a \(abi.displayName) module "
                               + "(another blksnap ABI is loaded; detect it instead of choosing)")
        }
        switch (abi, operation, errno) {
        case (_, .openControl, .noSuchFileOrDirectory), (_, .openControl, .noSuchAddressOrDevice),
             (_, .openControl, .operationNotSupportedByDevice):
            return unavailable("the \(abi.displayName) blksnap module is not loaded (no \(device))")

        // VAL-6.x (§1.4)
        case (.val6, .cbtMap, .notPermitted):
            return refused("VAL-6.x reads a CBT map only while the device's snapshot is taken: take a snapshot of \(device) first")
        case (.val6, .cbtMap, .invalidArgument):
            return refused("the offset is past the end of \(device)'s CBT map")
        case (.val6, .cbtMap, .badAddress), (.val6, .cbtInfo, .badAddress):
            return Explanation(text: "the CBT of \(device) is corrupted (a write beyond its map): the next take resets it",
                               category: .corrupted)
        case (.val6, .cbtMap, .noData), (.val6, .markDirty, .noData), (.val6, .detachFilter, .noData),
             (.val6, .markDirty, .operationNotSupportedByDevice):
            return refused("device \(device) is not tracked (on VAL-6.x tracking starts at the first snapshot that names it)")
        case (.val6, .detachFilter, .resourceBusy):
            return refused("VAL-6.x keeps the tracker of a device while its snapshot is taken: destroy the snapshot first")
        case (.val6, .createSnapshot, .alreadyInProcess):
            return refused("a device is already in another snapshot (VAL-6.x answers EALREADY; a snapshot orphaned by a second create keeps its devices until reboot)")
        case (.val6, .appendStorage, .noSuchProcess), (.val6, .takeSnapshot, .noSuchProcess),
             (.val6, .waitEvent, .noSuchProcess), (.val6, .snapshotInfo, .noSuchProcess):
            return refused("no such snapshot \(snapshot) (destroyed, never created, or orphaned by a later create)")
        case (.val6, .takeSnapshot, .badAddress):
            return refused("the take failed (no difference storage, or a chunk size above chunk_maximum_shift) and VAL-6.x destroyed \(snapshot)")
        case (.val6, .snapshotInfo, .operationNotSupportedByDevice):
            return refused("\(snapshot) is not taken yet: it has no images")

        // VAL-7.0 (§2.3, §2.4)
        case (.val7, .attachFilter, .noSuchFileOrDirectory), (.val7, .detachFilter, .noSuchFileOrDirectory):
            return refused("no such device \(device), or the blksnap filter is not registered with bdevfilter")
        case (.val7, .attachFilter, .resourceBusy):
            return refused("device \(device) has another bdevfilter filter attached")
        case (.val7, .detachFilter, .invalidArgument):
            return refused("device \(device) has another bdevfilter filter attached, not blksnap's")
        case (.val7, .createSnapshot, .noSpace):
            return refused("the difference storage file could not be allocated (its filesystem is full, or the limit is below what the kernel reserves at create)")
        case (.val7, .createSnapshot, .invalidArgument):
            return refused("the difference storage path is neither a block device, a directory nor a regular file")
        default:
            return nil
        }
    }
}
