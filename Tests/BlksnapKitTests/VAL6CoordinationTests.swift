#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
@testable import BlksnapVAL6
import Testing

/// The host-wide state of the VAL-6.x guards: two coordination values over one directory
/// stand for two processes (each has its own in-process state; `flock` on separate opens
/// conflicts as between processes).
@Suite("VAL-6.x guard state shared between processes")
struct VAL6CoordinationTests {
    private static func snapshotID(_ last: UInt8) -> SnapshotID {
        SnapshotID(rawValue: [UInt8](repeating: 0x5a, count: 15) + [last])!
    }

    private func withDirectory(_ body: (String) throws -> Void) throws {
        var template = Array("/tmp/val6-coordination.XXXXXX".utf8CString)
        let made = try #require(mkdtemp(&template))
        let root = String(cString: made)
        defer {
            if let entries = opendir(root + "/val6") {
                while let entry = readdir(entries) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if name != "." && name != ".." { unlink(root + "/val6/" + name) }
                }
                closedir(entries)
            }
            rmdir(root + "/val6")
            rmdir(root)
        }
        try body(root + "/val6")
    }

    @Test("a second waiter on one snapshot is refused in another process, and admitted once the first ends")
    func oneWaiterAcrossProcesses() throws {
        try withDirectory { directory in
            let first = VAL6Coordination(records: SnapshotRecords(directory: directory)), second = VAL6Coordination(records: SnapshotRecords(directory: directory))
            let id = Self.snapshotID(1), other = Self.snapshotID(2)
            let waiting = try #require(first.beginWaiting(id))
            #expect(second.beginWaiting(id) == nil)
            #expect(first.beginWaiting(id) == nil, "a second thread of the same process")
            let elsewhere = try #require(second.beginWaiting(other), "another snapshot has its own waiter")
            second.endWaiting(elsewhere)
            first.endWaiting(waiting)
            let after = try #require(second.beginWaiting(id))
            second.endWaiting(after)
        }
    }

    @Test("storage appended in one process is seen by a take in another; take and destroy forget it")
    func storageAcrossProcesses() throws {
        try withDirectory { directory in
            let creator = VAL6Coordination(records: SnapshotRecords(directory: directory)), taker = VAL6Coordination(records: SnapshotRecords(directory: directory))
            let id = Self.snapshotID(3)
            #expect(taker.appendedSectors(id) == nil, "not created through the library: nothing known")
            creator.created(id)
            #expect(taker.appendedSectors(id) == 0)
            taker.appended(2048, to: id)
            creator.appended(8, to: id)
            #expect(taker.appendedSectors(id) == 2056)
            #expect(VAL6Coordination(records: SnapshotRecords(directory: directory)).appendedSectors(id) == 2056)
            taker.forget(id)
            #expect(VAL6Coordination(records: SnapshotRecords(directory: directory)).appendedSectors(id) == nil)
            #expect(access(directory + "/\(id).storage-sectors", F_OK) != 0)
        }
    }

    @Test("process-only state is not shared")
    func processOnly() {
        let first = VAL6Coordination(records: SnapshotRecords(directory: nil)), second = VAL6Coordination(records: SnapshotRecords(directory: nil))
        let id = Self.snapshotID(3)
        first.created(id)
        #expect(first.appendedSectors(id) == 0)
        #expect(second.appendedSectors(id) == nil)
    }

    @Test("the lifecycle lock excludes another process's holder until released")
    func lifecycleLock() throws {
        try withDirectory { directory in
            let first = VAL6Coordination(records: SnapshotRecords(directory: directory))
            try first.withLifecycleLock { () throws(BlksnapError) in
                let fd = open(directory + "/lifecycle.lock", O_RDWR)
                defer { close(fd) }
                #expect(fd >= 0)
                #expect(flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
            }
            let fd = open(directory + "/lifecycle.lock", O_RDWR)
            defer { close(fd) }
            #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        }
    }
}
