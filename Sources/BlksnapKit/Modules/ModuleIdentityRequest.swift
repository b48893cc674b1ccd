/// The requests that identify a loaded blksnap module without changing anything in it.
///
/// They are sent raw, before any driver is chosen, so they must be safe on every ABI
/// (`veeam-field-modules.md` §4.1). v5 and VAL-6.x dispatch on `_IOC_NR` alone, so a
/// request number meant for another ABI runs whatever that nr means there: only nr 0
/// (VERSION) is probed on a module of unknown ABI, and MOD (nr 32) only once VERSION has
/// named a Veeam module (on v5 nr 32 is out of range and answers `ENOTTY`; it is never sent there).
public enum ModuleIdentityRequest {
    /// VERSION: `_IOR('V', 0, 8)` = `0x80085600`, the argument `{u16 major, minor, revision, build}`.
    ///
    /// The one number all three ABIs answer: v5 (declared `_IOW`, 0x40085600) and VAL-6.x
    /// ignore the direction and size bits; VAL-7.0 matches the full number and answers
    /// `0x40085600` with `ENOTTY`. Major 2 is v5, 1 is VAL-6.x, 7 is VAL-7.0.
    public static let version: UInt = 0x8008_5600

    /// VAL-6.x's MOD: `_IOW('V', 32, 40)` = `0x40285620` (`IOCTL_BLK_SNAP_MOD`), the argument
    /// `{u64 compatibility_flags; u8 name[32]}`, written by the module.
    public static let modificationVAL6: UInt = 0x4028_5620

    /// VAL-7.0's MOD: `_IOR('V', 32, 40)` = `0x80285620` (`IOCTL_BLKSNAP_MOD`), the argument
    /// `{u64 compatibility_flags; u8 name[32]}`, written by the module.
    public static let modificationVAL7: UInt = 0x8028_5620

    /// The MOD request of `abi`, or nil for v5, which has none.
    public static func modification(for abi: BlksnapABI) -> UInt? {
        switch abi {
        case .v5: return nil
        case .val6: return modificationVAL6
        case .val7: return modificationVAL7
        }
    }

    /// Size in bytes of the VERSION argument (four `u16`).
    public static let versionArgumentBytes = 8
    /// Size in bytes of the MOD argument (`u64` flags and a 32-byte name).
    public static let modificationArgumentBytes = 40
}
