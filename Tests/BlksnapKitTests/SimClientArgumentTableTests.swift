#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import SimKernel
import Testing
@testable import BlksnapKit
@testable import BlksnapSimulator

/// The one table of user memory per request (spec §1.2–§1.4).
@Suite struct SimClientArgumentTableTests {
    private func size(_ request: UInt, control: Bool) -> Int? {
        SimIoctlArguments.argument(for: request, node: control ? .v5Control : .blockDevice)?.lengthBytes
    }

    @Test func argumentSizesFollowTheUAPI() {
        #expect(size(BLKSNAP_REQ_VERSION, control: true) == 8)
        #expect(size(BLKSNAP_REQ_SNAPSHOT_CREATE, control: true) == 16)
        #expect(size(BLKSNAP_REQ_SNAPSHOT_DESTROY, control: true) == 16)
        #expect(size(BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, control: true) == 40)
        #expect(size(BLKSNAP_REQ_SNAPSHOT_TAKE, control: true) == 16)
        #expect(size(BLKSNAP_REQ_SNAPSHOT_COLLECT, control: true) == 16)
        #expect(size(BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, control: true) == 4096)
        #expect(size(BLKSNAP_REQ_BLKFILTER_ATTACH, control: false) == 32)
        #expect(size(BLKSNAP_REQ_BLKFILTER_DETACH, control: false) == 32)
        #expect(size(BLKSNAP_REQ_BLKFILTER_CTL, control: false) == 48)
        #expect(size(BLKSNAP_REQ_BLKGETSIZE64, control: false) == 8)
        #expect(size(BLKSNAP_REQ_BLKSSZGET, control: false) == 4)
        #expect(size(BLKSNAP_REQ_BLKPBSZGET, control: false) == 4)
        #expect(size(BLKSNAP_REQ_BLKIOMIN, control: false) == 4)
    }

    @Test func directionsAreTheKernelsNotTheDeclaredBits() {
        func writes(_ request: UInt, _ control: Bool) -> Bool? {
            SimIoctlArguments.argument(for: request, node: control ? .v5Control : .blockDevice)?.kernelWrites
        }
        #expect(writes(BLKSNAP_REQ_VERSION, true) == true)           // declared _IOW
        #expect(writes(BLKSNAP_REQ_SNAPSHOT_CREATE, true) == true)   // declared _IOW
        #expect(writes(BLKSNAP_REQ_SNAPSHOT_DESTROY, true) == false) // declared _IOR
        #expect(writes(BLKSNAP_REQ_SNAPSHOT_TAKE, true) == false)    // declared _IOR
        #expect(writes(BLKSNAP_REQ_SNAPSHOT_COLLECT, true) == true)
        #expect(writes(BLKSNAP_REQ_BLKFILTER_CTL, false) == false)   // never copied back (§1.3)
    }

    @Test func theControlDeviceDispatchesOnNrOnly() {
        // nr 0 with any type/size/direction is VERSION; nr >= 7 touches nothing.
        #expect(size(0x0000_0000, control: true) == 8)
        #expect(size(0xC0FF_1206, control: true) == 4096)
        #expect(size(0x4008_5607, control: true) == nil)
        #expect(size(BLKSNAP_REQ_BLKGETSIZE64, control: true) == nil)  // nr 114
        // Block devices match the exact number: a control request means nothing there.
        #expect(size(BLKSNAP_REQ_VERSION, control: false) == nil)
        #expect(size(0x1200_128c, control: false) == nil)
    }

    @Test func embeddedPointersOfAppendStorage() {
        var args = blksnap_snapshot_append_storage()
        args.bdev_path = 0x1000
        args.bdev_path_size = 12
        args.count = 3
        args.ranges = 0x2000
        let bytes = withUnsafeBytes(of: args) { Array($0) }
        let inner = SimIoctlArguments.argument(for: BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, node: .v5Control)!.embedded(bytes)
        #expect(inner.map(\.address) == [0x1000, 0x2000])
        #expect(inner.map(\.buffer.lengthBytes) == [12, 48])
        #expect(inner.map(\.buffer.kernelWrites) == [false, false])
    }

    @Test func embeddedPointersOfCollect() {
        let collect = blksnap_snapshot_collect(count: 5, ids: 0x3000)
        let inner = SimIoctlArguments.argument(for: BLKSNAP_REQ_SNAPSHOT_COLLECT, node: .v5Control)!
            .embedded(withUnsafeBytes(of: collect) { Array($0) })
        #expect(inner.map(\.address) == [0x3000])
        #expect(inner.map(\.buffer.lengthBytes) == [80])
        #expect(inner.map(\.buffer.kernelWrites) == [true])
    }

    @Test func embeddedPointersOfFilterControl() {
        let entry = SimIoctlArguments.argument(for: BLKSNAP_REQ_BLKFILTER_CTL, node: .blockDevice)!
        func option(cmd: UInt32, optlen: UInt32) -> SimUserBuffer {
            var ctl = blkfilter_ctl()
            ctl.cmd = cmd
            ctl.optlen = optlen
            ctl.opt = 0x4000
            let inner = entry.embedded(withUnsafeBytes(of: ctl) { Array($0) })
            #expect(inner.map(\.address) == [0x4000])
            return inner[0].buffer
        }
        let cbtinfo = option(cmd: 0, optlen: 40)
        #expect(cbtinfo.lengthBytes == 40 && cbtinfo.kernelWrites)
        // cbtmap: the buffer it points to, `length` bytes, written by the kernel.
        let cbtmap = option(cmd: 1, optlen: 16)
        let map = blksnap_cbtmap(offset: 0, length: 777, buffer: 0x5000)
        let mapInner = cbtmap.embedded(withUnsafeBytes(of: map) { Array($0) })
        #expect(mapInner.map(\.address) == [0x5000])
        #expect(mapInner.map(\.buffer.lengthBytes) == [777])
        #expect(mapInner.map(\.buffer.kernelWrites) == [true])
        // cbtdirty: the ranges, capped (v5 reads element 0 only).
        let cbtdirty = option(cmd: 2, optlen: 16)
        let dirty = blksnap_cbtdirty(count: .max, dirty_sectors: 0x6000)
        let dirtyInner = cbtdirty.embedded(withUnsafeBytes(of: dirty) { Array($0) })
        #expect(dirtyInner.map(\.buffer.lengthBytes) == [SimIoctlArguments.maximumDirtyRanges * 16])
        // An option shorter than its struct carries no pointer (the kernel says EINVAL first).
        #expect(option(cmd: 1, optlen: 8).embedded([0, 0, 0, 0, 0, 0, 0, 0]).isEmpty)
        // A huge optlen is shipped capped.
        #expect(option(cmd: 4, optlen: .max).lengthBytes == SimIoctlArguments.maximumBufferBytes)
    }

    @Test func captureShipsNothingForNullAndTheReadablePrefixOtherwise() {
        #expect(SimUserMemoryCapture.regions(for: BLKSNAP_REQ_VERSION, argument: 0, node: .v5Control).isEmpty)
        #expect(SimUserMemoryCapture.regions(for: BLKSNAP_REQ_VERSION, argument: 0x10, node: .v5Control).isEmpty)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let base = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        defer { munmap(base, 2 * page) }
        mprotect(base + page, page, PROT_NONE)
        // A WAIT_EVENT struct 100 bytes before the hole: 100 bytes shipped, writable.
        let event = UInt64(UInt(bitPattern: base + page - 100))
        let regions = SimUserMemoryCapture.regions(for: BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, argument: event, node: .v5Control)
        #expect(regions.map(\.address) == [event])
        #expect(regions.map(\.bytes.count) == [100])
        #expect(regions.map(\.writable) == [true])
        // Read-only second page: the writable part and the read-only part are split.
        mprotect(base + page, page, PROT_READ)
        let split = SimUserMemoryCapture.regions(for: BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, argument: event, node: .v5Control)
        #expect(split.map(\.bytes.count) == [100, 3996])
        #expect(split.map(\.writable) == [true, false])
        // Overlapping buffers are merged into one region (COLLECT whose ids overlap it).
        let collect = base.assumingMemoryBound(to: blksnap_snapshot_collect.self)
        collect.pointee = blksnap_snapshot_collect(count: 2, ids: UInt64(UInt(bitPattern: base + 8)))
        let merged = SimUserMemoryCapture.regions(for: BLKSNAP_REQ_SNAPSHOT_COLLECT,
                                                  argument: UInt64(UInt(bitPattern: base)), node: .v5Control)
        #expect(merged.map(\.bytes.count) == [40])
    }

    @Test func onlyWritesInsideShippedWritableRegionsAreApplied() {
        var target = [UInt8](repeating: 0, count: 32)
        target.withUnsafeMutableBytes { buffer in
            let base = UInt64(UInt(bitPattern: buffer.baseAddress))
            let shipped: [MappedUserMemory.Region] = [
                .init(address: base, bytes: [UInt8](repeating: 0, count: 8), writable: true),
                .init(address: base + 16, bytes: [UInt8](repeating: 0, count: 8), writable: false),
            ]
            #expect(SimUserMemoryCapture.apply([.init(address: base + 2, bytes: [1, 2, 3], writable: true)], within: shipped))
            // Past the writable region's end, into the read-only one, and far away: refused.
            #expect(!SimUserMemoryCapture.apply([.init(address: base + 6, bytes: [9, 9, 9], writable: true)], within: shipped))
            #expect(!SimUserMemoryCapture.apply([.init(address: base + 16, bytes: [9], writable: true)], within: shipped))
            #expect(!SimUserMemoryCapture.apply([.init(address: base + 28, bytes: [9], writable: true)], within: shipped))
        }
        #expect(target == [0, 0, 1, 2, 3] + [UInt8](repeating: 0, count: 27))
    }
}
