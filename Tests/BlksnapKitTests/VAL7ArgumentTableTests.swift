import CVeeamBlksnapUAPI
import SimKernel
import Testing
@testable import BlksnapSimulator

/// What `SimClient` ships for VAL-7.0's requests: each struct's size and direction, the
/// paths and arrays behind its pointers, and nothing for a number VAL-7.0 does not know
/// (it dispatches on the full number: other direction or size bits are ENOTTY).
@Suite("SimClient argument table: VAL-7.0")
struct VAL7ArgumentTableTests {
    private func entry(_ request: UInt, _ node: SimNodeKind) -> SimUserBuffer? {
        SimIoctlArguments.argument(for: request, node: node)
    }

    @Test("struct sizes and directions of /dev/veeamblksnap and /dev/bdevfilter")
    func sizes() {
        let control: [(UInt, Int, Bool)] = [
            (VEEAMBLKSNAP_REQ_VERSION, 8, true), (VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE, 32, true),
            (VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY, 16, false), (VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE, 16, false),
            (VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT, 16, true), (VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, 4096, true),
            (VEEAMBLKSNAP_REQ_MOD, 40, true), (VEEAMBLKSNAP_REQ_SETLOG, 24, false),
            (VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, 40, false),
        ]
        for (request, size, writes) in control {
            #expect(entry(request, .val7Control)?.lengthBytes == size, "request \(request)")
            #expect(entry(request, .val7Control)?.kernelWrites == writes, "request \(request)")
            #expect(entry(request, .bdevFilter) == nil)
        }
        #expect(entry(BDEVFILTER_REQ_ATTACH, .bdevFilter)?.lengthBytes == 40)
        #expect(entry(BDEVFILTER_REQ_DETACH, .bdevFilter)?.lengthBytes == 40)
        #expect(entry(BDEVFILTER_REQ_CTL, .bdevFilter)?.lengthBytes == 56)
        // v5's numbers mean nothing to VAL-7.0's nodes, and a VERSION with other size bits neither.
        #expect(entry(0xc0205601 ^ 0x0001_0000, .val7Control) == nil)
        #expect(entry(0x8008_5600 | 0x4000_0000, .val7Control) == nil)
    }

    @Test("paths are shipped as PATH_MAX bytes, range arrays by their count, the CTL option with its own pointers")
    func embeddedPointers() {
        var create = blksnap_snapshot_create()
        create.diff_storage_filename = 0x1000
        let createInner = entry(VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE, .val7Control)!.embedded(bytes(of: create))
        #expect(createInner.map(\.address) == [0x1000])
        #expect(createInner.first?.buffer.lengthBytes == 4096 && createInner.first?.buffer.kernelWrites == false)

        var append = veeamblksnap_snapshot_append_storage()
        append.devpath = 0x2000
        append.count = 3
        append.ranges = 0x3000
        let appendInner = entry(VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, .val7Control)!.embedded(bytes(of: append))
        #expect(appendInner.map(\.address) == [0x2000, 0x3000])
        #expect(appendInner.map(\.buffer.lengthBytes) == [4096, 48])

        var ctl = bdevfilter_ctl()
        ctl.devpath = 0x4000
        ctl.cmd = UInt32(BLKFILTER_CTL_BLKSNAP_CBTDIRTY.rawValue)
        ctl.optlen = 16
        ctl.opt = 0x5000
        let ctlInner = entry(BDEVFILTER_REQ_CTL, .bdevFilter)!.embedded(bytes(of: ctl))
        #expect(ctlInner.map(\.address) == [0x4000, 0x5000])
        #expect(ctlInner.last?.buffer.lengthBytes == 16 && ctlInner.last?.buffer.kernelWrites == true)
        // cbtdirty's every range goes (VAL-7.0 reads them all; v5 only the first).
        var dirty = blksnap_cbtdirty()
        dirty.count = 5000
        dirty.dirty_sectors = 0x6000
        let ranges = ctlInner.last!.buffer.embedded(bytes(of: dirty))
        #expect(ranges.map(\.address) == [0x6000])
        #expect(ranges.first?.buffer.lengthBytes == 5000 * 16)
    }

    private func bytes<T>(of value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
}
