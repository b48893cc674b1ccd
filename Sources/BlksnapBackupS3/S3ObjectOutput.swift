import BlksnapBackup
import BlksnapObjectStore

/// An object of a bucket written as an upload in parts (``S3MultipartWriter``), as a
/// ``BackupFileOutput``: only the first part and a few parts in flight are held in memory,
/// whatever the file's size; the object appears only when ``finish()`` completes the upload.
final class S3ObjectOutput: BackupFileOutput {
    let writer: S3MultipartWriter
    /// The file's name in the repository (the object is written under its final key).
    let name: String
    let resource: String

    init(writer: S3MultipartWriter, name: String, resource: String) {
        self.writer = writer
        self.name = name
        self.resource = resource
    }

    /// Parts already sent cannot be written again.
    var acceptsWritesAnywhere: Bool { false }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(BackupError) {
        do {
            try writer.write(bytes, at: offset)
        } catch {
            throw BackupError.s3("uploading \(bytes.count) bytes at byte \(offset) of \(resource)", error)
        }
    }

    func finish() throws(BackupError) {
        do {
            _ = try writer.finish()
        } catch {
            throw BackupError.s3("completing the upload of \(resource)", error)
        }
    }

    func discard() {
        writer.abort()
    }
}
