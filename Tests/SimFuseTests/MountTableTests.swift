import SimFuse
import Testing

/// Parsing `/proc/self/mountinfo`, which is how `sim serve` detects existing mounts and
/// `sim loop` finds the mount point of a simulator.
@Suite struct MountTableTests {
    @Test func parsesFuseLineWithOptionalFields() {
        let line = "42 27 0:39 / /tmp/a\\040b rw,nosuid,nodev,relatime shared:5 master:1 - fuse.blksnapsim blksnapsim:/tmp/s.sock rw,user_id=0"
        let entry = MountTable.parse(line)
        #expect(entry == MountEntry(mountPoint: "/tmp/a b", fileSystemType: "fuse.blksnapsim", source: "blksnapsim:/tmp/s.sock"))
    }

    @Test func rejectsMalformedLines() {
        #expect(MountTable.parse("") == nil)
        #expect(MountTable.parse("1 2 3 4 5 6 7 8 9 10") == nil, "no separator")
    }

    @Test func unescapesOctalOnlyWhenComplete() {
        #expect(MountTable.unescape("a\\134b\\011c") == "a\\b\tc")
        #expect(MountTable.unescape("tail\\04") == "tail\\04", "a short escape stays as is")
        #expect(MountTable.unescape("x\\999") == "x\\999", "not octal")
    }

    @Test func rootIsAMountPointAndSourceLookupMisses() {
        #expect(MountTable.entries().contains { $0.mountPoint == "/" })
        #expect(MountTable.mountPoint(ofSource: "blksnapsim:/nonexistent/\(UInt64.random(in: 0...UInt64.max))") == nil)
    }
}
