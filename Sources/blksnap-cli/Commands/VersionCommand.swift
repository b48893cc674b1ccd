import ArgumentParser
import BlksnapKit

/// `blksnapctl version`: the module's version and ABI (VERSION as `0x80085600`, which v5,
/// VAL-6.x and VAL-7.0 all answer), detected by BlksnapKit's ``ModuleDetection``.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the blksnap module's version and ABI (v5 reports 2.0.0.0).",
        discussion: """
            Prints e.g. 'blksnap 2.0.0.0 (v5, blksnap; kernel)' or \
            'blksnap 7.0.0.0 (VAL-7.0, veeamblksnap standalone; kernel)'. \
            --abi names the ABI to expect instead of detecting it. \
            Exits 69 when the module (or the simulator) is not available.
            """)

    @OptionGroup var global: GlobalOptions

    /// `--json` document.
    struct Report: Encodable {
        var version: String
        var major: UInt16
        var minor: UInt16
        var revision: UInt16
        var build: UInt16
        /// `v5`, `val6` or `val7`.
        var abi: String
        /// The kernel module: `blksnap` or `veeamblksnap`.
        var module: String
        /// Veeam's modules: the MOD answer.
        var modification: ModuleModification?
        var backend: String
    }

    func run() throws {
        // Backend detects the module (ModuleDetection, with --abi / BLKSNAPCTL_ABI as the override).
        let backend = try Backend(global)
        let module: DetectedModule
        if let detected = backend.module {
            module = detected
        } else {
            let abi = try global.resolvedABI()
            do {
                module = try ModuleDetection.detect(kernel: backend.kernel, override: abi)
            } catch {
                throw error.commandFailure(simSocket: backend.simSocket)
            }
        }
        let version = module.version
        let report = Report(version: version.description, major: version.major, minor: version.minor,
                            revision: version.revision, build: version.build, abi: module.abi.rawValue,
                            module: module.moduleName, modification: module.modification, backend: backend.name)
        global.output.emit(report) { ["blksnap \(version) (\(module.summary); \(backend.name))"] }
    }
}
