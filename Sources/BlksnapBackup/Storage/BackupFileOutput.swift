/// A new file of a repository being written: a temporary file of the host, or an upload in
/// parts. ``QCOW2Writer`` writes through it. Nothing written is part of the repository
/// until the storage's ``BackupStorage/publish(_:as:)``.
public protocol BackupFileOutput: AnyObject {
    /// What to pass to ``BackupStorage/publish(_:as:)`` (the temporary name).
    var name: String { get }
    /// Whether a write may go anywhere at any time (a file of the host), or only inside the
    /// first part or at or after the part being written (an upload in parts): a writer that
    /// would fill earlier gaps asks this first.
    var acceptsWritesAnywhere: Bool { get }
    /// Writes all of `bytes` at `offset` (see ``acceptsWritesAnywhere``).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BackupError)
    /// Makes everything written durable (`fsync`; the upload completed); no write follows.
    func finish() throws(BackupError)
    /// Deletes what was written, or abandons the upload; safe to call more than once, and
    /// after ``finish()``.
    func discard()
}

extension BackupFileOutput {
    /// Writes `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: UInt64) throws(BackupError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(BackupError) in try write(raw, at: offset) } }
        try result.get()
    }
}
