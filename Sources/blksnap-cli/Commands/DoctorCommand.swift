import ArgumentParser
import BlksnapKit

/// `blksnapctl doctor`: is a blksnap module usable here, and if not, why and how to fix it.
///
/// All facts and findings come from BlksnapKit's ``ModuleDoctor``; this command prints
/// them and adds what only the CLI knows (how to use the simulator instead).
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check whether a blksnap module is usable here, and how to fix it if not.",
        discussion: """
            Reports which module is loaded (v5, Veeam VAL-6.x or VAL-7.0: its nodes and the \
            VERSION answer) or why none is: not installed, installed but not loaded, built by \
            DKMS for another kernel, kernel headers missing, an unsigned module under Secure \
            Boot or lockdown ("Key was rejected by service"). Also shows the nodes and their \
            modes, the module's taint, Secure Boot, lockdown and the kernel's HZ (WAIT_EVENT \
            timeouts are jiffies). Each problem comes with the one command that fixes it. \
            With --sim, reports the simulator's module. Exits 0 when a module is usable, \
            69 when not.
            """)

    @OptionGroup var global: GlobalOptions

    /// The directory the host's files are read under (tests point it at a tree they built).
    @Option(name: .customLong("root"), help: .hidden)
    var root: String = "/"

    func run() throws {
        let abi = try global.resolvedABI()
        var report: DoctorReport
        if let socket = global.resolvedSimSocket {
            let backend = Backend(kernel: try SimulatorConnection.connect(socketPath: socket), simSocket: socket)
            report = ModuleDoctor.diagnose(host: nil, kernel: KernelModuleFacts.read(kernel: backend.kernel, override: abi))
            report.hz = Int(backend.ticksPerSecond)
            report.hzSource = "the simulator's hz parameter"
            report.backend = backend.name
        } else {
            report = ModuleDoctor(root: root).examine(kernel: LinuxKernel(), override: abi)
            report.backend = "kernel"
        }
        let simulated = global.resolvedSimSocket != nil
        global.output.emit(report) { Self.text(report, simulated: simulated) }
        if !report.usable { throw ExitCode(ExitStatus.unavailable.rawValue) }
    }

    /// The text report.
    static func text(_ report: DoctorReport, simulated: Bool) -> [String] {
        var lines: [String] = []
        var heading = "blksnap doctor (\(report.backend ?? "kernel")"
        if let release = report.host?.kernelRelease { heading += ", Linux \(release)" }
        lines.append(heading + ")")

        if let module = report.module {
            var text = "module:     \(module.abi.displayName) \(module.moduleName) \(module.version) on \(module.controlPath)"
            if let filter = module.filterPath { text += " and \(filter)" }
            lines.append(text)
            if let modification = module.modification { lines.append("            modification \(modification)") }
            let number = module.abi == .val6 ? "MINOR" : "MAJ:MIN"
            lines.append("            images /dev/\(module.imageNamePrefix)\(number)")
        } else {
            lines.append("module:     none usable")
            if let error = report.detectionError, !report.findings.contains(where: { $0.message == error }) {
                lines.append("            \(error)")
            }
        }

        lines.append("nodes:")
        let width = report.nodes.map(\.path.count).max() ?? 0
        for node in report.nodes {
            let padded = node.path.padding(toLength: width, withPad: " ", startingAt: 0)
            if node.exists {
                var detail = [node.kind, node.mode].compactMap { $0 }.joined(separator: " ")
                if let number = node.deviceNumber { detail += " \(number)" }
                lines.append("  \(padded)  \(detail)")
            } else {
                lines.append("  \(padded)  missing")
            }
        }

        if let host = report.host {
            lines.append("loaded:     " + (host.loadedModules.isEmpty ? "none of \(HostModuleFacts.moduleNames.joined(separator: ", "))"
                                                                        : host.loadedModules.joined(separator: ", ")))
            let installed = host.installation.files.map { "\($0.path)\(signature($0.signed))" }
            lines.append("installed:  " + (installed.isEmpty ? "none for \(host.kernelRelease ?? "the running kernel")" : installed.joined(separator: ", ")))
            let builds = host.installation.dkmsBuilds.map { "\($0.package)/\($0.version) for \($0.kernelRelease)" }
            lines.append("DKMS:       " + (builds.isEmpty ? (host.installation.dkmsPackages.isEmpty ? "nothing"
                                                                : "\(host.installation.dkmsPackages.joined(separator: ", ")) added, not built")
                                                          : builds.joined(separator: ", ")))
            if let headers = host.installation.headersInstalled {
                lines.append("headers:    " + (headers ? "installed" : "missing") + " (/lib/modules/\(host.kernelRelease ?? "RELEASE")/build)")
            }
            let security = host.security
            let secureBoot = security.secureBoot.map { $0 ? "on" : "off" } ?? "unknown (no UEFI variable)"
            lines.append("security:   Secure Boot \(secureBoot), lockdown \(security.lockdown ?? "unavailable"), "
                         + "module signatures \(security.rejectsUnsignedModules ? "required" : "not required")")
        }
        lines.append("HZ:         " + (report.hz.map { "\($0) (\(report.hzSource ?? "?"))" } ?? "unknown"))

        let problems = report.problems
        if !problems.isEmpty {
            lines.append("problems:")
            for (index, problem) in problems.enumerated() {
                lines.append("  \(index + 1). \(problem.message)")
                if let fix = problem.fix { lines.append("     fix: \(fix)") }
            }
        }
        let others = report.findings.filter { $0.severity != .problem }
        if !others.isEmpty {
            lines.append("notes:")
            for finding in others {
                lines.append("  - \(finding.severity == .warning ? "warning: " : "")\(finding.message)")
                if let fix = finding.fix { lines.append("    fix: \(fix)") }
            }
        }

        if report.usable {
            lines.append("result:     usable")
        } else {
            lines.append("result:     no usable blksnap module (exit 69)")
            if !simulated {
                lines.append(contentsOf: [
                    "To use blksnapctl without a module, use the simulator:",
                    "  blksnapctl sim serve --root DIR &",
                    "  blksnapctl --sim DIR/blksnapctl.sock doctor      (or set BLKSNAPCTL_SIM=DIR/blksnapctl.sock)",
                    "or run the whole scenario in process: blksnapctl demo",
                ])
            }
        }
        return lines
    }

    static func signature(_ signed: Bool?) -> String {
        switch signed {
        case true?: return " (signed)"
        case false?: return " (unsigned)"
        case nil: return ""
        }
    }
}
