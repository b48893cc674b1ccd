import CVeeamBlkSnapV1UAPI
import SimKernel
import Testing
@testable import BlksnapSimulator

/// What `SimClient` ships for VAL-6.x's requests: each struct's size and direction by nr
/// alone (the module ignores direction and size bits), the arrays and buffers behind
/// its raw C pointers, and nothing for an nr the module answers with ENOTTY.
@Suite("SimClient argument table: VAL-6.x")
struct VAL6ArgumentTableTests {
    private func entry(_ request: UInt) -> SimUserBuffer? {
        SimIoctlArguments.argument(for: request, node: .val6Control)
    }

    @Test("struct sizes and directions of /dev/veeamblksnap, by nr; ENOTTY numbers ship nothing")
    func sizes() {
        let table: [(UInt, Int, Bool)] = [
            (BLK_SNAP_REQ_VERSION, 8, true), (BLK_SNAP_REQ_TRACKER_REMOVE, 8, false),
            (BLK_SNAP_REQ_TRACKER_COLLECT, 16, true), (BLK_SNAP_REQ_TRACKER_READ_CBT_MAP, 24, false),
            (BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS, 24, false), (BLK_SNAP_REQ_SNAPSHOT_CREATE, 32, true),
            (BLK_SNAP_REQ_SNAPSHOT_DESTROY, 16, false), (BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE, 40, false),
            (BLK_SNAP_REQ_SNAPSHOT_TAKE, 16, false), (BLK_SNAP_REQ_SNAPSHOT_COLLECT, 16, true),
            (BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES, 32, true), (BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT, 4096, true),
            (BLK_SNAP_REQ_MOD, 40, true), (BLK_SNAP_REQ_SETLOG, 24, false),
        ]
        for (request, size, writes) in table {
            #expect(entry(request)?.lengthBytes == size, "request \(request)")
            #expect(entry(request)?.kernelWrites == writes, "request \(request)")
            // The nr alone decides: other direction and size bits ship the same.
            #expect(entry(request ^ 0xC0FF_0000)?.lengthBytes == size, "request \(request) with other bits")
        }
        for nr: UInt in [12, 13, 31, 34, 35, 255] {
            #expect(entry(0x4000_5600 | nr) == nil, "nr \(nr)")
        }
    }

    @Test("raw pointers: id, range and info arrays by their count, the CBT buffer by its length, the log path by its size")
    func embeddedPointers() {
        var create = blk_snap_snapshot_create()
        create.count = 3
        create.dev_id_array = UnsafeMutablePointer(bitPattern: 0x1000)
        let createInner = entry(BLK_SNAP_REQ_SNAPSHOT_CREATE)!.embedded(bytes(of: create))
        #expect(createInner.map(\.address) == [0x1000])
        #expect(createInner.first?.buffer.lengthBytes == 24 && createInner.first?.buffer.kernelWrites == false)

        var append = blk_snap_snapshot_append_storage()
        append.count = 4
        append.ranges = UnsafeMutablePointer(bitPattern: 0x2000)
        let appendInner = entry(BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE)!.embedded(bytes(of: append))
        #expect(appendInner.map(\.address) == [0x2000])
        #expect(appendInner.map(\.buffer.lengthBytes) == [64])

        var collect = blk_snap_tracker_collect()
        collect.count = 2
        collect.cbt_info_array = UnsafeMutablePointer(bitPattern: 0x3000)
        let collectInner = entry(BLK_SNAP_REQ_TRACKER_COLLECT)!.embedded(bytes(of: collect))
        #expect(collectInner.first?.buffer.lengthBytes == 96 && collectInner.first?.buffer.kernelWrites == true)

        var map = blk_snap_tracker_read_cbt_bitmap()
        map.length = 1000
        map.buff = UnsafeMutablePointer(bitPattern: 0x4000)
        let mapInner = entry(BLK_SNAP_REQ_TRACKER_READ_CBT_MAP)!.embedded(bytes(of: map))
        #expect(mapInner.map(\.address) == [0x4000])
        #expect(mapInner.first?.buffer.lengthBytes == 1000 && mapInner.first?.buffer.kernelWrites == true)

        var dirty = blk_snap_tracker_mark_dirty_blocks()
        dirty.count = 5000
        dirty.dirty_blocks_array = UnsafeMutablePointer(bitPattern: 0x5000)
        // Every range goes: VAL-6.x applies them all.
        #expect(entry(BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS)!.embedded(bytes(of: dirty)).first?.buffer.lengthBytes == 5000 * 16)

        var images = blk_snap_snapshot_collect_images()
        images.count = 2
        images.image_info_array = UnsafeMutablePointer(bitPattern: 0x6000)
        let imagesInner = entry(BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES)!.embedded(bytes(of: images))
        #expect(imagesInner.first?.buffer.lengthBytes == 32 && imagesInner.first?.buffer.kernelWrites == true)

        var setlog = blk_snap_setlog()
        setlog.filepath_size = 17
        setlog.filepath = UnsafeMutablePointer(bitPattern: 0x7000)
        let setlogInner = entry(BLK_SNAP_REQ_SETLOG)!.embedded(bytes(of: setlog))
        #expect(setlogInner.map(\.address) == [0x7000])
        #expect(setlogInner.first?.buffer.lengthBytes == 17 && setlogInner.first?.buffer.kernelWrites == false)
    }

    private func bytes<T>(of value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
}
