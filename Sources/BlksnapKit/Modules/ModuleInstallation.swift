/// Where the blksnap modules are installed on the host: module files for the running
/// kernel under `/lib/modules/RELEASE/` (the distribution's tree, `updates/` and
/// `updates/dkms/`), and what DKMS has built under `/var/lib/dkms/PACKAGE/VERSION/RELEASE/ARCH/module/`.
public struct ModuleInstallation: Hashable, Sendable, Encodable {
    /// A module file found for the running kernel.
    public struct ModuleFile: Hashable, Sendable, Encodable {
        /// The module's name (`veeamblksnap`, `bdevfilter`, `blksnap`).
        public var moduleName: String
        /// The file as a host path.
        public var path: String
        /// Whether it ends with an appended signature (see ``ModuleSignature/isSigned(_:root:)``).
        public var signed: Bool?

        /// Creates a record.
        public init(moduleName: String, path: String, signed: Bool?) {
            self.moduleName = moduleName
            self.path = path
            self.signed = signed
        }
    }

    /// One DKMS build of a package for one kernel.
    public struct DKMSBuild: Hashable, Sendable, Encodable {
        /// The DKMS package (`blksnap` for Veeam's modules).
        public var package: String
        /// The package version.
        public var version: String
        /// The kernel release it was built for.
        public var kernelRelease: String
        /// The module names built (`bdevfilter`, `veeamblksnap`).
        public var modules: [String]

        /// Creates a record.
        public init(package: String, version: String, kernelRelease: String, modules: [String]) {
            self.package = package
            self.version = version
            self.kernelRelease = kernelRelease
            self.modules = modules
        }
    }

    /// The module file names looked for (and their compressed forms).
    public static let moduleNames = ["veeamblksnap", "bdevfilter", "blksnap"]
    static let suffixes = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]

    /// The running kernel's release, nil when unknown.
    public var kernelRelease: String?
    /// The blksnap module files under `/lib/modules/RELEASE/`.
    public var files: [ModuleFile]
    /// Every DKMS build containing one of the blksnap modules, for any kernel.
    public var dkmsBuilds: [DKMSBuild]
    /// DKMS packages (`NAME/VERSION`) that have a registered source tree and build blksnap
    /// modules for some kernel, or are named `blksnap`.
    public var dkmsPackages: [String]
    /// True when `/lib/modules/RELEASE/build` (the kernel headers DKMS needs) exists.
    public var headersInstalled: Bool?

    /// Reads the installation facts under `root` (`/` on a real machine).
    ///
    /// - Parameters:
    ///   - root: the directory the host's files are read under (`/` on a real machine).
    ///   - kernelRelease: by default ``KernelRelease/current(root:)``.
    public static func read(root: String = "/", kernelRelease: String? = nil) -> ModuleInstallation {
        let files = HostFiles(root: root)
        let release = kernelRelease ?? KernelRelease.current(root: root)
        var found: [ModuleFile] = []
        var headers: Bool?
        if let release {
            let names = Set(moduleNames.flatMap { name in suffixes.map { name + $0 } })
            for path in files.find(named: names, under: "/lib/modules/\(release)") {
                guard let name = moduleName(ofFile: path) else { continue }
                found.append(ModuleFile(moduleName: name, path: path, signed: ModuleSignature.isSigned(path, root: root)))
            }
            headers = files.exists("/lib/modules/\(release)/build")
        }

        var builds: [DKMSBuild] = []
        var packages: [String] = []
        let dkms = "/var/lib/dkms"
        for package in files.list(dkms) where files.isDirectory("\(dkms)/\(package)") {
            for version in files.list("\(dkms)/\(package)") where !version.hasPrefix("kernel-") && version != "original_module" {
                let versionPath = "\(dkms)/\(package)/\(version)"
                guard files.isDirectory(versionPath) else { continue }
                var buildsHere = false
                for kernel in files.list(versionPath) where kernel != "source" && kernel != "build" {
                    for arch in files.list("\(versionPath)/\(kernel)") {
                        let modules = files.list("\(versionPath)/\(kernel)/\(arch)/module").compactMap(moduleName(ofFile:))
                        if !modules.isEmpty {
                            builds.append(DKMSBuild(package: package, version: version, kernelRelease: kernel, modules: modules.sorted()))
                            buildsHere = true
                        }
                    }
                }
                if files.exists("\(versionPath)/source") && (buildsHere || package == "blksnap") {
                    packages.append("\(package)/\(version)")
                }
            }
        }
        return ModuleInstallation(kernelRelease: release, files: found, dkmsBuilds: builds, dkmsPackages: packages,
                                  headersInstalled: headers)
    }

    /// `veeamblksnap` for `…/veeamblksnap.ko.xz`, nil for other files.
    static func moduleName(ofFile path: String) -> String? {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        for name in moduleNames where suffixes.contains(where: { file == name + $0 }) { return name }
        return nil
    }

    /// True when Veeam's modules (`veeamblksnap`, or VAL-6.0's `blksnap` next to `bdevfilter`)
    /// are installed for the running kernel.
    public var veeamInstalled: Bool { files.contains { $0.moduleName == "veeamblksnap" } }
    /// True when a `blksnap.ko` is installed for the running kernel (v5, or VAL-6.0's).
    public var blksnapInstalled: Bool { files.contains { $0.moduleName == "blksnap" } }
    /// Kernel releases other than the running one that DKMS built the modules for.
    public var builtForOtherKernels: [String] {
        Array(Set(dkmsBuilds.map(\.kernelRelease)).subtracting([kernelRelease].compactMap { $0 })).sorted()
    }
    /// True when DKMS built the modules for the running kernel.
    public var builtForRunningKernel: Bool {
        guard let kernelRelease else { return false }
        return dkmsBuilds.contains { $0.kernelRelease == kernelRelease }
    }
}
