/// Explains why blksnap can or cannot be used on this machine, and how to fix it.
///
/// Two kinds of facts, gathered apart so each can be tested on its own:
/// - ``HostModuleFacts``: files below ``root`` (`/sys/module`, `/dev`, `/lib/modules`,
///   `/var/lib/dkms`, efivars, lockdown, `/boot/config-*`), no ioctl;
/// - ``KernelModuleFacts``: what a ``KernelInterface`` answers (``ModuleDetection``).
///
/// ``diagnose(host:kernel:)`` turns them into a ``DoctorReport`` without touching
/// anything. Its fixes are shell commands (`modprobe …`, `dkms autoinstall …`,
/// `apt-get install …`, `mokutil --import …`); where no module can be had, the report
/// says so and a caller can offer the simulator.
public struct ModuleDoctor: Sendable {
    /// The directory the host's files are read under (`/` on a real machine).
    public var root: String

    /// DKMS's signing key on Debian and Ubuntu, which `mokutil --import` enrols.
    public static let dkmsSigningKey = "/var/lib/dkms/mok.pub"

    /// A doctor reading the host's files below `root`.
    public init(root: String = "/") {
        self.root = root
    }

    /// The facts from the host's files.
    public func hostFacts() -> HostModuleFacts {
        HostModuleFacts.read(root: root)
    }

    /// The whole report for the host: its files and what `kernel` answers.
    public func examine(kernel: any KernelInterface = LinuxKernel(), override: BlksnapABI? = nil) -> DoctorReport {
        Self.diagnose(host: hostFacts(), kernel: KernelModuleFacts.read(kernel: kernel, override: override))
    }

    /// The report for a set of facts. `host` nil: only the kernel's (a simulator);
    /// `kernel` nil: only the files (nothing was asked, so nothing is usable).
    public static func diagnose(host: HostModuleFacts?, kernel: KernelModuleFacts?) -> DoctorReport {
        var findings: [DoctorFinding] = []
        if let module = kernel?.detected {
            findings += loadedFindings(module)
        } else if let host {
            findings += absentFindings(host, error: kernel?.error, asked: kernel != nil)
        } else if let error = kernel?.error {
            findings.append(DoctorFinding(.problem, "detection-failed", error.description))
        }
        if let host {
            for (name, letters) in host.taint.sorted(by: { $0.key < $1.key }) {
                findings.append(DoctorFinding(.note, "taint", "\(name) taints the kernel '\(letters)' (\(HostModuleFacts.taintMeaning(letters)))"))
            }
            if host.hz == nil {
                findings.append(DoctorFinding(.warning, "hz-unknown",
                                              "the kernel's HZ is unknown (no /boot/config-\(host.kernelRelease ?? "RELEASE"), no /proc/config.gz): "
                                                  + "WAIT_EVENT timeouts are jiffies and cannot be converted exactly"))
            }
        }
        findings.sort { rank($0.severity) < rank($1.severity) }
        let usable = kernel?.detected != nil && !findings.contains { $0.severity == .problem }
        return DoctorReport(usable: usable, module: kernel?.detected, detectionError: kernel?.error?.description,
                            detectionErrno: kernel?.error?.errnoName, nodes: host?.nodes ?? kernel?.nodes ?? [],
                            host: host, hz: host?.hz, hzSource: host?.hzSource, findings: findings)
    }

    static func rank(_ severity: DoctorFinding.Severity) -> Int {
        switch severity {
        case .problem: return 0
        case .warning: return 1
        case .note: return 2
        }
    }

    /// A module answered.
    static func loadedFindings(_ module: DetectedModule) -> [DoctorFinding] {
        var findings = [DoctorFinding(.note, "loaded", "\(module.abi.displayName) module \(module.moduleName) \(module.version)"
                                        + (module.modification.map { " (\($0))" } ?? "") + " answers on \(module.controlPath)")]
        if module.abi == .val7 && module.filterPath == nil {
            findings.append(DoctorFinding(.problem, "node-missing",
                                          "\(ModuleNodes.bdevfilter) is missing: VAL-7.0 cannot attach trackers without it",
                                          fix: "udevadm trigger --action=add --subsystem-match=misc"))
        }
        return findings
    }

    /// No module answered: say why, from the files.
    static func absentFindings(_ host: HostModuleFacts, error: ModuleDetectionError?, asked: Bool) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let release = host.kernelRelease ?? "the running kernel"
        let loaded = host.loadedModules.filter { $0 != "bdevfilter" }
        let controls = ModuleNodes.controlNodes.filter(host.nodeExists)

        if !loaded.isEmpty {
            let names = loaded.joined(separator: ", ")
            if controls.isEmpty {
                let expected = loaded.contains("veeamblksnap") ? ModuleNodes.veeamControl : "\(ModuleNodes.v5Control) or \(ModuleNodes.legacyVeeamControl)"
                findings.append(DoctorFinding(.problem, "node-missing", "module \(names) is loaded but its control node \(expected) is missing",
                                              fix: "udevadm trigger --action=add"))
            } else if let error {
                findings.append(errorFinding(error))
            } else if !asked {
                let suggested = host.abiSuggestedByNodes.map { " (the nodes suggest \($0.displayName))" } ?? ""
                findings.append(DoctorFinding(.note, "loaded", "module \(names) is loaded\(suggested); its version was not asked"))
            }
            return findings
        }

        if !controls.isEmpty {
            findings.append(DoctorFinding(.warning, "stale-node", "\(controls.joined(separator: ", ")) exists but no blksnap module is loaded behind it"))
        }
        let installation = host.installation
        let veeam = installation.veeamInstalled
        let installed = installation.files.filter { veeam ? $0.moduleName != "blksnap" : $0.moduleName == "blksnap" }
        if !installed.isEmpty {
            let unsigned = installed.filter { $0.signed == false }
            if !unsigned.isEmpty && host.security.rejectsUnsignedModules {
                findings.append(DoctorFinding(
                    .problem, "unsigned-module",
                    "\(unsigned.map(\.path).joined(separator: ", ")) has no signature and this kernel only loads signed modules"
                        + " (\(enforcement(host.security))): modprobe fails with \"Key was rejected by service\";"
                        + " enrol DKMS's key (then reboot, confirm in MokManager, and rebuild so DKMS signs the modules)",
                    fix: "mokutil --import \(dkmsSigningKey)"))
            }
            let name = veeam ? "veeamblksnap" : "blksnap"
            let path = installed.first { $0.moduleName == name }?.path ?? installed[0].path
            findings.append(DoctorFinding(.problem, "not-loaded", "\(name) is installed for \(release) (\(path)) but not loaded",
                                          fix: ModuleDetectionError.loadCommand(for: veeam ? .val7 : .v5)))
            return findings
        }

        if !installation.dkmsBuilds.isEmpty || !installation.dkmsPackages.isEmpty {
            if installation.headersInstalled == false {
                findings.append(DoctorFinding(.problem, "headers-missing",
                                              "the kernel headers for \(release) are missing (no /lib/modules/\(release)/build): DKMS cannot build the modules",
                                              fix: "apt-get install linux-headers-$(uname -r)"))
            }
            if installation.builtForRunningKernel, let build = installation.dkmsBuilds.first(where: { $0.kernelRelease == release }) {
                findings.append(DoctorFinding(.problem, "dkms-not-installed",
                                              "DKMS built \(build.package)/\(build.version) for \(release) but did not install it",
                                              fix: "dkms install \(build.package)/\(build.version) -k $(uname -r)"))
            } else {
                let others = installation.builtForOtherKernels
                let packages = Set(installation.dkmsBuilds.map { "\($0.package)/\($0.version)" } + installation.dkmsPackages).sorted()
                let built = others.isEmpty ? "for no kernel" : "for another kernel (\(others.joined(separator: ", ")))"
                findings.append(DoctorFinding(.problem, "dkms-other-kernel",
                                              "DKMS has \(packages.joined(separator: ", ")) built \(built), not for the running kernel \(release)",
                                              fix: "dkms autoinstall -k $(uname -r)"))
            }
            return findings
        }

        if installation.headersInstalled == false {
            findings.append(DoctorFinding(.problem, "headers-missing",
                                          "the kernel headers for \(release) are missing (no /lib/modules/\(release)/build): DKMS cannot build the modules",
                                          fix: "apt-get install linux-headers-$(uname -r)"))
        }
        findings.append(DoctorFinding(
            .problem, "not-installed",
            "no blksnap module is installed for \(release) (no veeamblksnap.ko or blksnap.ko under /lib/modules/\(release), "
                + "no DKMS build under /var/lib/dkms): install Veeam's blksnap DKMS package (Veeam's repository), "
                + "boot a kernel with the v5 blksnap series, or use the simulator",
            fix: "apt-get install blksnap"))
        return findings
    }

    /// A module is loaded and has nodes, but detection failed.
    static func errorFinding(_ error: ModuleDetectionError) -> DoctorFinding {
        if let call = error.underlying, call.errno == .permissionDenied || call.errno == .notPermitted {
            return DoctorFinding(.problem, "not-root", "\(call.devicePath ?? "the control node") is root-only: run as root (\(error.errnoName))")
        }
        return DoctorFinding(.problem, "detection-failed", error.description)
    }

    /// `Secure Boot on, lockdown integrity`.
    static func enforcement(_ security: PlatformSecurity) -> String {
        var parts: [String] = []
        if security.secureBoot == true { parts.append("Secure Boot on") }
        if let lockdown = security.lockdown, lockdown != "none" { parts.append("lockdown \(lockdown)") }
        if security.signatureEnforced == true { parts.append("module.sig_enforce=1") }
        return parts.joined(separator: ", ")
    }
}
