@testable import blksnap_cli
import BlksnapKit
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Running `blksnapctl doctor` and `version` as a user would.
enum DoctorCLI {
    /// The blksnapctl built next to this test binary (any scratch path), else the default build's.
    static var binary: URL? {
        let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("blksnapctl")
        if FileManager.default.isExecutableFile(atPath: sibling.path) { return sibling }
        return CLITestSupport.binary
    }

    static var available: Bool { binary != nil || CLITestSupport.isCI }

    /// True when no blksnap module of any generation is present on this machine.
    static var noModuleHere: Bool {
        (ModuleNodes.controlNodes + ["/sys/module/blksnap", "/sys/module/veeamblksnap"]).allSatisfy { access($0, F_OK) != 0 }
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CLITestSupport.Outcome {
        let binary = try #require(binary, "blksnapctl is not built")
        return try CLITestSupport.runProgram(binary, arguments, environment: environment)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// `blksnapctl sim serve` in the background for the life of the value.
    final class Simulator {
        let process = Process()
        let directory: URL
        let socket: String

        init() throws {
            directory = try CLITestSupport.temporaryDirectory()
            socket = directory.appendingPathComponent("sim.sock").path
            let binary: URL = try #require(DoctorCLI.binary, "blksnapctl is not built")
            process.executableURL = binary
            process.arguments = ["sim", "serve", "--root", directory.appendingPathComponent("state").path, "--socket", socket]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(30)
            while access(socket, F_OK) != 0 && Date() < deadline && process.isRunning { usleep(20_000) }
            try #require(access(socket, F_OK) == 0, "sim serve did not start")
        }

        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(at: directory)
        }
    }
}

@Suite("doctor and version on the command line")
struct DoctorCLITests {
    @Test("doctor, --abi and BLKSNAPCTL_ABI parse; an unknown ABI is a usage error")
    func parsing() throws {
        let doctor = try #require(try BlksnapCtl.parseAsRoot(["doctor", "--json", "--abi", "val7"]) as? DoctorCommand)
        #expect(doctor.global.json && doctor.global.abi?.abi == .val7)
        #expect(try doctor.global.resolvedABI() == .val7)
        let version = try #require(try BlksnapCtl.parseAsRoot(["version", "--abi", "VAL6"]) as? VersionCommand)
        #expect(version.global.abi?.abi == .val6)
        #expect {
            _ = try BlksnapCtl.parseAsRoot(["doctor", "--abi", "v6"])
        } throws: { error in
            BlksnapCtl.exitCode(for: error) == .validationFailure
        }
        #expect(ABIArgument.names == ["v5", "val6", "val7"])
    }

    @Test("the text report of a machine without a module names each fix and the simulator")
    func textWithoutModule() {
        let report = DoctorReport(
            usable: false, backend: "kernel", module: nil,
            detectionError: ModuleDetectionError(.noModule(lookedFor: ModuleNodes.controlNodes)).description, detectionErrno: "ENOENT",
            nodes: ModuleNodes.allPaths.map { ModuleNodeFact(path: $0, mode: nil, deviceNumber: nil) }, host: nil, hz: 250,
            hzSource: "/boot/config-6.1.0-57-amd64",
            findings: [DoctorFinding(.problem, "dkms-other-kernel", "DKMS has blksnap/6.3.1.1 built for another kernel", fix: "dkms autoinstall -k $(uname -r)")])
        let text = DoctorCommand.text(report, simulated: false).joined(separator: "\n")
        for words in ["module:     none usable", "/dev/veeamblksnap", "missing", "1. DKMS has blksnap/6.3.1.1",
                      "fix: dkms autoinstall -k $(uname -r)", "HZ:         250 (/boot/config-6.1.0-57-amd64)",
                      "no usable blksnap module (exit 69)", "blksnapctl sim serve --root DIR", "--sim DIR/blksnapctl.sock", "blksnapctl demo"] {
            #expect(text.contains(words), "lacks \(words):\n\(text)")
        }
        #expect(!DoctorCommand.text(report, simulated: true).joined().contains("sim serve"))
    }

    @Test("doctor on this machine (no module): exit 69, the reasons, and how to use the simulator",
          .enabled(if: DoctorCLI.available && DoctorCLI.noModuleHere, "needs the built blksnapctl and a machine without any blksnap module"))
    func doctorWithoutModule() throws {
        let outcome = try DoctorCLI.run(["doctor"])
        #expect(outcome.status == 69, "\(outcome.stdout)\(outcome.stderr)")
        #expect(outcome.stderr.isEmpty)
        for words in ["blksnap doctor (kernel", "module:     none usable", "no blksnap module is loaded", "problems:", "fix: ",
                      "result:     no usable blksnap module (exit 69)", "blksnapctl sim serve --root DIR", "--sim", "blksnapctl demo"] {
            #expect(outcome.stdout.contains(words), "lacks \(words):\n\(outcome.stdout)")
        }

        let json = try DoctorCLI.run(["doctor", "--json"])
        #expect(json.status == 69)
        #expect(json.stdout.split(separator: "\n").count == 1, "one JSON document")
        let document = try DoctorCLI.json(json.stdout)
        #expect(document["usable"] as? Bool == false)
        #expect(document["backend"] as? String == "kernel")
        #expect(document["detection_errno"] as? String == "ENOENT")
        let findings = try #require(document["findings"] as? [[String: Any]])
        let problem = try #require(findings.first)
        #expect(problem["severity"] as? String == "problem" && problem["fix"] is String)
        #expect(document["host"] is [String: Any] && document["nodes"] is [[String: Any]])
    }

    @Test("doctor --root on a tree with the modules installed but not loaded prints the modprobe",
          .enabled(if: DoctorCLI.available && DoctorCLI.noModuleHere, "needs the built blksnapctl and a machine without any blksnap module"))
    func doctorOnTree() throws {
        let root = try CLITestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let release = "6.1.0-57-amd64"
        for (path, text) in [("proc/sys/kernel/osrelease", release), ("lib/modules/\(release)/updates/dkms/veeamblksnap.ko", "ko"),
                             ("lib/modules/\(release)/updates/dkms/bdevfilter.ko", "ko"), ("boot/config-\(release)", "CONFIG_HZ=250\n")] {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        let outcome = try DoctorCLI.run(["doctor", "--root", root.path])
        #expect(outcome.status == 69)
        #expect(outcome.stdout.contains("veeamblksnap is installed for \(release)"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("fix: modprobe bdevfilter && modprobe veeamblksnap"))
        #expect(outcome.stdout.contains("(unsigned)"))
    }

    @Test("version and doctor against the simulator: v5; --abi val7 is refused with what was found",
          .enabled(if: DoctorCLI.available, "blksnapctl is not built"))
    func againstSimulator() throws {
        let sim = try DoctorCLI.Simulator()
        let version = try DoctorCLI.run(["version", "--sim", sim.socket])
        #expect(version.status == 0)
        #expect(version.stdout == "blksnap 2.0.0.0 (v5, blksnap; simulator \(sim.socket))\n")
        let versionJSON = try DoctorCLI.json(try DoctorCLI.run(["--sim", sim.socket, "--json", "version"]).stdout)
        #expect(versionJSON["abi"] as? String == "v5" && versionJSON["module"] as? String == "blksnap")
        #expect(versionJSON["version"] as? String == "2.0.0.0")

        let doctor = try DoctorCLI.run(["doctor", "--sim", sim.socket])
        #expect(doctor.status == 0, "\(doctor.stdout)\(doctor.stderr)")
        for words in ["blksnap doctor (simulator \(sim.socket))", "module:     v5 blksnap 2.0.0.0 on /dev/blksnap-control",
                      "images /dev/blksnap-image_MAJ:MIN", "character device 0600", "HZ:         250 (the simulator's hz parameter)",
                      "result:     usable"] {
            #expect(doctor.stdout.contains(words), "lacks \(words):\n\(doctor.stdout)")
        }
        let doctorJSON = try DoctorCLI.json(try DoctorCLI.run(["doctor", "--sim", sim.socket, "--json"]).stdout)
        #expect(doctorJSON["usable"] as? Bool == true)
        #expect((doctorJSON["module"] as? [String: Any])?["abi"] as? String == "v5")
        #expect(doctorJSON["host"] == nil)

        let wrong = try DoctorCLI.run(["version", "--sim", sim.socket, "--abi", "val7"])
        #expect(wrong.status == 69)
        #expect(wrong.stdout.isEmpty && wrong.stderr.split(separator: "\n").count == 1)
        #expect(wrong.stderr.contains("VAL-7.0") && wrong.stderr.contains("found /dev/blksnap-control instead"), "\(wrong.stderr)")
        let wrongDoctor = try DoctorCLI.run(["doctor", "--sim", sim.socket], environment: ["BLKSNAPCTL_ABI": "val6"])
        #expect(wrongDoctor.status == 69 && wrongDoctor.stdout.contains("VAL-6.x"))
        let bogus = try DoctorCLI.run(["doctor", "--sim", sim.socket], environment: ["BLKSNAPCTL_ABI": "v9"])
        #expect(bogus.status == 64 && bogus.stderr.contains("BLKSNAPCTL_ABI='v9'"))
    }
}
