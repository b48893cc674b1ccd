#if canImport(Glibc)
import Glibc
#endif
import BlksnapBench

// blksnap-bench [--json] [--quick] [--dir DIRECTORY] [--repetitions N] [--only GROUPS] [--blksnapctl PATH]
// Measures the COW engine and the control plane against the I/O they cannot avoid
// (issue 6) and prints a table, or one JSON document with --json.

var arguments = Array(CommandLine.arguments.dropFirst())
var json = false
var configuration = BenchConfiguration(quick: arguments.contains("--quick"))

/// Writes `text` to standard error (file descriptor 2).
func printError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func usage() -> Never {
    printError("usage: blksnap-bench [--json] [--quick] [--dir DIRECTORY] [--repetitions N] [--only GROUPS] [--blksnapctl PATH]\n")
    exit(64)
}

while let argument = arguments.first {
    arguments.removeFirst()
    switch argument {
    case "--json": json = true
    case "--quick": break
    case "--dir":
        guard let value = arguments.first else { usage() }
        arguments.removeFirst()
        configuration.baseDirectory = value
    case "--repetitions":
        guard let value = arguments.first, let count = Int(value), count > 0 else { usage() }
        arguments.removeFirst()
        configuration.repetitions = count
    case "--only":
        // Comma-separated figure groups 1-14, for profiling one path.
        guard let value = arguments.first else { usage() }
        arguments.removeFirst()
        let groups = value.split(separator: ",").compactMap { Int($0) }
        guard !groups.isEmpty, groups.allSatisfy({ (1...14).contains($0) }) else { usage() }
        configuration.onlyGroups = Set(groups)
    case "--blksnapctl":
        guard let value = arguments.first else { usage() }
        arguments.removeFirst()
        configuration.cliPath = value
    case "-h", "--help":
        print("usage: blksnap-bench [--json] [--quick] [--dir DIRECTORY] [--repetitions N] [--only GROUPS] [--blksnapctl PATH]")
        exit(0)
    default:
        usage()
    }
}

do {
    let report = try Benchmark.run(configuration) { step in printError("blksnap-bench: \(step)\n") }
    print(json ? report.jsonDocument() : report.table())
} catch {
    printError("blksnap-bench: \(error)\n")
    exit(1)
}
