#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import SimKernel
import BlksnapSimulator

/// Where the scenarios run: a kernel interface, the paths of the three devices of the
/// fixed layout, and how long to let the module's asynchronous store worker settle.
public struct ConformanceBackend: Sendable {
    /// `kernel` or `sim`, for messages.
    public var name: String
    /// The module's user API: which driver the scenarios use, which areas run.
    public var abi: BlksnapABI = .v5
    /// The syscall boundary every scenario goes through.
    public var kernel: any KernelInterface
    /// Paths of the originals `ORIG0`, `ORIG1` and of the storage device `STORE`.
    public var orig0: String
    /// See ``orig0``.
    public var orig1: String
    /// See ``orig0``.
    public var store: String
    /// WAIT_EVENT timeout (jiffies) used to let the store worker finish before an
    /// observation; 0 when the backend stores synchronously (SimKernel).
    public var settleTicks: UInt32
    /// Extra `open(2)` flags for data I/O: `O_DIRECT` on the kernel, so that COW happens
    /// at the write and reads bypass the page cache.
    public var dataOpenFlags: Int32
    /// Changes a module parameter at run time (`/sys/module/blksnap/parameters/NAME` on
    /// the kernel, the live parameters of SimKernel); false when that failed.
    public var setParameter: @Sendable (String, UInt32) -> Bool

    /// The fixed layout: two originals of 32 MiB and a storage device of 128 MiB, all
    /// with 512-byte logical blocks.
    public static let originalBytes: UInt64 = 32 << 20
    /// See ``originalBytes``.
    public static let storageBytes: UInt64 = 128 << 20

    /// The module parameters the lane boots with (and gives the simulator).
    public static let laneParameters: [String: UInt32] = [
        "chunk_minimum_shift": 16, "diff_storage_minimum": 8192,
    ]

    /// The real module through `ioctl(2)` on the given loop devices.
    ///
    /// Checks `/sys/module/blksnap/parameters/NAME` against `parameters` first.
    /// - Throws: ``ConformanceError`` naming a parameter that differs or cannot be read.
    public static func kernel(orig0: String, orig1: String, store: String, parameters: [String: UInt32],
                              settleTicks: UInt32 = 50, abi: BlksnapABI = .v5) throws(ConformanceError) -> ConformanceBackend {
        let parameterDirectory = "/sys/module/\(moduleName(abi))/parameters/"
        for (name, expected) in parameters.sorted(by: { $0.key < $1.key }) {
            let path = parameterDirectory + name
            guard let text = readSmallFile(path),
                  let value = UInt32(text.filter { !$0.isWhitespace }) else {
                throw ConformanceError("cannot read \(path)")
            }
            if value != expected {
                throw ConformanceError("module parameter \(name) is \(value), expected \(expected)")
            }
        }
        return ConformanceBackend(name: "kernel", abi: abi, kernel: LinuxKernel(), orig0: orig0, orig1: orig1, store: store,
                                  settleTicks: settleTicks, dataOpenFlags: directIO,
                                  setParameter: { name, value in
                                      writeSmallFile(parameterDirectory + name, "\(value)\n")
                                  })
    }

    /// The module's name under `/sys/module`: `blksnap` (v5), `veeamblksnap` (Veeam's).
    static func moduleName(_ abi: BlksnapABI) -> String { abi == .v5 ? "blksnap" : "veeamblksnap" }

    /// SimKernel in process with the same parameters and devices of the same sizes.
    ///
    /// - Throws: ``ConformanceError`` for an unknown parameter name.
    public static func simulator(parameters: [String: UInt32], abi: BlksnapABI = .v5) throws(ConformanceError) -> ConformanceBackend {
        let dialect: SimDialect
        switch abi {
        case .v5: dialect = .v5
        case .val7: dialect = .val7
        case .val6: dialect = .val6
        }
        var params = Params()
        for (name, value) in parameters where !params.set(name, to: value) {
            throw ConformanceError("unknown module parameter \(name)")
        }
        let sim = SimKernel(params: params, dialect: dialect)
        do {
            for (name, bytes) in [("orig0", originalBytes), ("orig1", originalBytes), ("store", storageBytes)] {
                // Loop devices: 512-byte logical and physical blocks, io_min 512.
                _ = try sim.addDevice(name: name, capacitySectors: bytes / 512, logicalBlockSize: 512,
                                      physicalBlockSize: 512, ioMin: 512)
            }
        } catch {
            throw ConformanceError("cannot create the simulated devices: errno \(error.code)")
        }
        return ConformanceBackend(name: "sim", abi: abi, kernel: SimKernelBackend(sim), orig0: "/dev/orig0",
                                  orig1: "/dev/orig1", store: "/dev/store", settleTicks: 0, dataOpenFlags: 0,
                                  setParameter: { name, value in sim.setParameter(name, to: value) })
    }

    /// `O_DIRECT` (glibc declares it only under `_GNU_SOURCE`).
    #if arch(arm64)
    static let directIO: Int32 = 0o200000
    #else
    static let directIO: Int32 = 0o40000
    #endif

    private static func writeSmallFile(_ path: String, _ text: String) -> Bool {
        let fd = Glibc.open(path, O_WRONLY)
        guard fd >= 0 else { return false }
        defer { _ = Glibc.close(fd) }
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 256)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        return String(decoding: bytes[0..<n], as: UTF8.self)
    }
}

/// A conformance run that could not start or continue (not a difference between backends).
public struct ConformanceError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public var description: String

    /// Creates an error with a message.
    public init(_ description: String) { self.description = description }
}
