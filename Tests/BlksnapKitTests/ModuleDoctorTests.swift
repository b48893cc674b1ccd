import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel
import Testing

/// A directory tree in the real file formats of `/sys`, `/proc`, `/dev`, `/lib/modules`,
/// `/var/lib/dkms`, `/boot` and efivars, under a temporary root.
final class HostTree {
    let root: URL
    static let release = "6.1.0-57-amd64"

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("doctor-tree-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try file("/proc/sys/kernel/osrelease", "\(Self.release)\n")
        try file("/lib/modules/\(Self.release)/kernel/drivers/block/loop.ko", "loop")
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    var path: String { root.path }

    func file(_ path: String, _ text: String, mode: Int = 0o644) throws {
        try file(path, bytes: Array(text.utf8), mode: mode)
    }

    func file(_ path: String, bytes: [UInt8], mode: Int = 0o644) throws {
        let url = root.appendingPathComponent(String(path.dropFirst()))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
    }

    func directory(_ path: String) throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent(String(path.dropFirst())), withIntermediateDirectories: true)
    }

    /// A module file: ELF-ish bytes, with the appended-signature trailer when `signed`.
    func module(_ path: String, signed: Bool) throws {
        var bytes = Array("\u{7f}ELF module body".utf8)
        if signed { bytes += [0x30, 0x82, 0x01, 0x00] + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4] + Array(ModuleSignature.magic.utf8) }
        try file(path, bytes: bytes)
    }

    func secureBoot(_ on: Bool) throws {
        try file(PlatformSecurity.secureBootVariable, bytes: [0x06, 0, 0, 0, on ? 1 : 0])
    }

    func hz(_ value: Int) throws {
        try file("/boot/config-\(Self.release)", "#\n# Automatically generated file; DO NOT EDIT.\n# CONFIG_HZ_100 is not set\nCONFIG_HZ_\(value)=y\nCONFIG_HZ=\(value)\n")
    }

    var facts: HostModuleFacts { HostModuleFacts.read(root: path) }
}

@Suite("Module doctor on host trees")
struct ModuleDoctorTests {
    static let noModule = KernelModuleFacts(
        detected: nil, error: ModuleDetectionError(.noModule(lookedFor: ModuleNodes.controlNodes)), nodes: [])

    @Test("nothing installed: not-installed, with the install command, and HZ from /boot/config-RELEASE")
    func noModuleInstalled() throws {
        let tree = try HostTree()
        try tree.hz(250)
        let facts = tree.facts
        #expect(facts.kernelRelease == HostTree.release)
        #expect(facts.loadedModules.isEmpty)
        #expect(facts.installation.files.isEmpty && facts.installation.dkmsBuilds.isEmpty)
        #expect(facts.nodes.map(\.path) == ModuleNodes.allPaths && facts.nodes.allSatisfy { !$0.exists })
        #expect(facts.hz == 250 && facts.hzSource == "/boot/config-\(HostTree.release)")
        let report = ModuleDoctor.diagnose(host: facts, kernel: Self.noModule)
        #expect(!report.usable)
        #expect(report.problems.map(\.code) == ["headers-missing", "not-installed"])
        #expect(report.problems.map(\.fix) == ["apt-get install linux-headers-$(uname -r)", "apt-get install blksnap"])
        #expect(report.problems.last?.message.contains("simulator") == true)
        try tree.directory("/lib/modules/\(HostTree.release)/build")
        #expect(ModuleDoctor.diagnose(host: tree.facts, kernel: Self.noModule).problems.map(\.code) == ["not-installed"])
        #expect(report.detectionErrno == "ENOENT")
        #expect(report.hz == 250)
    }

    @Test("installed but not loaded: the modprobe that loads it; signatures read from the file ends")
    func installedNotLoaded() throws {
        let tree = try HostTree()
        try tree.secureBoot(false)
        try tree.module("/lib/modules/\(HostTree.release)/updates/dkms/veeamblksnap.ko", signed: false)
        try tree.module("/lib/modules/\(HostTree.release)/updates/dkms/bdevfilter.ko", signed: true)
        let facts = tree.facts
        let files = facts.installation.files
        #expect(files.map(\.moduleName) == ["bdevfilter", "veeamblksnap"])
        #expect(files.map(\.signed) == [true, false])
        #expect(facts.security.secureBoot == false && !facts.security.rejectsUnsignedModules)
        let report = ModuleDoctor.diagnose(host: facts, kernel: Self.noModule)
        #expect(report.problems.map(\.code) == ["not-loaded"])
        #expect(report.problems.first?.fix == "modprobe bdevfilter && modprobe veeamblksnap")
        #expect(report.problems.first?.message.contains("updates/dkms/veeamblksnap.ko") == true)

        // v5's blksnap.ko alone: modprobe blksnap.
        let v5 = try HostTree()
        try v5.module("/lib/modules/\(HostTree.release)/kernel/drivers/block/blksnap/blksnap.ko", signed: true)
        #expect(ModuleDoctor.diagnose(host: v5.facts, kernel: Self.noModule).problems.first?.fix == "modprobe blksnap")
    }

    @Test("DKMS built for another kernel: headers first, then dkms autoinstall for this one")
    func dkmsBuiltForAnotherKernel() throws {
        let tree = try HostTree()
        let base = "/var/lib/dkms/blksnap/6.3.1.1"
        try tree.directory("\(base)/source")
        try tree.module("\(base)/6.1.0-50-amd64/x86_64/module/veeamblksnap.ko", signed: false)
        try tree.module("\(base)/6.1.0-50-amd64/x86_64/module/bdevfilter.ko", signed: false)
        let facts = tree.facts
        #expect(facts.installation.dkmsBuilds == [ModuleInstallation.DKMSBuild(
            package: "blksnap", version: "6.3.1.1", kernelRelease: "6.1.0-50-amd64", modules: ["bdevfilter", "veeamblksnap"])])
        #expect(facts.installation.builtForOtherKernels == ["6.1.0-50-amd64"])
        #expect(facts.installation.headersInstalled == false)
        let report = ModuleDoctor.diagnose(host: facts, kernel: Self.noModule)
        #expect(report.problems.map(\.code) == ["headers-missing", "dkms-other-kernel"])
        #expect(report.problems.map(\.fix) == ["apt-get install linux-headers-$(uname -r)", "dkms autoinstall -k $(uname -r)"])
        #expect(report.problems[1].message.contains("6.1.0-50-amd64"))

        try tree.directory("/lib/modules/\(HostTree.release)/build")
        #expect(ModuleDoctor.diagnose(host: tree.facts, kernel: Self.noModule).problems.map(\.code) == ["dkms-other-kernel"])
    }

    @Test("VAL-7.0 loaded: nodes and modes from the tree, taint OE, VERSION from the kernel")
    func val7Loaded() throws {
        let tree = try HostTree()
        try tree.hz(250)
        try tree.file("/sys/module/veeamblksnap/taint", "OE\n")
        try tree.file("/sys/module/bdevfilter/taint", "OE\n")
        try tree.file("/dev/veeamblksnap", "", mode: 0o600)
        try tree.file("/dev/bdevfilter", "", mode: 0o600)
        try tree.directory("/sys/class/misc/bdevfilter")
        let facts = tree.facts
        #expect(facts.loadedModules == ["veeamblksnap", "bdevfilter"])
        #expect(facts.taint == ["veeamblksnap": "OE", "bdevfilter": "OE"])
        let control = try #require(facts.nodes.first { $0.path == "/dev/veeamblksnap" })
        #expect(control.exists && control.mode == "0600" && control.kind == "regular file")
        #expect(facts.abiSuggestedByNodes == .val7)

        // Only the files: loaded, but not asked — so not usable.
        let filesOnly = ModuleDoctor.diagnose(host: facts, kernel: nil)
        #expect(!filesOnly.usable)
        #expect(filesOnly.finding("loaded")?.message.contains("VAL-7.0") == true)

        // With what the module answers.
        let kernel = IdentityKernel(.val7, nodes: ["/dev/veeamblksnap", "/dev/bdevfilter"], version: (7, 0, 0, 0))
        let report = ModuleDoctor.diagnose(host: facts, kernel: KernelModuleFacts.read(kernel: kernel))
        #expect(report.usable)
        #expect(report.module?.abi == .val7 && report.module?.modification?.name == "standalone")
        #expect(report.problems.isEmpty)
        #expect(report.finding("loaded")?.message == "VAL-7.0 module veeamblksnap 7.0.0.0 (standalone (flags 0x2)) answers on /dev/veeamblksnap")
        #expect(report.finding("taint")?.message.contains("O out-of-tree, E unsigned") == true)
        #expect(report.hz == 250)

        // VAL-7.0 without /dev/bdevfilter cannot track: a problem.
        let noFilter = IdentityKernel(.val7, nodes: ["/dev/veeamblksnap"], version: (7, 0, 0, 0))
        let broken = ModuleDoctor.diagnose(host: facts, kernel: KernelModuleFacts.read(kernel: noFilter))
        #expect(!broken.usable && broken.problems.map(\.code) == ["node-missing"])
    }

    @Test("loaded but its control node is missing: udevadm recreates it")
    func loadedWithoutNode() throws {
        let tree = try HostTree()
        try tree.directory("/sys/module/veeamblksnap")
        try tree.directory("/sys/module/bdevfilter")
        let report = ModuleDoctor.diagnose(host: tree.facts, kernel: Self.noModule)
        #expect(report.problems.map(\.code) == ["node-missing"])
        #expect(report.problems.first?.message.contains("/dev/veeamblksnap") == true)
        #expect(report.problems.first?.fix == "udevadm trigger --action=add")
    }

    @Test("Secure Boot on and an unsigned module: Key was rejected by service, fixed by enrolling DKMS's key")
    func secureBootUnsigned() throws {
        let tree = try HostTree()
        try tree.secureBoot(true)
        try tree.file(PlatformSecurity.lockdownFile, "none [integrity] confidentiality\n")
        try tree.module("/lib/modules/\(HostTree.release)/updates/dkms/veeamblksnap.ko", signed: false)
        try tree.module("/lib/modules/\(HostTree.release)/updates/dkms/bdevfilter.ko", signed: false)
        let facts = tree.facts
        #expect(facts.security == PlatformSecurity(secureBoot: true, lockdown: "integrity", signatureEnforced: nil))
        let report = ModuleDoctor.diagnose(host: facts, kernel: Self.noModule)
        #expect(report.problems.map(\.code) == ["unsigned-module", "not-loaded"])
        let unsigned = report.problems[0]
        #expect(unsigned.fix == "mokutil --import /var/lib/dkms/mok.pub")
        #expect(unsigned.message.contains("Key was rejected by service"))
        #expect(unsigned.message.contains("Secure Boot on, lockdown integrity"))

        // Signed modules under Secure Boot: only the modprobe is left.
        let signed = try HostTree()
        try signed.secureBoot(true)
        try signed.module("/lib/modules/\(HostTree.release)/updates/dkms/veeamblksnap.ko", signed: true)
        #expect(ModuleDoctor.diagnose(host: signed.facts, kernel: Self.noModule).problems.map(\.code) == ["not-loaded"])
    }

    @Test("HZ from /boot/config-RELEASE, from /proc/config.gz, or unknown with a warning")
    func kernelHZ() throws {
        let tree = try HostTree()
        #expect(KernelHZ.current(root: tree.path) == nil)
        let report = ModuleDoctor.diagnose(host: tree.facts, kernel: Self.noModule)
        #expect(report.hz == nil && report.finding("hz-unknown")?.severity == .warning)

        try tree.hz(300)
        #expect(KernelHZ.current(root: tree.path) == 300)
        #expect(KernelHZ.lookup(root: tree.path)?.source == "/boot/config-\(HostTree.release)")
        #expect(KernelHZ.current(root: tree.path, kernelRelease: "6.1.0-1-amd64") == nil)
        #expect(ModuleDoctor.diagnose(host: tree.facts, kernel: Self.noModule).finding("hz-unknown") == nil)

        #expect(KernelHZ.parse(config: "# CONFIG_HZ_1000 is not set\nCONFIG_HZ_1000=y\nCONFIG_HZ=1000\n") == 1000)
        #expect(KernelHZ.parse(config: "CONFIG_HZ_PERIODIC=y\n") == nil)

        // /proc/config.gz, made with the system's gzip.
        let gz = try HostTree()
        try gz.file("/proc/config", "CONFIG_HZ=100\n")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -n \"$0\"", gz.root.appendingPathComponent("proc/config").path]
        try gzip.run()
        gzip.waitUntilExit()
        try #require(gzip.terminationStatus == 0, "gzip is needed for this test")
        #expect(KernelHZ.lookup(root: gz.path)?.hz == 100)
        #expect(KernelHZ.lookup(root: gz.path)?.source == "/proc/config.gz")
    }

    @Test("lockdown's bracketed mode and module signature trailers")
    func securityParsing() throws {
        #expect(PlatformSecurity.activeLockdown("[none] integrity confidentiality") == "none")
        #expect(PlatformSecurity.activeLockdown("none integrity [confidentiality]\n") == "confidentiality")
        #expect(PlatformSecurity.activeLockdown("none") == nil)
        #expect(PlatformSecurity(secureBoot: nil, lockdown: "none", signatureEnforced: true).rejectsUnsignedModules)
        #expect(!PlatformSecurity(secureBoot: false, lockdown: "none", signatureEnforced: false).rejectsUnsignedModules)

        let tree = try HostTree()
        try tree.module("/m/signed.ko", signed: true)
        try tree.module("/m/plain.ko", signed: false)
        try tree.file("/m/packed.ko.xz", "xz")
        #expect(ModuleSignature.isSigned("/m/signed.ko", root: tree.path) == true)
        #expect(ModuleSignature.isSigned("/m/plain.ko", root: tree.path) == false)
        #expect(ModuleSignature.isSigned("/m/packed.ko.xz", root: tree.path) == nil)
        #expect(ModuleSignature.isSigned("/m/missing.ko", root: tree.path) == nil)
    }

    @Test("the simulator's report: v5, its nodes from the simulator's namespace, no host facts")
    func simulatorReport() throws {
        let report = ModuleDoctor.diagnose(host: nil, kernel: KernelModuleFacts.read(kernel: SimKernel().kernelInterface))
        #expect(report.usable)
        #expect(report.module?.abi == .v5)
        #expect(report.host == nil)
        let control = try #require(report.nodes.first { $0.path == "/dev/blksnap-control" })
        #expect(control.exists && control.kind == "character device" && control.mode == "0600")
        #expect(report.nodes.filter(\.exists).count == 1)
    }
}
