/// What a Veeam module's MOD request reports: which "modification" (build variant) of the
/// module is loaded.
///
/// Both VAL-6.x and VAL-7.0 as Veeam ships them report flags `0x2` and the name
/// `standalone` (`veeam-field-modules.md` §1.1, §2.1). v5 has no such request.
public struct ModuleModification: Hashable, Sendable, Encodable, CustomStringConvertible {
    /// `compatibility_flags`: bit 0 `debug_sector_state`, bit 1 `setlog`.
    public var compatibilityFlags: UInt64
    /// `name`: the build variant, e.g. `standalone`.
    public var name: String

    /// Creates a modification value.
    public init(compatibilityFlags: UInt64, name: String) {
        self.compatibilityFlags = compatibilityFlags
        self.name = name
    }

    /// Decodes the 40 bytes of `struct blk_snap_mod` / `struct blksnap_mod`:
    /// `u64 compatibility_flags` at 0 (host byte order), `u8 name[32]` at 8 (NUL-padded;
    /// a name of exactly 32 bytes has no NUL).
    public init?(argumentBytes bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        guard array.count >= ModuleIdentityRequest.modificationArgumentBytes else { return nil }
        var flags: UInt64 = 0
        withUnsafeMutableBytes(of: &flags) { target in
            for index in 0..<8 { target[index] = array[index] }
        }
        let nameBytes = array[8..<40].prefix { $0 != 0 }
        self.init(compatibilityFlags: flags, name: String(decoding: nameBytes, as: UTF8.self))
    }

    /// True when the module has the SETLOG request (flag bit 1).
    public var hasSetLog: Bool { compatibilityFlags & 0x2 != 0 }

    /// `standalone (flags 0x2)`.
    public var description: String {
        "\(name.isEmpty ? "unnamed" : name) (flags 0x\(String(compatibilityFlags, radix: 16)))"
    }
}
