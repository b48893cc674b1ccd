import BlksnapKit
import Testing
@testable import blksnap_cli

/// CBT range merging, checksums, patterns and JSON encoding.
@Suite struct ReportTests {
    @Test func changedBlocksMergeAndClip() {
        // 4 KiB blocks = 8 sectors; capacity 30 sectors clips the last block.
        let map: [UInt8] = [0, 2, 3, 1, 0, 5, 5, 0, 0, 4]
        let after1 = ChangedBlocks(map: map, since: 1, blockSizeBytes: 4096, capacitySectors: 76)
        #expect(after1.blockCount == 5)
        #expect(after1.ranges == [SectorRange(offsetSectors: 8, countSectors: 16),
                                  SectorRange(offsetSectors: 40, countSectors: 16),
                                  SectorRange(offsetSectors: 72, countSectors: 4)])
        let after4 = ChangedBlocks(map: map, since: 4, blockSizeBytes: 4096, capacitySectors: 80)
        #expect(after4.ranges == [SectorRange(offsetSectors: 40, countSectors: 16)])
        #expect(ChangedBlocks(map: map, since: 255, blockSizeBytes: 4096, capacitySectors: 80).ranges.isEmpty)
        #expect(ChangedBlocks(map: [], since: 0, blockSizeBytes: 4096, capacitySectors: 0).blockCount == 0)
    }

    @Test func checksumIsFNV1a() {
        #expect(Checksum([]).description == "cbf29ce484222325")
        #expect(Checksum(Array("a".utf8)).description == "af63dc4c8601ec8c")
        #expect(Checksum(Array("foobar".utf8)).description == "85944171f73967e8")
    }

    @Test func patternsAreReproducibleAndSeedDependent() {
        let a = TestPattern(seed: 1).bytes(count: 4099)
        #expect(a.count == 4099)
        #expect(a == TestPattern(seed: 1).bytes(count: 4099))
        #expect(Array(a.prefix(100)) == TestPattern(seed: 1).bytes(count: 100))
        #expect(a != TestPattern(seed: 2).bytes(count: 4099))
        #expect(Set(a).count > 200)
    }

    @Test func jsonIsSortedSnakeCase() {
        let info = CBTInfo(capacityBytes: 1 << 20, blockSizeBytes: 65536, blockCount: 16,
                           generationID: CBTGenerationID(rawValue: [UInt8](repeating: 0xab, count: 16))!, changesNumber: 3)
        let json = Output.encode(CBTInfoReport(device: "/dev/sdb", info: info))
        #expect(json == #"{"block_count":16,"block_size_bytes":65536,"capacity_bytes":1048576,"changes_number":3,"device":"/dev/sdb","generation_id":"abababab-abab-abab-abab-abababababab"}"#)
    }

    @Test func eventReports() {
        let id = SnapshotID(rawValue: [UInt8](repeating: 1, count: 16))!
        let low = EventReport(id: id, event: .lowFreeSpace(requestedSectors: 8192, timeLabelNanoseconds: 5))
        #expect(Output.encode(low).contains(#""event":"low_free_space""#))
        #expect(Output.encode(low).contains(#""requested_sectors":8192"#))
        let bad = EventReport(id: id, event: .corrupted(device: DeviceNumber(major: 8, minor: 16), errno: .noSpace, timeLabelNanoseconds: 6))
        let json = Output.encode(bad)
        #expect(json.contains(#""device":"8:16""#) && json.contains(#""errno_name":"ENOSPC""#) && json.contains(#""code":1"#))
    }
}
