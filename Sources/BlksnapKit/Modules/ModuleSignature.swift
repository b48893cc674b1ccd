/// Whether a kernel module file carries an appended signature, as `modinfo` shows it
/// (`sig_id`, `signer`): a signed `.ko` ends with the magic string
/// `~Module signature appended~\n` after the PKCS#7 blob and its length record.
public enum ModuleSignature {
    /// The bytes a signed module file ends with (`MODULE_SIG_STRING` + newline).
    public static let magic = "~Module signature appended~\n"

    /// True when the file ends with ``magic``, false when it does not, nil when it cannot
    /// be read or is compressed (`.ko.xz`, `.ko.zst`, `.ko.gz`: the signature is inside).
    ///
    /// - Parameters:
    ///   - path: the module file as a host path (e.g. `/lib/modules/6.1.0-57-amd64/updates/dkms/veeamblksnap.ko`).
    ///   - root: the directory host paths are read under (`/` on a real machine).
    public static func isSigned(_ path: String, root: String = "/") -> Bool? {
        guard path.hasSuffix(".ko") else { return nil }
        let expected = Array(magic.utf8)
        guard let tail = HostFiles(root: root).tail(path, count: expected.count) else { return nil }
        return tail == expected
    }
}
