#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import SimKernel
import SystemPackage
import Testing

/// §2.1, §12 fact 5: a detached member silently stops being protected; DetachGuard
/// refuses, ProtectionCheck reports it afterwards.
@Suite("Guard: detach of a snapshot member")
struct GuardDetachTests {
    let chunk = GuardFixture.chunkBytes

    @Test("raw ioctls: detach after take returns 0; later writes show through in the image; no event, error_code 0")
    func silentFailure() throws {
        let f = try GuardFixture()
        let id = f.rawTakenSnapshot()
        let image = "/dev/blksnap-image_240:0"
        #expect(f.read(image, atByte: 0, count: chunk) == DataPattern(seed: 1).bytes(atByte: 0, count: chunk))
        #expect(f.rawDetach("/dev/sda") == 0, "v5 never refuses")
        f.write("/dev/sda", atByte: 0, pattern: 2, count: chunk)
        #expect(f.read(image, atByte: 0, count: chunk) == DataPattern(seed: 2).bytes(atByte: 0, count: chunk),
                "the new data shows through: no copy-on-write")
        #expect(f.rawPollEvent(id) == nil, "no event")
        #expect(f.rawSnapshotInfo("/dev/sda").0 == -ENOENT, "the device no longer answers")
        // Re-attach: a new tracker, no error, still unprotected.
        #expect(f.rawAttach("/dev/sda") == 0)
        let (result, errorCode, imageName) = f.rawSnapshotInfo("/dev/sda")
        #expect(result == 0 && errorCode == 0 && imageName.isEmpty)
    }

    @Test("DetachGuard refuses while the device has an image, and changes nothing")
    func guardRefuses() throws {
        let f = try GuardFixture()
        _ = f.rawTakenSnapshot()
        let before = f.state
        let error = try #require(throws: BlksnapError.self) { try DetachGuard.detach(f.device("/dev/sda")) }
        #expect(error.hazard == .detachMember)
        #expect(error.category == .refused)
        #expect(error.errno == .resourceBusy)
        #expect(error.description.contains("BLKFILTER_DETACH on /dev/sda: device /dev/sda is in a taken snapshot (image /dev/blksnap-image_240:0)"))
        #expect(error.description.hasSuffix("(EBUSY)"))
        #expect(f.state == before, "nothing changed")
        // Still protected: the image keeps the old data.
        f.write("/dev/sda", atByte: 0, pattern: 2, count: chunk)
        #expect(f.read("/dev/blksnap-image_240:0", atByte: 0, count: chunk) == DataPattern(seed: 1).bytes(atByte: 0, count: chunk))
    }

    @Test("--force detaches and says exactly what is lost; ProtectionCheck then reports the member")
    func forcedDetach() throws {
        let f = try GuardFixture()
        _ = f.rawTakenSnapshot()
        let outcome = try DetachGuard.detach(f.device("/dev/sda"), force: true)
        #expect(outcome.statusBefore == .inTakenSnapshot(imageName: "blksnap-image_240:0", errorCode: nil))
        let lost = try #require(outcome.lostProtection)
        #expect(lost.contains("image /dev/blksnap-image_240:0 no longer receives copy-on-write"))
        #expect(lost.contains("CBT map is discarded"))
        #expect(f.sim.cbtState(device: "sda") == nil, "detached")

        let check = ProtectionCheck(kernel: f.kernel)
        let inventory = DeviceInventory.read(from: f.kernel)
        let losses = check.check(images: inventory.images, in: inventory)
        #expect(losses.count == 1)
        #expect(losses.first?.hazard == .unprotectedMember)
        #expect(losses.first?.category == .corrupted)
        #expect(losses.first?.description.contains("device /dev/sda was detached while in a taken snapshot") == true)
        // Re-attached: a new tracker, still reported.
        #expect(f.rawAttach("/dev/sda") == 0)
        let again = check.check(images: inventory.images, in: inventory)
        #expect(again.first?.description.contains("was detached and re-attached") == true)
    }

    @Test("a device without an image detaches; a known member of a not-taken snapshot is refused")
    func idleAndKnownMember() throws {
        let f = try GuardFixture()
        #expect(f.rawAttach("/dev/sdb") == 0)
        let id = f.rawCreate()
        #expect(f.rawAdd("/dev/sdb", to: id) == 0)
        let before = f.state
        let refused = try #require(throws: BlksnapError.self) {
            try DetachGuard.detach(f.device("/dev/sdb"), knownMember: true)
        }
        #expect(refused.hazard == .detachMember)
        #expect(f.state == before)
        // Without records v5 cannot tell: the member of a created snapshot detaches (documented limit).
        let outcome = try DetachGuard.detach(f.device("/dev/sdb"))
        #expect(outcome.statusBefore == .trackedWithoutImage && outcome.lostProtection == nil)
        // Take gives it an image that is never protected; the post-take check finds it.
        #expect(f.rawAppend(id, path: "/dev/store", ranges: [(0, 8192)]) == 0)
        #expect(f.rawTake(id) == 0)
        let inventory = DeviceInventory.read(from: f.kernel)
        let losses = ProtectionCheck(kernel: f.kernel).check(images: inventory.images, in: inventory)
        #expect(losses.map(\.hazard) == [.unprotectedMember])
        // Not tracked at all: the kernel's own ENOENT.
        let untracked = try #require(throws: BlksnapError.self) { try DetachGuard.detach(f.device("/dev/sda")) }
        #expect(untracked.errno == .noSuchFileOrDirectory && untracked.hazard == nil)
    }
}
