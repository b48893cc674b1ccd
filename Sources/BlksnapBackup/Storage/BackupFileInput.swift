/// A file of a repository read at random offsets: a file of the host, or an object read
/// with ranged GETs. ``QCOW2Reader`` reads through it.
public protocol BackupFileInput: AnyObject {
    /// The file's full name for messages (its path or URL).
    var name: String { get }
    /// The file's size in bytes.
    var size: UInt64 { get }
    /// Fills `buffer` from `offset`; fewer bytes only at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BackupError) -> Int
}

extension BackupFileInput {
    /// Reads exactly `count` bytes at `offset`; a file that ends before is a truncated one.
    func readExactly(_ count: Int, at offset: UInt64, what: String) throws(BackupError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let result = bytes.withUnsafeMutableBytes { raw in Result { () throws(BackupError) in try read(into: raw, at: offset) } }
        let n = try result.get()
        guard n == count else {
            throw BackupError(.corrupted, "\(name): \(what) at byte \(offset) is cut short (file ends after \(n) of \(count) bytes): the file is truncated; restore it from a copy or take a new full backup")
        }
        return bytes
    }
}
