#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import SimKernel
import SystemPackage
import Testing

/// §3.5, §12 fact 5: a member that grows (one write past its old end) silently loses
/// copy-on-write; ProtectionCheck reports it as corruption, with no state of its own
/// (the image's capacity is the capacity at take).
@Suite("Guard: resized member")
struct GuardResizeTests {
    let chunk = GuardFixture.chunkBytes
    let image = "/dev/blksnap-image_240:0"

    @Test("raw ioctls: grow, one write past the old end, then writes show through; no event, error_code 0")
    func silentFailure() throws {
        let f = try GuardFixture()
        let id = f.rawTakenSnapshot()
        try f.sim.resizeDevice(name: "sda", capacitySectors: GuardFixture.deviceSectors * 2)
        f.write("/dev/sda", atByte: GuardFixture.deviceSectors * 512, pattern: 9, count: 4096)
        #expect(f.sim.cbtState(device: "sda")?.isCorrupted == true)
        f.write("/dev/sda", atByte: 0, pattern: 2, count: chunk)
        #expect(f.read(image, atByte: 0, count: chunk) == DataPattern(seed: 2).bytes(atByte: 0, count: chunk), "shows through")
        #expect(f.rawPollEvent(id) == nil, "no event")
        let (result, errorCode, name) = f.rawSnapshotInfo("/dev/sda")
        #expect(result == 0 && errorCode == 0 && name == "blksnap-image_240:0", "error_code 0: looks healthy")
    }

    @Test("ProtectionCheck: grown, shrunk and CBT-corrupted members are corruption-class")
    func guardReports() throws {
        let f = try GuardFixture()
        _ = f.rawTakenSnapshot()
        let check = ProtectionCheck(kernel: f.kernel)
        #expect(check.check(originalPath: "/dev/sda") == nil, "healthy right after take")
        #expect(check.check(originalPath: "/dev/sdb") == nil, "not in a snapshot: nothing to check")

        try f.sim.resizeDevice(name: "sda", capacitySectors: GuardFixture.deviceSectors + 128)
        let grown = try #require(check.check(originalPath: "/dev/sda"))
        #expect(grown.hazard == .resizedMember && grown.category == .corrupted)
        #expect(grown.description.contains("device /dev/sda grew from 8388608 to 8454144 bytes after take: the snapshot no longer protects it"))
        #expect(grown.description.hasSuffix("(ESTALE)"))

        try f.sim.resizeDevice(name: "sda", capacitySectors: GuardFixture.deviceSectors - 128)
        #expect(check.check(originalPath: "/dev/sda")?.description.contains("shrank from 8388608 to 8323072 bytes") == true)

        // Back to the old size after a write past the old end: capacity matches, the CBT does not.
        try f.sim.resizeDevice(name: "sda", capacitySectors: GuardFixture.deviceSectors + 128)
        f.write("/dev/sda", atByte: GuardFixture.deviceSectors * 512, pattern: 9, count: 4096)
        try f.sim.resizeDevice(name: "sda", capacitySectors: GuardFixture.deviceSectors)
        let corrupted = try #require(check.check(originalPath: "/dev/sda"))
        #expect(corrupted.hazard == .resizedMember)
        #expect(corrupted.description.contains("the CBT of /dev/sda is corrupted"))
    }

    @Test("a recorded capacity (session) is compared instead of the image's")
    func recordedCapacity() throws {
        let f = try GuardFixture()
        _ = f.rawTakenSnapshot()
        let check = ProtectionCheck(kernel: f.kernel)
        let recorded = GuardFixture.deviceSectors * 512
        #expect(check.check(originalPath: "/dev/sda", expectedImageName: "blksnap-image_240:0", recordedCapacityBytes: recorded) == nil)
        let loss = check.check(originalPath: "/dev/sda", expectedImageName: "blksnap-image_240:0", recordedCapacityBytes: recorded - 512)
        #expect(loss?.hazard == .resizedMember)
        let before = f.state
        _ = check.check(originalPath: "/dev/sda")
        #expect(f.state == before, "a check changes nothing")
    }
}
