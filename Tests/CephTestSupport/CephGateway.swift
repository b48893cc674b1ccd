import BlksnapObjectStore
import Foundation
import Testing

/// A single-node Ceph with its S3 gateway, started by `scripts/ceph.sh` in a temporary
/// directory for the suites that carry the ``Trait/cephGateway`` trait, and stopped after them.
///
/// Without the Ceph binaries those suites are skipped (the trait's condition says why), except
/// under `CI=true`, where they run and fail: CI installs the packages (`.ci/run`), so a missing
/// binary there is a broken set-up, not a reason to test less. The ports are drawn at random
/// (and drawn again if taken), so concurrent test runs on one machine do not collide.
package final class CephGateway: Sendable {
    /// The cluster's directory (configuration, logs, pids).
    package let directory: String
    /// The `AWS_*` variables `scripts/ceph.sh start` printed.
    package let environment: [String: String]
    /// The configuration of a client of the gateway, from ``environment``.
    package let configuration: S3Configuration
    /// The gateway's port.
    package let port: Int

    /// The gateway of the running suite.
    @TaskLocal package static var current: CephGateway?

    /// The repository's root, from this file's path (Tests/CephTestSupport/CephGateway.swift).
    package static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The programs `scripts/ceph.sh` runs that are not on this machine.
    package static let missingBinaries: [String] = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "monmaptool"]
        .filter { which($0) == nil }

    /// Whether the gateway suites run: the binaries are here, or CI wants the failure.
    package static let shouldRun = missingBinaries.isEmpty || ProcessInfo.processInfo.environment["CI"] == "true"

    /// The skip message when they do not run.
    package static let skipReason: Comment =
        "Ceph binaries missing (\(missingBinaries.joined(separator: ", "))): install ceph-mon ceph-osd radosgw ceph-common (scripts/install-deps.sh as root) to run the S3 gateway tests; under CI=true they fail instead"

    /// `name`'s path on `PATH`, as `scripts/ceph.sh` will look it up.
    package static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private init(directory: String, environment: [String: String], port: Int) throws {
        self.directory = directory
        self.environment = environment
        self.port = port
        var env = environment
        env["HOME"] = directory  // no operator's ~/.aws in the way
        self.configuration = try S3Configuration.fromEnvironment(env)
    }

    /// Starts a cluster; throws with `scripts/ceph.sh`'s own message when it cannot.
    package static func start() async throws -> CephGateway {
        if !missingBinaries.isEmpty {
            throw GatewayError(
                message: "CI=true and the Ceph binaries are missing (\(missingBinaries.joined(separator: ", "))): .ci/run installs ceph-mon ceph-osd radosgw ceph-common; check its apt step")
        }
        var lastFailure = ""
        for _ in 0..<4 {
            let base = Int.random(in: 20_000...29_000)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("blksnap-ceph-\(UUID().uuidString)").path
            let result = try await runOffPool(
                ["/bin/bash", repositoryRoot + "/scripts/ceph.sh", "start", directory],
                environment: ["CEPH_MON_PORT": "\(base)", "CEPH_MON_V1_PORT": "\(base + 1)", "CEPH_RGW_PORT": "\(base + 2)"])
            if result.status == 0 {
                var environment: [String: String] = [:]
                for line in result.stdout.split(separator: "\n") where line.hasPrefix("export ") {
                    let assignment = line.dropFirst("export ".count)
                    guard let equals = assignment.firstIndex(of: "=") else { continue }
                    environment[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
                }
                print("CephGateway: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
                return try CephGateway(directory: directory, environment: environment, port: base + 2)
            }
            try? FileManager.default.removeItem(atPath: directory)
            lastFailure = result.stderr
            if !lastFailure.contains("is taken") { break }
        }
        throw GatewayError(message: "scripts/ceph.sh start failed: \(lastFailure)")
    }

    /// Stops the cluster and removes its directory (keeping it, with its logs, when `keep`).
    package func stop(keep: Bool = false) async throws {
        let result = try await CephGateway.runOffPool(["/bin/bash", CephGateway.repositoryRoot + "/scripts/ceph.sh", "stop", directory])
        print("CephGateway: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        guard result.status == 0 else { throw GatewayError(message: "scripts/ceph.sh stop failed: \(result.stderr)") }
        if !keep { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// SIGKILLs the gateway's radosgw (`scripts/ceph.sh kill-rgw`): a crash mid-request, no
    /// orderly shutdown. Returns once the process is gone; the monitor and the OSD keep running.
    package func killGateway() async throws {
        try await script("kill-rgw")
    }

    /// Starts radosgw again after ``killGateway()`` (`scripts/ceph.sh start-rgw`), on the
    /// same port with the same configuration; returns once S3 answers.
    package func restartGateway() async throws {
        try await script("start-rgw")
    }

    /// Runs `scripts/ceph.sh COMMAND DIR`, printing its report; throws with its message on failure.
    private func script(_ command: String) async throws {
        let result = try await CephGateway.runOffPool(["/bin/bash", CephGateway.repositoryRoot + "/scripts/ceph.sh", command, directory])
        let report = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if !report.isEmpty { print("CephGateway: \(report)") }
        guard result.status == 0 else { throw GatewayError(message: "scripts/ceph.sh \(command) failed: \(result.stderr)") }
    }

    /// A cluster that could not be started, stopped or changed: `scripts/ceph.sh`'s own message.
    package struct GatewayError: Error, CustomStringConvertible {
        /// What failed and why.
        package var message: String
        /// The message.
        package var description: String { message }
    }

    /// ``run(_:environment:)`` on a thread of its own: waiting for a child must not hold one
    /// of the few threads of Swift's cooperative pool, which the other tests run on.
    package static func runOffPool(_ arguments: [String], environment: [String: String] = [:]) async throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try run(arguments, environment: environment) })
            }.start()
        }
    }

    /// Runs `arguments` with `environment` added to this process's; its status and output.
    /// The output goes through files, not pipes: the daemons `scripts/ceph.sh start` leaves
    /// running must not hold a pipe whose end this process waits for.
    package static func run(_ arguments: [String], environment: [String: String] = [:]) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("blksnap-run-\(UUID().uuidString)")
        let outURL = base.appendingPathExtension("out")
        let errURL = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return (
            process.terminationStatus, String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        )
    }
}

/// Starts the gateway before a suite and stops it after; the suite's tests find it in
/// ``CephGateway/current``.
package struct CephGatewayTrait: SuiteTrait, TestTrait, TestScoping {
    /// Runs `function` with a gateway of its own, stopping the gateway afterwards.
    package func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let gateway = try await CephGateway.start()
        do {
            try await CephGateway.$current.withValue(gateway) { try await function() }
        } catch {
            try? await gateway.stop()
            throw error
        }
        try await gateway.stop()
    }
}

extension Trait where Self == CephGatewayTrait {
    /// A Ceph gateway for the suite (``CephGateway``).
    package static var cephGateway: Self { CephGatewayTrait() }
}
