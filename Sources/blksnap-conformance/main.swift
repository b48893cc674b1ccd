#if canImport(Glibc)
import Glibc
#endif
import BlksnapConformance
import BlksnapKit

// blksnap-conformance --backend kernel|sim [--abi v5|val7|val6] [--param NAME=VALUE]... [--orig0 PATH --orig1 PATH --store PATH]
//                     [--seed N] [--steps N] [--settle-ticks N] [--area NAME]... [--counts]
// Prints the normalized transcript on stdout; with --counts, the lines per area on stderr.

/// Writes a line to standard error.
func printError(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String, status: Int32 = 64) -> Never {
    printError("blksnap-conformance: \(message)")
    exit(status)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var backendName = ""
var parameters: [String: UInt32] = [:]
var paths: [String: String] = [:]
var seed: UInt64 = 20261202
var steps = 1000
var settleTicks: UInt32 = 50
var areas: [String] = []
var counts = false
var abi = BlksnapABI.v5
@MainActor func value(_ option: String) -> String {
    guard !arguments.isEmpty else { fail("\(option) needs a value") }
    return arguments.removeFirst()
}
while !arguments.isEmpty {
    let option = arguments.removeFirst()
    switch option {
    case "--backend": backendName = value(option)
    case "--param":
        let text = value(option)
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let number = UInt32(parts[1]) else { fail("--param wants NAME=VALUE, got \(text)") }
        parameters[String(parts[0])] = number
    case "--orig0", "--orig1", "--store": paths[String(option.dropFirst(2))] = value(option)
    case "--seed": seed = UInt64(value(option)) ?? { fail("--seed wants a number") }()
    case "--steps": steps = Int(value(option)) ?? { fail("--steps wants a number") }()
    case "--settle-ticks":
        settleTicks = UInt32(value(option)) ?? { fail("--settle-ticks wants a number") }()
        if settleTicks >= 1 << 31 { fail("--settle-ticks must stay below 2^31 (spec §12.1 item 10)") }
    case "--area": areas.append(value(option))
    case "--counts": counts = true
    case "--abi":
        let text = value(option)
        guard let parsed = BlksnapABI(rawValue: text) else { fail("--abi wants v5, val7 or val6, got \(text)") }
        abi = parsed
    default: fail("unknown argument \(option)")
    }
}
if parameters.isEmpty { parameters = ConformanceBackend.laneParameters }
for area in areas where !ConformanceRunner.areas.contains(area) {
    fail("unknown area \(area); areas: \(ConformanceRunner.areas.joined(separator: " "))")
}

let backend: ConformanceBackend
do {
    switch backendName {
    case "kernel":
        guard let orig0 = paths["orig0"], let orig1 = paths["orig1"], let store = paths["store"] else {
            fail("--backend kernel needs --orig0, --orig1 and --store")
        }
        backend = try ConformanceBackend.kernel(orig0: orig0, orig1: orig1, store: store, parameters: parameters,
                                                settleTicks: settleTicks, abi: abi)
    case "sim":
        backend = try ConformanceBackend.simulator(parameters: parameters, abi: abi)
    default:
        fail("--backend must be kernel or sim")
    }
} catch {
    fail(error.description, status: 1)
}

let runner = ConformanceRunner(backend: backend, parameters: parameters, seed: seed, steps: steps,
                               selected: areas.isEmpty ? ConformanceRunner.areas(for: abi) : areas)
do {
    let transcript = try runner.run { print($0) }
    if counts {
        for (area, lines) in transcript.countsByArea { printError("\(area) \(lines)") }
        printError("total \(transcript.lines.count)")
    }
} catch {
    fail(error.description, status: 1)
}
