#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import SimKernel
import SystemPackage
import Testing

/// §2.2: snapshotadd after take is accepted but useless; §1.3/§12 fact 6: a zero-sector
/// attach fails ENOMEM (with a kernel WARNING). The guards refuse both before the kernel.
@Suite("Guard: add after take, zero-sector attach")
struct GuardAddAttachTests {
    @Test("raw ioctls: snapshotadd after take returns 0 but gives no image, and the device stays busy")
    func addAfterTakeSilent() throws {
        let f = try GuardFixture()
        let id = f.rawTakenSnapshot()
        #expect(f.rawAttach("/dev/sdb") == 0)
        #expect(f.rawAdd("/dev/sdb", to: id) == 0, "accepted")
        let (result, errorCode, image) = f.rawSnapshotInfo("/dev/sdb")
        #expect(result == 0 && errorCode == 0 && image.isEmpty, "no image")
        #expect(!f.sim.listDevices().contains { $0.name == "blksnap-image_240:1" })
        let other = f.rawCreate()
        #expect(f.rawAdd("/dev/sdb", to: other) == -EBUSY, "busy until the taken snapshot is destroyed")
        #expect(f.rawPollEvent(id) == nil, "no event")
    }

    @Test("SnapshotAddGuard refuses a taken snapshot and changes nothing")
    func addAfterTakeGuarded() throws {
        let f = try GuardFixture()
        let id = f.rawTakenSnapshot()
        #expect(f.rawAttach("/dev/sdb") == 0)
        #expect(try SnapshotAddGuard.takenState(of: id, control: f.control) == .taken)
        let before = f.state
        let error = try #require(throws: BlksnapError.self) {
            try SnapshotAddGuard.add(f.device("/dev/sdb"), to: id, control: f.control)
        }
        #expect(error.hazard == .addAfterTake && error.category == .refused && error.errno == .alreadyInProcess)
        #expect(error.description.contains("BLKFILTER_CTL snapshotadd on /dev/sdb, snapshot \(id): snapshot \(id) is already taken"))
        #expect(f.state == before, "nothing changed")
        let other = f.rawCreate()
        #expect(f.rawAdd("/dev/sdb", to: other) == 0, "sdb is still free for a new snapshot")
    }

    @Test("not taken: added; several snapshots with images: added with a warning; known state wins")
    func addStates() throws {
        let f = try GuardFixture()
        #expect(f.rawAttach("/dev/sdb") == 0)
        let fresh = f.rawCreate()
        #expect(try SnapshotAddGuard.takenState(of: fresh, control: f.control) == .notTaken)
        #expect(try SnapshotAddGuard.add(f.device("/dev/sdb"), to: fresh, control: f.control).isEmpty)
        #expect(f.rawSnapshotInfo("/dev/sdb").0 == 0)

        let g = try GuardFixture()
        _ = g.rawTakenSnapshot()
        let second = g.rawCreate()
        #expect(g.rawAttach("/dev/sdb") == 0)
        guard case .unknown = try SnapshotAddGuard.takenState(of: second, control: g.control) else {
            Issue.record("two snapshots and an image: the image cannot be attributed")
            return
        }
        let before = g.state
        #expect(throws: BlksnapError.self) {
            try SnapshotAddGuard.add(g.device("/dev/sdb"), to: second, control: g.control, knownTaken: true)
        }
        #expect(g.state == before)
        let warnings = try SnapshotAddGuard.add(g.device("/dev/sdb"), to: second, control: g.control)
        #expect(warnings.count == 1 && warnings[0].contains("cannot tell whether snapshot \(second) is taken"))
    }

    @Test("raw ioctl: attach of a zero-sector device fails ENOMEM; AttachGuard refuses before the ioctl")
    func zeroSectorAttach() throws {
        let f = try GuardFixture()
        _ = try f.sim.addDevice(name: "empty", capacitySectors: 0)
        _ = try f.sim.addDevice(name: "empty2", capacitySectors: 0)
        #expect(f.rawAttach("/dev/empty") == -ENOMEM)
        let before = f.state
        let error = try #require(throws: BlksnapError.self) { try f.device("/dev/empty2").attach() }
        #expect(error.hazard == .zeroSectorAttach && error.category == .refused)
        #expect(error.description == "BLKFILTER_ATTACH on /dev/empty2: device /dev/empty2 has 0 sectors: v5 would fail with ENOMEM after a kernel WARNING (a panic under panic_on_warn); give the device a size first (EINVAL)")
        #expect(f.state == before)
        try f.device("/dev/sda").attach()
        #expect(f.sim.cbtState(device: "sda") != nil)
    }
}
