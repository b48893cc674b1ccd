#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel
import SimWire
import Testing

/// The products as adopters link them: `blksnap-kit-only` (Tests/Fixtures/KitOnly)
/// imports BlksnapKit alone; `blksnap-example-backup` (Examples/BackupToFile) uses
/// BlksnapSimulator too. Both are built with the tests, next to the test binary.
@Suite("products")
struct ProductSplitTests {
    /// The build's product directory: where this test binary is.
    static var binDirectory: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    /// Runs a program; returns its exit status and standard output.
    static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("a program importing only BlksnapKit runs and carries no simulator or service-lifecycle symbol")
    func kitOnlyHasNoSimulator() throws {
        let binary = Self.binDirectory.appendingPathComponent("blksnap-kit-only").path
        #expect(FileManager.default.isExecutableFile(atPath: binary), "built by swift build --build-tests")
        let ran = try Self.run(binary, ["/nonexistent/blksnap-control"])
        #expect(ran.status == 0)
        #expect(ran.output == "no blksnap: moduleUnavailable\n")
        let symbols = try Self.run("/usr/bin/nm", [binary])
        #expect(symbols.status == 0)
        let lines = symbols.output.split(separator: "\n")
        #expect(lines.contains { $0.contains("10BlksnapKit7Control") }, "nm sees BlksnapKit's own symbols")
        let simulator = lines.filter { $0.contains("9SimKernel") || $0.contains("16BlksnapSimulator") || $0.contains("SimClient") }
        #expect(simulator.isEmpty, "simulator symbols in a BlksnapKit-only binary: \(simulator.prefix(5))")
        // SessionService is in BlksnapServiceLifecycle: the kit alone links neither
        // swift-service-lifecycle nor the swift-async-algorithms it brings.
        let lifecycle = lines.filter { $0.contains("16ServiceLifecycle") || $0.contains("15AsyncAlgorithms") }
        #expect(lifecycle.isEmpty, "service-lifecycle symbols in a BlksnapKit-only binary: \(lifecycle.prefix(5))")
        let size = (try FileManager.default.attributesOfItem(atPath: binary)[.size] as? NSNumber)?.intValue ?? 0
        print("blksnap-kit-only: \(size) bytes, \(lines.count) symbols")
    }

    @Test("the Examples backup tool copies a point-in-time image over a simulator socket and leaves nothing behind")
    func exampleBackupToFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("blksnap-example-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let kernel = SimKernel()
        let device = try kernel.addDevice(name: "vda", capacitySectors: 8192).path
        let storage = try kernel.addDevice(name: "store", capacitySectors: 1 << 18).path
        let backend = SimKernelBackend(kernel)
        let pattern = (0..<(8192 * 512)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let fd = try backend.open(device, flags: O_RDWR)
        _ = try pattern.withUnsafeBytes { try backend.pwrite(fd, from: $0, at: 0) }
        try backend.close(fd)
        let socket = directory.appendingPathComponent("sim.sock").path
        let server = try SimServer(kernel: kernel, socketPath: socket, rootDirectory: directory.appendingPathComponent("root").path)
        server.start()
        defer { server.stop() }
        let output = directory.appendingPathComponent("vda.img").path
        let binary = Self.binDirectory.appendingPathComponent("blksnap-example-backup").path
        let ran = try Self.run(binary, [device, output, "--storage", storage, "--sim", socket])
        #expect(ran.status == 0)
        #expect(ran.output == "copied \(pattern.count) bytes\n")
        #expect(FileManager.default.contents(atPath: output) == Data(pattern))
        #expect(kernel.snapshotIDs.isEmpty)
        #expect(kernel.listDevices().filter(\.isImage).isEmpty)
    }
}
