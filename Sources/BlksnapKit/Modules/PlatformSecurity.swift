/// What decides whether the kernel accepts an unsigned module: UEFI Secure Boot, the
/// kernel lockdown mode and `module.sig_enforce`.
///
/// Under Secure Boot, distribution kernels lock down (`integrity`) and load only modules
/// signed by a trusted key: `modprobe` of an unsigned out-of-tree module then fails with
/// "Key was rejected by service" (`EKEYREJECTED`). Without enforcement an unsigned module
/// loads and taints the kernel `O` (out of tree) and `E` (unsigned).
public struct PlatformSecurity: Hashable, Sendable, Encodable {
    /// True when Secure Boot is on, false when off, nil when the machine did not boot
    /// through UEFI or efivarfs is not mounted.
    public var secureBoot: Bool?
    /// The active lockdown mode (`none`, `integrity`, `confidentiality`), nil when the
    /// kernel has no lockdown LSM.
    public var lockdown: String?
    /// `module.sig_enforce` (`/sys/module/module/parameters/sig_enforce`), nil when absent.
    public var signatureEnforced: Bool?

    /// The EFI variable holding the Secure Boot state: 4 attribute bytes, then the value byte.
    public static let secureBootVariable = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
    /// The lockdown state file; the active mode is the bracketed one (`none [integrity] confidentiality`).
    public static let lockdownFile = "/sys/kernel/security/lockdown"
    /// The module parameter saying whether signatures are enforced (`Y`/`N`).
    public static let signatureEnforcementFile = "/sys/module/module/parameters/sig_enforce"

    /// Creates a value.
    public init(secureBoot: Bool?, lockdown: String?, signatureEnforced: Bool?) {
        self.secureBoot = secureBoot
        self.lockdown = lockdown
        self.signatureEnforced = signatureEnforced
    }

    /// Reads the three facts under `root` (`/` on a real machine).
    public static func read(root: String = "/") -> PlatformSecurity {
        let files = HostFiles(root: root)
        var secureBoot: Bool?
        if let bytes = files.bytes(secureBootVariable), bytes.count >= 5 {
            secureBoot = bytes[4] == 1
        }
        let lockdown = files.text(lockdownFile).flatMap(activeLockdown)
        let enforced = files.text(signatureEnforcementFile).map { $0 == "Y" || $0 == "1" }
        return PlatformSecurity(secureBoot: secureBoot, lockdown: lockdown, signatureEnforced: enforced)
    }

    /// The bracketed word of a lockdown file's text, or nil.
    public static func activeLockdown(_ text: String) -> String? {
        guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else { return nil }
        return String(text[text.index(after: open)..<close])
    }

    /// True when the kernel refuses unsigned modules: Secure Boot on, lockdown other than
    /// `none`, or `sig_enforce` set.
    public var rejectsUnsignedModules: Bool {
        secureBoot == true || (lockdown.map { $0 != "none" } ?? false) || signatureEnforced == true
    }
}
