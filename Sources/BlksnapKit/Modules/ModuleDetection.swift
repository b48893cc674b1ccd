#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import SystemPackage

/// Finds out which blksnap module a kernel (or simulator) has loaded: from its nodes,
/// confirmed by the VERSION request (`veeam-field-modules.md` §4.1).
///
/// 1. The control nodes are looked up with `stat` in the kernel's namespace, in the order
///    of ``ModuleNodes/controlNodes``: `/dev/blksnap-control` (v5), `/dev/veeamblksnap`
///    (VAL-6.x or VAL-7.0), `/dev/blksnap` (VAL-6.0).
/// 2. The first one that exists (or, with an override, the first of that ABI's nodes) is
///    opened and asked VERSION with ``ModuleIdentityRequest/version`` (`0x80085600`), the
///    only request all three ABIs answer. The major names the ABI (2 v5, 1 VAL-6.x, 7 VAL-7.0).
/// 3. A Veeam module is then asked MOD (never v5, where nr 32 is out of range).
///
/// Only nr 0 and, after VERSION has named a Veeam module, nr 32 are sent: on v5 and VAL-6.x
/// any other number would run that nr's operation there.
public enum ModuleDetection {
    /// Detects the loaded module.
    ///
    /// Without `override`, VERSION decides between the ABIs the control node can belong to
    /// (`/dev/veeamblksnap` is VAL-6.x or VAL-7.0). With `override`, that ABI's control node
    /// is used even when another generation's node exists too, and VERSION must still
    /// report that ABI.
    ///
    /// The corresponding ioctls are `IOCTL_BLKSNAP_VERSION` (as `0x80085600`) and, on
    /// Veeam's modules, `IOCTL_BLK_SNAP_MOD` / `IOCTL_BLKSNAP_MOD`.
    ///
    /// - Parameters:
    ///   - kernel: where to look and whom to ask (the real kernel or a simulator).
    ///   - requested: the ABI to use instead of the one the nodes suggest.
    /// - Throws: ``ModuleDetectionError``: no node (``ModuleDetectionError/Reason/noModule(lookedFor:)``),
    ///   none of the requested ABI's nodes, a VERSION answer of another ABI, or the
    ///   failed `open`/VERSION call.
    public static func detect(kernel: any KernelInterface = LinuxKernel(),
                              override requested: BlksnapABI? = nil) throws(ModuleDetectionError) -> DetectedModule {
        let existing = ModuleNodes.controlNodes.filter { exists($0, in: kernel) }
        let candidates: [String]
        if let requested {
            let wanted = ModuleNodes.controlNodes(of: requested)
            candidates = wanted.filter(existing.contains)
            guard !candidates.isEmpty else {
                throw ModuleDetectionError(.nodeMissing(requested: requested, lookedFor: wanted, found: existing))
            }
        } else {
            guard !existing.isEmpty else {
                throw ModuleDetectionError(.noModule(lookedFor: ModuleNodes.controlNodes))
            }
            candidates = existing
        }

        // A node no module answers (a stale static node: ENOENT, ENXIO, ENODEV at open) is
        // skipped when another candidate exists; the first such failure is reported if none answers.
        var firstFailure: ModuleDetectionError?
        for controlPath in candidates {
            let fd: CInt
            do {
                fd = try kernel.open(controlPath, flags: O_RDWR)
            } catch {
                let failure = ModuleDetectionError(.requestFailed(BlksnapError(operation: .openControl, errno: error, devicePath: controlPath)))
                if [Errno.noSuchFileOrDirectory, .noSuchAddressOrDevice, .operationNotSupportedByDevice].contains(error) {
                    if firstFailure == nil { firstFailure = failure }
                    continue
                }
                throw failure
            }
            defer { try? kernel.close(fd) }
            return try identify(kernel, fd, controlPath: controlPath, requested: requested)
        }
        throw firstFailure ?? ModuleDetectionError(.noModule(lookedFor: ModuleNodes.controlNodes))
    }

    /// VERSION (and MOD) on the opened control node `controlPath`.
    static func identify(_ kernel: any KernelInterface, _ fd: CInt, controlPath: String,
                         requested: BlksnapABI?) throws(ModuleDetectionError) -> DetectedModule {
        let version: Version
        switch readVersion(kernel, fd) {
        case .success(let answer): version = answer
        case .failure(let error):
            throw ModuleDetectionError(.requestFailed(BlksnapError(operation: .version, errno: error, devicePath: controlPath)))
        }
        guard let found = BlksnapABI(versionMajor: version.major) else {
            if let requested {
                throw ModuleDetectionError(.versionMismatch(expected: requested, controlPath: controlPath, version: version, foundABI: nil))
            }
            throw ModuleDetectionError(.unknownVersion(controlPath: controlPath, version: version))
        }
        let possible = ModuleNodes.abis(ofControlNode: controlPath)
        if let requested, requested != found {
            throw ModuleDetectionError(.versionMismatch(expected: requested, controlPath: controlPath, version: version, foundABI: found))
        }
        if !possible.contains(found), let expected = possible.first {
            throw ModuleDetectionError(.versionMismatch(expected: expected, controlPath: controlPath, version: version, foundABI: found))
        }

        var modification: ModuleModification?
        if let request = ModuleIdentityRequest.modification(for: found) {
            modification = readModification(kernel, fd, request)
        }
        let filterPath = found == .val7 && exists(ModuleNodes.bdevfilter, in: kernel) ? ModuleNodes.bdevfilter : nil
        return DetectedModule(abi: found, version: version,
                              moduleName: ModuleNodes.moduleName(abi: found, controlPath: controlPath),
                              controlPath: controlPath, filterPath: filterPath,
                              imageNamePrefix: ModuleNodes.imageNamePrefix(abi: found, controlPath: controlPath),
                              modification: modification)
    }

    /// The ABI the nodes alone suggest, without asking the module: `/dev/blksnap-control` →
    /// v5; `/dev/veeamblksnap` with `/dev/bdevfilter` (or `/sys/class/misc/bdevfilter`) →
    /// VAL-7.0, with `/sys/class/veeamblksnap/major` → VAL-6.x; `/dev/blksnap` → VAL-6.x
    /// (VAL-6.0). Nil when no control node exists or `/dev/veeamblksnap` has neither companion.
    public static func abiSuggestedByNodes(kernel: any KernelInterface = LinuxKernel()) -> BlksnapABI? {
        if exists(ModuleNodes.v5Control, in: kernel) { return .v5 }
        if exists(ModuleNodes.veeamControl, in: kernel) {
            if exists(ModuleNodes.bdevfilter, in: kernel) || exists(ModuleNodes.bdevfilterMiscClass, in: kernel) { return .val7 }
            if exists(ModuleNodes.val6MajorAttribute, in: kernel) { return .val6 }
            return nil
        }
        if exists(ModuleNodes.legacyVeeamControl, in: kernel) { return .val6 }
        return nil
    }

    /// VERSION with the number every ABI answers, into `struct blksnap_version`
    /// (the same four `u16` in all three ABIs).
    static func readVersion(_ kernel: any KernelInterface, _ fd: CInt) -> Result<Version, Errno> {
        var answer = blksnap_version()
        return kernel.ioctlResult(fd, ModuleIdentityRequest.version, on: &answer).map { _ in Version(answer) }
    }

    /// MOD on a Veeam module; nil when it fails (a build without the modification part
    /// answers `ENOTTY`: nothing to report).
    static func readModification(_ kernel: any KernelInterface, _ fd: CInt, _ request: UInt) -> ModuleModification? {
        var bytes = [UInt8](repeating: 0, count: ModuleIdentityRequest.modificationArgumentBytes)
        let result = bytes.withUnsafeMutableBytes { buffer in
            kernel.ioctlResult(fd, request, buffer.baseAddress!)
        }
        guard case .success = result else { return nil }
        return ModuleModification(argumentBytes: bytes)
    }

    static func exists(_ path: String, in kernel: any KernelInterface) -> Bool {
        (try? kernel.stat(path)) != nil
    }
}
