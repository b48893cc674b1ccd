import BlksnapBackup
import BlksnapObjectStore

/// An object of a bucket read with ranged GETs (``S3RangedReader``'s blocks and cache), as a
/// ``BackupFileInput``: the qcow2 reader, and so restore, serve and verify, read points
/// straight from the bucket.
final class S3ObjectInput: BackupFileInput {
    let reader: S3RangedReader
    let name: String

    init(reader: S3RangedReader, name: String) {
        self.reader = reader
        self.name = name
    }

    var size: UInt64 { reader.size }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BackupError) -> Int {
        do {
            return try reader.read(into: buffer, at: offset)
        } catch {
            throw BackupError.s3("reading \(buffer.count) bytes at byte \(offset) of \(name)", error)
        }
    }
}
