import CBlksnapUAPI
import CVeeamBlksnapUAPI
import Testing

/// The v5 header (CBlksnapUAPI) and the VAL-7.0 header in one Swift module, as in any target
/// built on BlksnapKit that also drives VAL-7.0. Clang merges the definitions both headers give
/// identically (blksnap_uuid, blksnap_cbtinfo, blksnap_snapshot_event, ...) and refuses two
/// different definitions of one tag, so the VAL-7.0 header declares its four differing tags
/// under veeamblksnap_* names. This file compiling is most of the test.
@Suite("v5 and VAL-7.0 UAPIs imported into one Swift module")
struct CoexistenceTests {
    @Test("the structs both APIs define identically are one type")
    func sharedStructs() {
        let uuid: CBlksnapUAPI.blksnap_uuid = CVeeamBlksnapUAPI.blksnap_uuid()
        #expect(MemoryLayout.size(ofValue: uuid) == 16)
        #expect(MemoryLayout<blksnap_cbtinfo>.size == 40)
        #expect(MemoryLayout<blksnap_snapshot_event>.size == 4096)
        #expect(MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.data) == 32)
        #expect(MemoryLayout<blksnap_snapshotinfo>.size == 36)
    }

    @Test("the differing definitions stay apart: v5 under the kernel names, VAL-7.0 under veeamblksnap_*")
    func distinctDefinitions() {
        #expect(blksnap_event_code_low_free_space.rawValue == 0 && blksnap_event_code_corrupted.rawValue == 1)
        #expect(veeamblksnap_event_code_corrupted.rawValue == 0 && veeamblksnap_event_code_low_free_space.rawValue == 1)
        #expect(MemoryLayout<blksnap_snapshot_append_storage>.offset(of: \blksnap_snapshot_append_storage.count) == 28)
        #expect(MemoryLayout<veeamblksnap_snapshot_append_storage>.offset(of: \veeamblksnap_snapshot_append_storage.count) == 24)
        #expect(blksnap_ioctl_snapshot_take.rawValue == 4)
        let take: veeamblksnap_ioctl = BLKSNAP_IOCTL_SNAPSHOT_TAKE
        #expect(take.rawValue == 3)
        #expect(blkfilter_ctl_blksnap_snapshotinfo.rawValue == 4)
        let info: veeamblksnap_filter_ctl = BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO
        #expect(info.rawValue == 4)
    }

    @Test("the request constants have distinct names")
    func requestConstants() {
        #expect(BLKSNAP_REQ_VERSION == 0x4008_5600)
        #expect(VEEAMBLKSNAP_REQ_VERSION == 0x8008_5600)
    }
}
