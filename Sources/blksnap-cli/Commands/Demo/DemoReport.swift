/// What `blksnapctl demo` did and found: narrated as it goes in text mode, printed as
/// one JSON document with `--json`.
final class DemoReport: Encodable {
    /// One narrated step.
    struct Step: Encodable {
        var number: Int
        var text: String
    }

    /// One verification: expected against actual, both as text.
    struct Check: Encodable {
        var name: String
        var expected: String
        var actual: String
        var passed: Bool
    }

    /// The changed blocks a CBT read reported, with what the demo expected.
    struct CBTChanges: Encodable {
        var device: String
        var info: CBTInfoReport
        var since: UInt8
        var changedRanges: [SectorRangeReport]
    }

    /// A simulated device used by the demo.
    struct Device: Encodable {
        var role: String
        var path: String
        var device: String
        var capacityBytes: UInt64
        var backingFile: String
    }

    var result = "running"
    var workDirectory = ""
    var moduleVersion = ""
    /// The ABI the simulator spoke (`v5`, `val7`).
    var abi = ""
    var parameters: [String: UInt32] = [:]
    var devices: [Device] = []
    var snapshots: [String] = []
    var steps: [Step] = []
    var checks: [Check] = []
    var events: [EventReport] = []
    var cbt: [CBTChanges] = []

    private let narrate: Bool
    /// Detail and check lines of the step in progress, printed under its sentence.
    private var pending: [String] = []

    init(narrate: Bool) { self.narrate = narrate }

    private enum CodingKeys: String, CodingKey {
        case result, workDirectory, moduleVersion, abi, parameters, devices, snapshots, steps, checks, events, cbt
    }

    /// Records a finished step and, in text mode, prints its sentence and then the
    /// details and checks gathered while it ran.
    func step(_ text: String) {
        steps.append(Step(number: steps.count + 1, text: text))
        if narrate {
            Diagnostics.print("\(steps.count). \(text)")
            for line in pending { Diagnostics.print("     \(line)") }
        }
        pending.removeAll()
    }

    /// A detail line of the step in progress (text mode only).
    func detail(_ text: String) {
        pending.append(text)
    }

    /// Records a check and prints `ok`/`FAIL`.
    @discardableResult
    func check(_ name: String, expected: String, actual: String) -> Bool {
        let passed = expected == actual
        checks.append(Check(name: name, expected: expected, actual: actual, passed: passed))
        pending.append(passed ? "ok: \(name)" : "FAIL: \(name): expected \(expected), got \(actual)")
        return passed
    }

    /// The checks that failed.
    var failures: [Check] { checks.filter { !$0.passed } }
}
