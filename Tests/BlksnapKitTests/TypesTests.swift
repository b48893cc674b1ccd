import BlksnapKit
import CBlksnapUAPI
import SystemPackage
import Testing

@Suite("Typed values")
struct TypesTests {
    @Test("SnapshotID prints canonical lowercase 8-4-4-4-12 and parses it back")
    func snapshotIDText() throws {
        let id = try #require(SnapshotID(rawValue: [0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x40, 0x71,
                                                     0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9]))
        #expect(id.description == "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9")
        #expect(SnapshotID(parsing: "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9") == id)
        #expect(SnapshotID(parsing: "0A1B2C3D-4E5F-4071-8293-A4B5C6D7E8F9") == id)
        #expect(testID.description == "10111213-1415-1617-1819-1a1b1c1d1e1f")
    }

    @Test("SnapshotID rejects malformed text", arguments: [
        "", "0a1b2c3d4e5f40718293a4b5c6d7e8f9", "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f",
        "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f90", "0a1b2c3d_4e5f-4071-8293-a4b5c6d7e8f9",
        "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8fg", "0a1b2c3-d4e5f-4071-8293-a4b5c6d7e8f9",
    ])
    func snapshotIDRejects(text: String) {
        #expect(SnapshotID(parsing: text) == nil)
    }

    @Test("SnapshotID needs exactly 16 bytes and round-trips through blksnap_uuid")
    func snapshotIDBytes() {
        #expect(SnapshotID(rawValue: [1, 2, 3]) == nil)
        #expect(SnapshotID(rawValue: [UInt8](repeating: 0, count: 17)) == nil)
        #expect(SnapshotID(testID.uuid) == testID)
        var uuid = testID.uuid
        #expect(withUnsafeBytes(of: &uuid) { Array($0) } == Array(0x10...0x1f))
    }

    @Test("CBTGenerationID text")
    func generationID() {
        let generation = CBTGenerationID(rawValue: [UInt8](repeating: 0xab, count: 16))
        #expect(generation?.description == "abababab-abab-abab-abab-abababababab")
        #expect(CBTGenerationID(parsing: "abababab-abab-abab-abab-abababababab") == generation)
    }

    @Test("SectorRange units and text")
    func sectorRange() {
        let range = SectorRange(offsetSectors: 2048, countSectors: 8)
        #expect(range.offsetBytes == 1_048_576)
        #expect(range.countBytes == 4096)
        #expect(range.endSectors == 2056)
        #expect(range.description == "2048:8")
        #expect(SectorRange(parsing: "2048:8") == range)
        #expect(SectorRange(parsing: "2048") == nil)
        #expect(SectorRange(parsing: "a:b") == nil)
        #expect(SectorRange(offsetSectors: .max, countSectors: 2).endSectors == .max)
        let sectors = range.sectors
        #expect(sectors.offset == 2048 && sectors.count == 8)
        #expect(SectorRange(sectors) == range)
    }

    @Test("Version order and text")
    func version() {
        #expect(Version.v5.description == "2.0.0.0")
        #expect(Version(blksnap_version(major: 2, minor: 0, revision: 0, build: 0)) == .v5)
        #expect(Version(major: 1, minor: 9, revision: 9, build: 9) < .v5)
        #expect(Version(major: 2, minor: 0, revision: 0, build: 1) > .v5)
    }

    @Test("DeviceNumber round trip")
    func deviceNumber() {
        let number = DeviceNumber(major: 259, minor: 1_048_575)
        #expect(number.major == 259 && number.minor == 1_048_575)
        #expect(DeviceNumber(parsing: "8:16") == DeviceNumber(major: 8, minor: 16))
        #expect(DeviceNumber(major: 8, minor: 16).description == "8:16")
    }

    @Test("CBTInfo copies the kernel struct and ignores padding")
    func cbtInfo() {
        var raw = blksnap_cbtinfo()
        raw.device_capacity = 1 << 30
        raw.block_size = 1 << 16
        raw.block_count = 16384
        raw.changes_number = 254
        withUnsafeMutableBytes(of: &raw.generation_id) { $0.copyBytes(from: [UInt8](repeating: 7, count: 16)) }
        let info = CBTInfo(raw)
        #expect(info.capacityBytes == 1 << 30)
        #expect(info.blockSizeBytes == 65536)
        #expect(info.blockCount == 16384)
        #expect(info.changesNumber == 254)
        #expect(info.generationID.rawValue == [UInt8](repeating: 7, count: 16))
    }

    @Test("errno names are symbolic", arguments: [
        (Errno.noSuchFileOrDirectory, "ENOENT"), (.noData, "ENODATA"), (.alreadyInProcess, "EALREADY"),
        (.noSpace, "ENOSPC"), (.inappropriateIOCTLForDevice, "ENOTTY"), (.operationNotSupportedByDevice, "ENODEV"),
        (.notBlockDevice, "ENOTBLK"), (.noSuchProcess, "ESRCH"), (.resourceBusy, "EBUSY"), (.badAddress, "EFAULT"),
        (.interrupted, "EINTR"), (.resourceTemporarilyUnavailable, "EAGAIN"), (.ioError, "EIO"),
    ])
    func errnoNames(errno: Errno, name: String) {
        #expect(ErrnoName.name(of: errno) == name)
    }

    @Test("an errno without a name prints its number")
    func errnoUnnamed() {
        #expect(ErrnoName.name(of: Errno(rawValue: 4000)) == "errno 4000")
    }

    @Test("SnapshotEvent accessors")
    func eventAccessors() {
        let low = SnapshotEvent.lowFreeSpace(requestedSectors: 2_097_152, timeLabelNanoseconds: 9)
        #expect(low.code == 0 && low.timeLabelNanoseconds == 9)
        #expect(low.description.contains("2097152 sectors"))
        let unknown = SnapshotEvent.unknown(code: 9, payload: [], timeLabelNanoseconds: 1)
        #expect(unknown.code == 9)
    }
}
