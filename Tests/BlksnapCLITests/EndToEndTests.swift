import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The built `blksnapctl` run as a subprocess.
@Suite(.serialized, .enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct EndToEndTests {
    @Test func demoPasses() throws {
        let text = try CLITestSupport.run(["demo"])
        #expect(text.status == 0, "demo failed: \(text.stderr)")
        #expect(text.stdout.contains("PASS: all"))
        #expect(!text.stdout.contains("FAIL"))

        let json = try CLITestSupport.run(["demo", "--json"])
        #expect(json.status == 0, "demo --json failed: \(json.stderr)")
        let lines = json.stdout.split(separator: "\n")
        #expect(lines.count == 1, "--json prints one document")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["result"] as? String == "pass")
        let checks = try #require(document["checks"] as? [[String: Any]])
        #expect(checks.count >= 20)
        #expect(checks.allSatisfy { $0["passed"] as? Bool == true })
        let events = try #require(document["events"] as? [[String: Any]])
        #expect(events.first?["event"] as? String == "low_free_space")
        let directory = try #require(document["work_directory"] as? String)
        #expect(!FileManager.default.fileExists(atPath: directory), "demo leaves no files behind")
    }

    @Test("demo --abi val7 runs the same scenario on a simulated VAL-7.0 module; val6 is refused (64)")
    func demoOnVAL7() throws {
        let json = try CLITestSupport.run(["demo", "--abi", "val7", "--json"])
        #expect(json.status == 0, "demo --abi val7 failed: \(json.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["result"] as? String == "pass")
        #expect(document["abi"] as? String == "val7")
        #expect(document["module_version"] as? String == "7.0.0.0")
        let checks = try #require(document["checks"] as? [[String: Any]])
        #expect(checks.count >= 20 && checks.allSatisfy { $0["passed"] as? Bool == true })
        let imageChecks = checks.compactMap { $0["actual"] as? String }.filter { $0.hasPrefix("/dev/veeamblksnapimg_") }
        #expect(imageChecks.count == 4, "the images have VAL-7.0's names: \(imageChecks)")
    }

    @Test("demo --abi val6 passes every check on simulated VAL-6.3.1: devices named at create, images veeamblksnapimgMINOR")
    func demoOnVAL6() throws {
        let json = try CLITestSupport.run(["demo", "--abi", "val6", "--json"])
        #expect(json.status == 0, "demo --abi val6 failed: \(json.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["result"] as? String == "pass")
        #expect(document["abi"] as? String == "val6")
        #expect(document["module_version"] as? String == "1.0.0.0")
        let checks = try #require(document["checks"] as? [[String: Any]])
        #expect(checks.count >= 20 && checks.allSatisfy { $0["passed"] as? Bool == true })
        let imageChecks = checks.compactMap { $0["actual"] as? String }.filter { $0.hasPrefix("/dev/veeamblksnapimg") }
        #expect(Set(imageChecks) == ["/dev/veeamblksnapimg0", "/dev/veeamblksnapimg1"], "VAL-6.x's names: \(imageChecks)")
    }

    @Test(.enabled(if: access("/dev/blksnap-control", F_OK) != 0, "the blksnap module is loaded here"))
    func versionWithoutModuleExits69() throws {
        let outcome = try CLITestSupport.run(["version"])
        #expect(outcome.status == 69)
        #expect(outcome.stdout.isEmpty)
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(outcome.stderr.contains("blksnap module not loaded"))
        #expect(outcome.stderr.contains("/dev/blksnap-control"))
        #expect(outcome.stderr.contains("ENOENT"))
    }

    @Test func usageErrorIsOneLineQuotingTheValue() throws {
        let outcome = try CLITestSupport.run(["cbt", "mark-dirty", "/dev/sdb", "--range", "12x:4"])
        #expect(outcome.status == 64)
        #expect(outcome.stderr.split(separator: "\n").count == 1)
        #expect(outcome.stderr.contains("'12x:4'"))
        let size = try CLITestSupport.run(["sim", "device", "add", "sda", "--size=-5M"])
        #expect(size.status == 64 && size.stderr.contains("'-5M'") && size.stderr.contains("negative"))
    }

    @Test func missingSimulatorExits69() throws {
        let outcome = try CLITestSupport.run(["snapshot", "list", "--sim", "/nonexistent/blksnapctl.sock"])
        #expect(outcome.status == 69)
        #expect(outcome.stderr.contains("/nonexistent/blksnapctl.sock"))
        let fromEnvironment = try CLITestSupport.run(["version"], environment: ["BLKSNAPCTL_SIM": "/nonexistent/s.sock"])
        #expect(fromEnvironment.status == 69 && fromEnvironment.stderr.contains("/nonexistent/s.sock"))
    }
}
