import CVeeamBlkSnapV1UAPI
import CVeeamBlksnapUAPI
import Testing

/// The Linux generic ioctl encoding (asm-generic/ioctl.h, x86_64): nr in bits 0-7, type in
/// 8-15, size in 16-29, direction in 30-31 (1 = write, 2 = read, 3 = both).
enum IoctlEncoding {
    /// The request number of (dir, type, nr, size), computed in Swift.
    static func request(dir: UInt, type: UInt, nr: UInt, size: Int) -> UInt {
        (dir << 30) | (UInt(size) << 16) | (type << 8) | nr
    }

    /// The (dir, type, nr, size) fields of a request number.
    static func decode(_ request: UInt) -> (dir: UInt, type: UInt, nr: UInt, size: UInt) {
        (request >> 30 & 0x3, request >> 8 & 0xff, request & 0xff, request >> 16 & 0x3fff)
    }

    /// _IOW: the caller writes, the kernel reads.
    static let write: UInt = 1
    /// _IOR: the kernel writes, the caller reads.
    static let read: UInt = 2
    /// _IOWR: both.
    static let readWrite: UInt = 3
}

/// Request numbers recomputed in Swift from their parts, so that a typo shared by a header
/// and by the expected tables is still caught: the expected numbers must agree with their
/// own decoded fields (the .txt's ioctl_decode lines), and the header's constants must agree
/// with the direction the module declares, the type byte, the nr from the imported enum and
/// the size of the imported struct as Swift lays it out.
@Suite("Request numbers recomputed from dir/type/nr/size")
struct RequestEncodingTests {
    @Test("each expected VAL-6.3.1 number equals its decoded fields re-encoded")
    func v1ExpectedTableIsSelfConsistent() {
        for row in ExpectedV1ABI.requests {
            #expect(IoctlEncoding.request(dir: row.dir, type: row.type, nr: row.nr, size: Int(row.size)) == row.value, "\(row.name)")
            let fields = IoctlEncoding.decode(row.value)
            #expect(fields.dir == row.dir && fields.type == row.type && fields.nr == row.nr && fields.size == row.size, "\(row.name)")
        }
    }

    @Test("each expected VAL-7.0 number equals its decoded fields re-encoded")
    func v7ExpectedTableIsSelfConsistent() {
        for row in ExpectedV7ABI.requests {
            #expect(IoctlEncoding.request(dir: row.dir, type: row.type, nr: row.nr, size: Int(row.size)) == row.value, "\(row.name)")
            let fields = IoctlEncoding.decode(row.value)
            #expect(fields.dir == row.dir && fields.type == row.type && fields.nr == row.nr && fields.size == row.size, "\(row.name)")
        }
    }

    @Test("VAL-6.3.1 constants from Swift's struct sizes and the imported nrs")
    func v1FromParts() {
        typealias E = IoctlEncoding
        let v: UInt = 0x56  // 'V'
        func nr(_ value: blk_snap_ioctl) -> UInt { UInt(value.rawValue) }
        let table: [(String, UInt, UInt)] = [
            ("VERSION", BLK_SNAP_REQ_VERSION, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_version), size: MemoryLayout<blk_snap_version>.size)),
            ("TRACKER_REMOVE", BLK_SNAP_REQ_TRACKER_REMOVE, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_tracker_remove), size: MemoryLayout<blk_snap_tracker_remove>.size)),
            ("TRACKER_COLLECT", BLK_SNAP_REQ_TRACKER_COLLECT, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_tracker_collect), size: MemoryLayout<blk_snap_tracker_collect>.size)),
            ("TRACKER_READ_CBT_MAP", BLK_SNAP_REQ_TRACKER_READ_CBT_MAP, E.request(dir: E.read, type: v, nr: nr(blk_snap_ioctl_tracker_read_cbt_map), size: MemoryLayout<blk_snap_tracker_read_cbt_bitmap>.size)),
            ("TRACKER_MARK_DIRTY_BLOCKS", BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS, E.request(dir: E.read, type: v, nr: nr(blk_snap_ioctl_tracker_mark_dirty_blocks), size: MemoryLayout<blk_snap_tracker_mark_dirty_blocks>.size)),
            ("SNAPSHOT_CREATE", BLK_SNAP_REQ_SNAPSHOT_CREATE, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_snapshot_create), size: MemoryLayout<blk_snap_snapshot_create>.size)),
            ("SNAPSHOT_DESTROY", BLK_SNAP_REQ_SNAPSHOT_DESTROY, E.request(dir: E.read, type: v, nr: nr(blk_snap_ioctl_snapshot_destroy), size: MemoryLayout<blk_snap_snapshot_destroy>.size)),
            ("SNAPSHOT_APPEND_STORAGE", BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_snapshot_append_storage), size: MemoryLayout<blk_snap_snapshot_append_storage>.size)),
            ("SNAPSHOT_TAKE", BLK_SNAP_REQ_SNAPSHOT_TAKE, E.request(dir: E.read, type: v, nr: nr(blk_snap_ioctl_snapshot_take), size: MemoryLayout<blk_snap_snapshot_take>.size)),
            ("SNAPSHOT_COLLECT", BLK_SNAP_REQ_SNAPSHOT_COLLECT, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_snapshot_collect), size: MemoryLayout<blk_snap_snapshot_collect>.size)),
            ("SNAPSHOT_COLLECT_IMAGES", BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_snapshot_collect_images), size: MemoryLayout<blk_snap_snapshot_collect_images>.size)),
            ("SNAPSHOT_WAIT_EVENT", BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_snapshot_wait_event), size: MemoryLayout<blk_snap_snapshot_event>.size)),
            ("MOD", BLK_SNAP_REQ_MOD, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_mod), size: MemoryLayout<blk_snap_mod>.size)),
            ("SETLOG", BLK_SNAP_REQ_SETLOG, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_setlog), size: MemoryLayout<blk_snap_setlog>.size)),
            ("GET_SECTOR_STATE", BLK_SNAP_REQ_GET_SECTOR_STATE, E.request(dir: E.write, type: v, nr: nr(blk_snap_ioctl_get_sector_state), size: MemoryLayout<blk_snap_get_sector_state>.size)),
        ]
        #expect(table.count == ExpectedV1ABI.requests.count)
        for (name, constant, computed) in table {
            #expect(constant == computed, "BLK_SNAP_REQ_\(name): 0x\(String(constant, radix: 16)) vs 0x\(String(computed, radix: 16))")
        }
    }

    @Test("VAL-7.0 constants from Swift's struct sizes and the imported nrs")
    func v7FromParts() {
        typealias E = IoctlEncoding
        let v: UInt = 0x56  // 'V'
        let f: UInt = 0x46  // 'F'
        func nr(_ value: veeamblksnap_ioctl) -> UInt { UInt(value.rawValue) }
        let table: [(String, UInt, UInt)] = [
            ("VERSION", VEEAMBLKSNAP_REQ_VERSION, E.request(dir: E.read, type: v, nr: nr(BLKSNAP_IOCTL_VERSION), size: MemoryLayout<blksnap_version>.size)),
            ("SNAPSHOT_CREATE", VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE, E.request(dir: E.readWrite, type: v, nr: nr(BLKSNAP_IOCTL_SNAPSHOT_CREATE), size: MemoryLayout<blksnap_snapshot_create>.size)),
            ("SNAPSHOT_DESTROY", VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY, E.request(dir: E.write, type: v, nr: nr(BLKSNAP_IOCTL_SNAPSHOT_DESTROY), size: MemoryLayout<blksnap_uuid>.size)),
            ("SNAPSHOT_TAKE", VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE, E.request(dir: E.write, type: v, nr: nr(BLKSNAP_IOCTL_SNAPSHOT_TAKE), size: MemoryLayout<blksnap_uuid>.size)),
            ("SNAPSHOT_COLLECT", VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT, E.request(dir: E.read, type: v, nr: nr(BLKSNAP_IOCTL_SNAPSHOT_COLLECT), size: MemoryLayout<blksnap_snapshot_collect>.size)),
            ("SNAPSHOT_WAIT_EVENT", VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, E.request(dir: E.read, type: v, nr: nr(BLKSNAP_IOCTL_SNAPSHOT_WAIT_EVENT), size: MemoryLayout<blksnap_snapshot_event>.size)),
            ("MOD", VEEAMBLKSNAP_REQ_MOD, E.request(dir: E.read, type: v, nr: nr(BLKSNAP_IOCTL_MOD), size: MemoryLayout<blksnap_mod>.size)),
            ("SETLOG", VEEAMBLKSNAP_REQ_SETLOG, E.request(dir: E.write, type: v, nr: nr(BLKSNAP_IOCTL_SETLOG), size: MemoryLayout<blksnap_setlog>.size)),
            ("SNAPSHOT_APPEND_STORAGE", VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, E.request(dir: E.write, type: v, nr: nr(BLKSNAP_IOCTL_SNAPSHOT_APPEND_STORAGE), size: MemoryLayout<veeamblksnap_snapshot_append_storage>.size)),
            ("BDEVFILTER_ATTACH", BDEVFILTER_REQ_ATTACH, E.request(dir: E.readWrite, type: f, nr: 140, size: MemoryLayout<bdevfilter_name>.size)),
            ("BDEVFILTER_DETACH", BDEVFILTER_REQ_DETACH, E.request(dir: E.readWrite, type: f, nr: 141, size: MemoryLayout<bdevfilter_name>.size)),
            ("BDEVFILTER_CTL", BDEVFILTER_REQ_CTL, E.request(dir: E.readWrite, type: f, nr: 142, size: MemoryLayout<bdevfilter_ctl>.size)),
        ]
        #expect(table.count == ExpectedV7ABI.requests.count)
        for (name, constant, computed) in table {
            #expect(constant == computed, "\(name): 0x\(String(constant, radix: 16)) vs 0x\(String(computed, radix: 16))")
        }
    }

    @Test("a few numbers spelled out from the .txt's ioctl_decode lines")
    func spelledOut() {
        // ioctl_decode IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT dir=W type=0x56('V') nr=11 size=4096
        #expect(BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT == IoctlEncoding.request(dir: 1, type: 0x56, nr: 11, size: 4096))
        // ioctl_decode IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP dir=R type=0x56('V') nr=3 size=24
        #expect(BLK_SNAP_REQ_TRACKER_READ_CBT_MAP == IoctlEncoding.request(dir: 2, type: 0x56, nr: 3, size: 24))
        // ioctl_decode IOCTL_BLK_SNAP_MOD dir=W type=0x56('V') nr=32 size=40
        #expect(BLK_SNAP_REQ_MOD == IoctlEncoding.request(dir: 1, type: 0x56, nr: 32, size: 40))
        // ioctl_decode IOCTL_BLKSNAP_SNAPSHOT_CREATE dir=WR type=0x56('V') nr=1 size=32
        #expect(VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE == IoctlEncoding.request(dir: 3, type: 0x56, nr: 1, size: 32))
        // ioctl_decode IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT dir=R type=0x56('V') nr=5 size=4096
        #expect(VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT == IoctlEncoding.request(dir: 2, type: 0x56, nr: 5, size: 4096))
        // ioctl_decode IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE dir=W type=0x56('V') nr=34 size=40
        #expect(VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE == IoctlEncoding.request(dir: 1, type: 0x56, nr: 34, size: 40))
        // ioctl_decode BDEVFILTER_CTL dir=WR type=0x46('F') nr=142 size=56
        #expect(BDEVFILTER_REQ_CTL == IoctlEncoding.request(dir: 3, type: 0x46, nr: 142, size: 56))
    }

    @Test("the ABI probe number 0x80085600 is VAL-7.0's VERSION; VAL-6.3.1 declares nr 0 as _IOW")
    func versionProbe() {
        #expect(VEEAMBLKSNAP_REQ_VERSION == 0x8008_5600)
        #expect(BLK_SNAP_REQ_VERSION == 0x4008_5600)
        #expect(IoctlEncoding.decode(VEEAMBLKSNAP_REQ_VERSION).nr == IoctlEncoding.decode(BLK_SNAP_REQ_VERSION).nr)
    }
}
