#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import Testing

/// ``SnapshotRecords``: what drivers remember about snapshots, shared through a directory
/// between record values that stand for separate processes.
@Suite("Snapshot records shared between processes")
struct SnapshotRecordsTests {
    private static let id = SnapshotID(rawValue: [UInt8](repeating: 0xa5, count: 16))!

    @Test("lines written by one value are read and extended by another; forget removes the file")
    func sharedLines() throws {
        var template = Array("/tmp/snapshot-records.XXXXXX".utf8CString)
        let root = String(cString: try #require(mkdtemp(&template)))
        let directory = root + "/val7"
        defer {
            unlink(directory + "/\(Self.id).storage-devices")
            rmdir(directory)
            rmdir(root)
        }
        let writer = SnapshotRecords(directory: directory), reader = SnapshotRecords(directory: directory)
        #expect(reader.lines("storage-devices", of: Self.id) == nil)
        writer.update("storage-devices", of: Self.id) { _ in ["7:2"] }
        reader.update("storage-devices", of: Self.id) { ($0 ?? []) + ["8:16"] }
        #expect(writer.lines("storage-devices", of: Self.id) == ["7:2", "8:16"])
        var mode = stat()
        #expect(stat(directory, &mode) == 0 && mode.st_mode & 0o777 == 0o700)
        reader.forget(Self.id, keys: ["storage-devices"])
        #expect(writer.lines("storage-devices", of: Self.id) == nil)
        #expect(access(directory + "/\(Self.id).storage-devices", F_OK) != 0)
    }

    @Test("a directory that cannot be made keeps the records in the process")
    func fallback() {
        let records = SnapshotRecords(directory: "/dev/null/blksnap")
        records.update("storage-sectors", of: Self.id) { _ in ["0"] }
        #expect(records.lines("storage-sectors", of: Self.id) == ["0"])
        #expect(SnapshotRecords(directory: "/dev/null/blksnap").lines("storage-sectors", of: Self.id) == nil)
        let held = records.tryLock("x")
        #expect(held != nil)
        #expect(records.tryLock("x") == nil)
        if let held { records.release(held) }
        #expect(records.tryLock("x") != nil)
    }
}
