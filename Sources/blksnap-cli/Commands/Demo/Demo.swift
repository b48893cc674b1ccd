import ArgumentParser
import BlksnapKit
import Foundation

/// `blksnapctl demo`: a complete snapshot scenario on an in-process simulator.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a complete snapshot scenario on an in-process simulator and verify it.",
        discussion: """
            Creates two file-backed simulated disks and a storage disk in a temporary \
            directory, attaches trackers, creates a snapshot with both disks, appends \
            storage, takes it, overwrites the disks, and verifies through the snapshot \
            images (pread of /dev/blksnap-image_MAJ:MIN) that they still hold the old data. \
            Then shows the CBT changes and the events, destroys the snapshot, takes an \
            incremental second one to show the overwritten blocks, and cleans up. Needs no \
            module and no root. Exits 1 if any check fails. --abi val7 runs it on a simulated \
            Veeam VAL-7.0 module (/dev/veeamblksnap, /dev/bdevfilter, images \
            /dev/veeamblksnapimg_MAJ:MIN), --abi val6 on a simulated Veeam VAL-6.3.1 module \
            (/dev/veeamblksnap, both disks named at create, images /dev/veeamblksnapimgMINOR); \
            the default is v5.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Keep the temporary directory with the disk files.")
    var keepFiles = false

    func validate() throws {
        if global.simSocket != nil {
            throw ValidationError("demo always runs its own in-process simulator: drop --sim")
        }
    }

    func run() throws {
        let report = DemoReport(narrate: !global.json)
        let scenario = DemoScenario(report: report, dialect: try SimServe.dialect(global.resolvedABI()))
        let outcome = Result { () throws(CommandFailure) in try scenario.run() }
        scenario.cleanUp(keepFiles: keepFiles)
        switch outcome {
        case .success:
            report.result = report.failures.isEmpty ? "pass" : "fail"
        case .failure(let error):
            report.result = "error"
            report.step("Stopped: \(error.message)")
        }
        if global.json { Diagnostics.print(Output.encode(report)) }
        if case .failure(let error) = outcome { throw error }
        if !report.failures.isEmpty {
            throw CommandFailure("demo FAILED: \(report.failures.count) check(s) failed: "
                + report.failures.map { "\($0.name) (expected \($0.expected), got \($0.actual))" }.joined(separator: "; "))
        }
        if !global.json { Diagnostics.print("PASS: all \(report.checks.count) checks passed.") }
    }
}
