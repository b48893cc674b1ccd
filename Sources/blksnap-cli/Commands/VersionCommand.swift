import ArgumentParser
import BlksnapKit

/// `blksnapctl version`: the module's version (IOCTL_BLKSNAP_VERSION).
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the blksnap module version (v5 reports 2.0.0.0).",
        discussion: "Exits 69 when the module (or the simulator) is not available.")

    @OptionGroup var global: GlobalOptions

    /// `--json` document.
    struct Report: Encodable {
        var version: String
        var major: UInt16
        var minor: UInt16
        var revision: UInt16
        var build: UInt16
        var backend: String
    }

    func run() throws {
        let backend = try Backend(global)
        let control = try backend.control()
        let version = try performing(backend) { () throws(BlksnapError) in try control.version() }
        let report = Report(version: version.description, major: version.major, minor: version.minor,
                            revision: version.revision, build: version.build, backend: backend.name)
        global.output.emit(report) { ["blksnap \(version) (\(backend.name))"] }
    }
}
