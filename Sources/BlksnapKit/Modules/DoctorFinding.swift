/// One thing ``ModuleDoctor`` found: a problem that keeps blksnap from working (with the
/// one command that fixes it), a warning, or a note.
public struct DoctorFinding: Hashable, Sendable, Encodable {
    /// How serious a finding is.
    public enum Severity: String, Hashable, Sendable, Encodable {
        /// blksnap cannot be used until this is fixed.
        case problem
        /// blksnap works, but something is off.
        case warning
        /// A plain fact worth knowing.
        case note
    }

    /// How serious it is.
    public var severity: Severity
    /// A stable identifier: `not-installed`, `not-loaded`, `dkms-other-kernel`,
    /// `dkms-not-installed`, `headers-missing`, `unsigned-module`, `node-missing`,
    /// `stale-node`, `not-root`, `detection-failed`, `loaded`, `taint`, `hz-unknown`.
    public var code: String
    /// What was found, in a sentence.
    public var message: String
    /// The one shell command that fixes it, if there is one.
    public var fix: String?

    /// Creates a finding.
    public init(_ severity: Severity, _ code: String, _ message: String, fix: String? = nil) {
        self.severity = severity
        self.code = code
        self.message = message
        self.fix = fix
    }
}
