import BlksnapKit
import BlksnapSimulator
import CBlksnapUAPI
import SimKernel
import Synchronization
import SystemPackage
import Testing

/// A kernel with one of the three modules' identity requests, dispatched the way each
/// module dispatches (`veeam-field-modules.md` §1.3, §2.4, §3.1): v5 and VAL-6.x on
/// `_IOC_NR` alone (v5 has no nr 32), VAL-7.0 on the exact number. Nodes are paths that
/// `stat` finds; `open` of a node can be made to fail.
final class IdentityKernel: KernelInterface {
    enum Dialect: Sendable { case v5, val6, val7 }

    let dialect: Dialect
    let nodes: Set<String>
    let version: (UInt16, UInt16, UInt16, UInt16)
    let openFailures: [String: Errno]
    private let log = Mutex<[UInt]>([])

    init(_ dialect: Dialect, nodes: Set<String>, version: (UInt16, UInt16, UInt16, UInt16),
         openFailures: [String: Errno] = [:]) {
        self.dialect = dialect
        self.nodes = nodes
        self.version = version
        self.openFailures = openFailures
    }

    /// Every request number sent, in order.
    var requests: [UInt] { log.withLock { $0 } }

    func open(_ path: String, flags: Int32) throws(Errno) -> CInt {
        if let failure = openFailures[path] { throw failure }
        guard nodes.contains(path) else { throw .noSuchFileOrDirectory }
        return 3
    }

    func close(_ fd: CInt) throws(Errno) {}

    func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt {
        log.withLock { $0.append(request) }
        let nr = request & 0xff
        let isVersion: Bool
        let isMod: Bool
        switch dialect {
        case .v5: isVersion = nr == 0; isMod = false
        case .val6: isVersion = nr == 0; isMod = nr == 32
        case .val7: isVersion = request == 0x8008_5600; isMod = request == 0x8028_5620
        }
        if isVersion {
            let words = [version.0, version.1, version.2, version.3]
            for (index, word) in words.enumerated() { argument.storeBytes(of: word, toByteOffset: index * 2, as: UInt16.self) }
            return 0
        }
        if isMod {
            argument.storeBytes(of: UInt64(2), as: UInt64.self)
            let name = Array("standalone".utf8) + [UInt8](repeating: 0, count: 22)
            for (index, byte) in name.enumerated() { argument.storeBytes(of: byte, toByteOffset: 8 + index, as: UInt8.self) }
            return 0
        }
        throw .inappropriateIOCTLForDevice
    }

    func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int { 0 }
    func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int { 0 }

    func stat(_ path: String) throws(Errno) -> KernelFileStatus {
        guard nodes.contains(path) else { throw .noSuchFileOrDirectory }
        return KernelFileStatus(mode: 0o020600, deviceNumber: DeviceNumber(major: 10, minor: 123), sizeBytes: 0)
    }
}

/// Counts the requests a real backend receives.
final class CountingKernel: KernelInterface {
    let inner: any KernelInterface
    private let log = Mutex<[UInt]>([])
    init(_ inner: any KernelInterface) { self.inner = inner }
    var requests: [UInt] { log.withLock { $0 } }
    func open(_ path: String, flags: Int32) throws(Errno) -> CInt { try inner.open(path, flags: flags) }
    func close(_ fd: CInt) throws(Errno) { try inner.close(fd) }
    func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt {
        log.withLock { $0.append(request) }
        return try inner.ioctl(fd, request, argument)
    }
    func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        try inner.pread(fd, into: buffer, at: offsetBytes)
    }
    func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        try inner.pwrite(fd, from: buffer, at: offsetBytes)
    }
    func stat(_ path: String) throws(Errno) -> KernelFileStatus { try inner.stat(path) }
}

@Suite("Module detection")
struct ModuleDetectionTests {
    /// The kernel's `_IOC(dir, type, nr, size)` for x86_64 (dir bits 30–31, size 16–29).
    static func ioc(_ direction: UInt, _ type: Character, _ nr: UInt, _ size: UInt) -> UInt {
        (direction << 30) | (size << 16) | (UInt(type.asciiValue!) << 8) | nr
    }
    static let iocWrite: UInt = 1
    static let iocRead: UInt = 2

    @Test("VERSION is _IOR('V', 0, 8) and MOD _IOW/_IOR('V', 32, 40), recomputed")
    func requestNumbers() {
        #expect(ModuleIdentityRequest.version == Self.ioc(Self.iocRead, "V", 0, 8))
        #expect(ModuleIdentityRequest.version == 0x8008_5600)
        #expect(ModuleIdentityRequest.modificationVAL6 == Self.ioc(Self.iocWrite, "V", 32, 40))
        #expect(ModuleIdentityRequest.modificationVAL7 == Self.ioc(Self.iocRead, "V", 32, 40))
        #expect(ModuleIdentityRequest.modification(for: .v5) == nil)
        // v5 declares VERSION _IOW: same nr, other direction bits (v5 dispatches on the nr).
        #expect(UInt(BLKSNAP_REQ_VERSION) & 0xffff == ModuleIdentityRequest.version & 0xffff)
        #expect(UInt(BLKSNAP_REQ_VERSION) != ModuleIdentityRequest.version)
    }

    @Test("VERSION majors map to ABIs: 2 v5, 1 VAL-6.x, 7 VAL-7.0, others none")
    func versionMajorMapping() {
        #expect(BlksnapABI(versionMajor: 2) == .v5)
        #expect(BlksnapABI(versionMajor: 1) == .val6)
        #expect(BlksnapABI(versionMajor: 7) == .val7)
        for major: UInt16 in [0, 3, 5, 6, 8, 0xffff] { #expect(BlksnapABI(versionMajor: major) == nil) }
    }

    @Test("the in-process simulator is detected as v5, asked VERSION (0x80085600) and nothing else")
    func simulatorIsV5() throws {
        let kernel = CountingKernel(SimKernel().kernelInterface)
        let module = try ModuleDetection.detect(kernel: kernel)
        #expect(module.abi == .v5)
        #expect(module.version == .v5)
        #expect(module.controlPath == "/dev/blksnap-control")
        #expect(module.filterPath == nil)
        #expect(module.imageNamePrefix == "blksnap-image_")
        #expect(module.moduleName == "blksnap")
        #expect(module.modification == nil)
        #expect(module.description == "2.0.0.0 (v5, blksnap)")
        #expect(kernel.requests == [0x8008_5600], "no MOD (nr 32) to v5")
        #expect(ModuleDetection.abiSuggestedByNodes(kernel: kernel) == .v5)
        #expect(try ModuleDetection.detect(kernel: kernel, override: .v5) == module)
    }

    @Test("--abi val7 on the v5 simulator: its node is missing, and the error says what was found")
    func overrideWithoutItsNode() throws {
        let kernel = SimKernel().kernelInterface
        let error = try #require(throws: ModuleDetectionError.self) { try ModuleDetection.detect(kernel: kernel, override: .val7) }
        #expect(error.reason == .nodeMissing(requested: .val7, lookedFor: ["/dev/veeamblksnap"], found: ["/dev/blksnap-control"]))
        #expect(error.errno == .operationNotSupportedByDevice)
        #expect(error.category == .moduleUnavailable)
        #expect(error.description.contains("VAL-7.0"))
        #expect(error.description.contains("found /dev/blksnap-control instead"))
        #expect(error.remedy.contains("modprobe bdevfilter && modprobe veeamblksnap"))
    }

    @Test("--abi wins over the nodes, but VERSION must agree: VAL-6.x answering where VAL-7.0 was asked")
    func overrideMismatch() throws {
        let kernel = IdentityKernel(.val6, nodes: ["/dev/veeamblksnap", "/sys/class/veeamblksnap/major"], version: (1, 0, 0, 0))
        let error = try #require(throws: ModuleDetectionError.self) { try ModuleDetection.detect(kernel: kernel, override: .val7) }
        #expect(error.reason == .versionMismatch(expected: .val7, controlPath: "/dev/veeamblksnap",
                                                 version: Version(major: 1, minor: 0, revision: 0, build: 0), foundABI: .val6))
        #expect(error.category == .moduleUnavailable)
        #expect(error.description.contains("answers VERSION 1.0.0.0, which is VAL-6.x"))
        #expect(error.remedy.contains("choose VAL-6.x"))
        // The same kernel without an override is VAL-6.x.
        #expect(try ModuleDetection.detect(kernel: kernel).abi == .val6)
    }

    @Test("VAL-7.0: /dev/veeamblksnap and /dev/bdevfilter, VERSION 7.0.0.0 and MOD standalone on the exact numbers")
    func val7() throws {
        let kernel = IdentityKernel(.val7, nodes: ["/dev/veeamblksnap", "/dev/bdevfilter"], version: (7, 0, 0, 0))
        #expect(ModuleDetection.abiSuggestedByNodes(kernel: kernel) == .val7)
        let module = try ModuleDetection.detect(kernel: kernel)
        #expect(module.abi == .val7)
        #expect(module.version == Version(major: 7, minor: 0, revision: 0, build: 0))
        #expect(module.filterPath == "/dev/bdevfilter")
        #expect(module.imageNamePrefix == "veeamblksnapimg_")
        #expect(module.modification == ModuleModification(compatibilityFlags: 2, name: "standalone"))
        #expect(module.modification?.hasSetLog == true)
        #expect(module.description == "7.0.0.0 (VAL-7.0, veeamblksnap standalone)")
        #expect(kernel.requests == [0x8008_5600, 0x8028_5620])
    }

    @Test("VAL-6.x: the major attribute suggests it, MOD goes out as 0x40285620; VAL-6.0's /dev/blksnap names")
    func val6AndLegacyNames() throws {
        let kernel = IdentityKernel(.val6, nodes: ["/dev/veeamblksnap", "/sys/class/veeamblksnap/major"], version: (1, 0, 0, 0))
        #expect(ModuleDetection.abiSuggestedByNodes(kernel: kernel) == .val6)
        let module = try ModuleDetection.detect(kernel: kernel)
        #expect(module.abi == .val6 && module.filterPath == nil && module.imageNamePrefix == "veeamblksnapimg")
        #expect(module.modification?.name == "standalone")
        #expect(kernel.requests == [0x8008_5600, 0x4028_5620])

        let legacy = IdentityKernel(.val6, nodes: ["/dev/blksnap"], version: (1, 0, 0, 0))
        let old = try ModuleDetection.detect(kernel: legacy, override: .val6)
        #expect(old.controlPath == "/dev/blksnap" && old.moduleName == "blksnap" && old.imageNamePrefix == "blksnap-image")
    }

    @Test("no node: ENOENT, the nodes looked for, and how to load a module — no CLI names")
    func noModule() throws {
        let kernel = IdentityKernel(.v5, nodes: [], version: (2, 0, 0, 0))
        let error = try #require(throws: ModuleDetectionError.self) { try ModuleDetection.detect(kernel: kernel) }
        #expect(error.reason == .noModule(lookedFor: ["/dev/blksnap-control", "/dev/veeamblksnap", "/dev/blksnap"]))
        #expect(error.errno == .noSuchFileOrDirectory && error.errnoName == "ENOENT")
        #expect(error.category == .moduleUnavailable)
        for words in ["/dev/blksnap-control, /dev/veeamblksnap, /dev/blksnap", "modprobe bdevfilter && modprobe veeamblksnap",
                      "modprobe blksnap", "simulator", "(ENOENT)"] {
            #expect(error.description.contains(words), "lacks \(words): \(error)")
        }
        #expect(!error.description.contains("blksnapctl"))
        #expect(!error.description.contains("--"))
        #expect(kernel.requests.isEmpty)
    }

    @Test("a stale v5 node (ENXIO) is skipped for the VAL-7.0 node behind it; EACCES is reported as such")
    func staleNodeAndPermission() throws {
        let stale = IdentityKernel(.val7, nodes: ["/dev/blksnap-control", "/dev/veeamblksnap", "/dev/bdevfilter"], version: (7, 0, 0, 0),
                                   openFailures: ["/dev/blksnap-control": .noSuchAddressOrDevice])
        #expect(try ModuleDetection.detect(kernel: stale).abi == .val7)

        let denied = IdentityKernel(.val7, nodes: ["/dev/veeamblksnap"], version: (7, 0, 0, 0),
                                    openFailures: ["/dev/veeamblksnap": .permissionDenied])
        let error = try #require(throws: ModuleDetectionError.self) { try ModuleDetection.detect(kernel: denied) }
        #expect(error.underlying?.operation == .openControl)
        #expect(error.errno == .permissionDenied && error.category == .refused)
        #expect(error.remedy.contains("root"))
    }

    @Test("an unknown VERSION major and a node that answers no VERSION are errors")
    func unknownAnswers() throws {
        let odd = IdentityKernel(.val6, nodes: ["/dev/veeamblksnap"], version: (3, 1, 0, 0))
        let error = try #require(throws: ModuleDetectionError.self) { try ModuleDetection.detect(kernel: odd) }
        #expect(error.reason == .unknownVersion(controlPath: "/dev/veeamblksnap", version: Version(major: 3, minor: 1, revision: 0, build: 0)))
        #expect(error.category == .moduleUnavailable)

        // A v5 VERSION answer on /dev/veeamblksnap cannot be: that node is VAL-6.x or VAL-7.0.
        let wrong = IdentityKernel(.v5, nodes: ["/dev/veeamblksnap"], version: (2, 0, 0, 0))
        let mismatch = try #require(throws: ModuleDetectionError.self) { try ModuleDetection.detect(kernel: wrong) }
        guard case .versionMismatch(_, _, _, let found) = mismatch.reason else {
            Issue.record("expected a mismatch, got \(mismatch)")
            return
        }
        #expect(found == .v5)
    }

    @Test("MOD's 40 bytes decode to flags and a NUL-padded name")
    func modificationBytes() throws {
        var bytes = [UInt8](repeating: 0, count: 40)
        bytes[0] = 2
        bytes.replaceSubrange(8..<18, with: Array("standalone".utf8))
        #expect(ModuleModification(argumentBytes: bytes) == ModuleModification(compatibilityFlags: 2, name: "standalone"))
        #expect(ModuleModification(argumentBytes: bytes.prefix(39)) == nil)
        let full = [UInt8](repeating: 0, count: 8) + [UInt8](repeating: UInt8(ascii: "x"), count: 32)
        #expect(ModuleModification(argumentBytes: full)?.name.count == 32)
    }
}
