#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import Dispatch
@testable import SimKernel
import Testing

/// §2: tracker and snapshot lifecycles, images (§2.3 step 9, §4.4), destroy (§2.4, §2.5).
@Suite("§2 lifecycles")
struct LifecycleTests {
    /// The image name of a device.
    func imageName(_ sim: Sim, _ device: String) -> String {
        let info = sim.kernel.listDevices().first { $0.name == device }!
        return "blksnap-image_\(info.major):\(info.minor)"
    }

    @Test("Take creates /dev/blksnap-image_<maj>:<min> (major 259, capacity and block sizes of the original)")
    func imageCreated() throws {
        let sim = Sim()
        _ = try sim.kernel.addDevice(name: "sda", capacitySectors: 16_384, logicalBlockSize: 4096, physicalBlockSize: 4096)
        _ = try sim.kernel.addDevice(name: "sdb", capacitySectors: 8192)
        let a = sim.kernel.open("/dev/sda", flags: O_RDWR), b = sim.kernel.open("/dev/sdb", flags: O_RDWR)
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        let id = sim.create()
        for fd in [a, b] { #expect(sim.attach(fd) == 0 && sim.add(fd, to: id) == 0) }
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == 0)
        let images = sim.kernel.listDevices().filter(\.isImage)
        #expect(images.map(\.name) == [imageName(sim, "sda"), imageName(sim, "sdb")])
        #expect(images.allSatisfy { $0.major == 259 } && images[1].minor > images[0].minor)
        #expect(images[0].capacitySectors == 16_384 && images[0].logicalBlockSize == 4096 && images[0].physicalBlockSize == 4096)
        #expect(images[1].capacitySectors == 8192 && images[1].logicalBlockSize == 512)
        let st = try sim.kernel.stat("/dev/" + images[0].name).get()
        #expect(st.mode == UInt32(S_IFBLK) | 0o660 && st.major == 259 && st.sizeBytes == 16_384 * 512)
        let (result, info) = sim.snapshotInfo(a, fill: 0x41)
        #expect(result == 0 && info.error_code == 0)
        let name = bytes(of: info.image)
        #expect(Array(name.prefix(images[0].name.utf8.count)) == Array(images[0].name.utf8))
        #expect(name[images[0].name.utf8.count...].allSatisfy { $0 == 0 })
        // Size ioctls on the image.
        let image = sim.kernel.open("/dev/" + images[0].name, flags: O_RDONLY)
        let out = sim.user.zeros(16)
        #expect(sim.ioctl(image, BLKSNAP_REQ_BLKGETSIZE64, out) == 0 && sim.user.load(UInt64.self, at: out) == 16_384 * 512)
        #expect(sim.ioctl(image, BLKSNAP_REQ_BLKSSZGET, out + 8) == 0 && sim.user.load(Int32.self, at: out + 8) == 4096)
        #expect(sim.ioctl(image, BLKSNAP_REQ_BLKFILTER_ATTACH, sim.user.alloc(filterName())) == 0)  // §12.1 item 11
        #expect(sim.ioctl(image, 0x1234, out) == -ENOTTY)
    }

    @Test("The image keeps the point-in-time data while the original changes (COW through pwrite)")
    func imageIsPointInTime() {
        let sim = Sim()
        let fd = sim.device("sda")
        #expect(sim.write(fd, offset: 0, count: 8192 * 512, byte: 0x11) == 8192 * 512)
        let (id, _) = (sim.create(), 0)
        _ = try! sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        #expect(sim.attach(fd) == 0 && sim.add(fd, to: id) == 0)
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == 0)
        let image = sim.kernel.open("/dev/" + imageName(sim, "sda"), flags: O_RDWR)
        #expect(sim.write(fd, offset: 4096, count: 200_000, byte: 0x22) == 200_000)
        let (n, data) = sim.read(image, offset: 0, count: 300_000)
        #expect(n == 300_000 && data.allSatisfy { $0 == 0x11 })
        #expect(sim.read(fd, offset: 4096, count: 1).1 == [0x22])
        // Unaligned image read.
        let (m, piece) = sim.read(image, offset: 777, count: 3)
        #expect(m == 3 && piece == [0x11, 0x11, 0x11])
    }

    @Test("Image writes never reach the original and mark the original's CBT in both maps")
    func imageWrite() throws {
        let sim = Sim()
        let (id, fd) = sim.takenSnapshot(device: "sda")
        let tracker = try #require(sim.kernel.blockLayer.disk(named: "sda")?.filter)
        let image = sim.kernel.open("/dev/" + imageName(sim, "sda"), flags: O_RDWR)
        #expect(sim.write(image, offset: 5 * 65_536 + 10, count: 100, byte: 0x77) == 100)
        #expect(sim.read(image, offset: 5 * 65_536 + 10, count: 100).1.allSatisfy { $0 == 0x77 })
        #expect(sim.read(image, offset: 5 * 65_536, count: 10).1.allSatisfy { $0 == 0 })
        #expect(sim.read(fd, offset: 5 * 65_536 + 10, count: 100).1.allSatisfy { $0 == 0 })
        #expect(tracker.cbt.writeMapSnapshot()[5] == 2 && tracker.cbt.readMapSnapshot()[5] == 1)
        #expect(sim.write(image, offset: 16_384 * 512, count: 1, byte: 1) == -Int(ENOSPC))
        #expect(sim.destroy(id) == 0)
    }

    @Test("Destroy removes the image; I/O on a still-open image fails; the tracker keeps tracking (§2.5)")
    func destroy() throws {
        let sim = Sim()
        let (id, fd) = sim.takenSnapshot(device: "sda")
        let name = imageName(sim, "sda")
        let image = sim.kernel.open("/dev/" + name, flags: O_RDWR)
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1) == 512)
        let mapBefore = sim.cbtMap(fd)
        let infoBefore = sim.cbtInfo(fd)
        #expect(sim.destroy(id) == 0)
        #expect(sim.kernel.open("/dev/" + name, flags: O_RDWR) == -ENOENT)
        #expect(sim.kernel.listDevices().allSatisfy { !$0.isImage })
        #expect(sim.read(image, offset: 0, count: 512).0 == -Int(EIO))
        #expect(sim.write(image, offset: 0, count: 512, byte: 1) == -Int(EIO))
        #expect(sim.kernel.close(image) == 0)
        let (result, info) = sim.snapshotInfo(fd, fill: 0x41)
        #expect(result == 0 && info.error_code == 0 && bytes(of: info.image).allSatisfy { $0 == 0x41 })
        // CBT untouched: same numbers and read map; writes keep accumulating with active 2.
        #expect(sim.cbtMap(fd) == mapBefore)
        let infoAfter = sim.cbtInfo(fd)
        #expect(infoAfter.changes_number == infoBefore.changes_number && bytes(of: infoAfter.generation_id) == bytes(of: infoBefore.generation_id))
        #expect(sim.write(fd, offset: 65_536, count: 512, byte: 1) == 512)
        #expect(sim.kernel.blockLayer.disk(named: "sda")?.filter?.cbt.writeMapSnapshot()[1] == 2)
        // The device can join a new snapshot; the next take switches again.
        let next = sim.create()
        #expect(sim.add(fd, to: next) == 0)
        #expect(sim.append(next, path: "/dev/sda-storage", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(next) == 0)
        #expect(sim.cbtInfo(fd).changes_number == 2)
    }

    @Test("snapshotadd: EALREADY in the same snapshot, EBUSY in another, accepted after take but useless")
    func snapshotadd() throws {
        let sim = Sim()
        let a = sim.create(), b = sim.create()
        let fd = sim.device("sda"), other = sim.device("sdb")
        #expect(sim.attach(fd) == 0 && sim.attach(other) == 0)
        #expect(sim.add(fd, to: a) == 0)
        #expect(sim.add(fd, to: a) == -EALREADY)
        #expect(sim.add(fd, to: b) == -EBUSY)
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        #expect(sim.append(a, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(a) == 0)
        #expect(sim.add(other, to: a) == 0)
        #expect(sim.kernel.listDevices().filter(\.isImage).count == 1)
        #expect(sim.snapshotInfo(other, fill: 0).1.error_code == 0)
        #expect(bytes(of: sim.snapshotInfo(other, fill: 0).1.image).allSatisfy { $0 == 0 })
        #expect(sim.add(other, to: b) == -EBUSY)
        #expect(sim.destroy(a) == 0)
        #expect(sim.add(other, to: b) == 0 && sim.add(fd, to: b) == 0)
    }

    @Test("Detach is never refused while taken; COW silently stops; re-attach gives a new tracker that the old snapshot refuses")
    func detachNeverRefused() throws {
        let sim = Sim()
        let fd = sim.device("sda")
        #expect(sim.write(fd, offset: 0, count: 65_536 * 4, byte: 0x11) == 65_536 * 4)
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        let id = sim.create()
        #expect(sim.attach(fd) == 0 && sim.add(fd, to: id) == 0)
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == 0)
        let image = sim.kernel.open("/dev/" + imageName(sim, "sda"), flags: O_RDWR)
        #expect(sim.detach(fd) == 0)
        #expect(sim.kernel.listDevices().contains { $0.isImage })
        #expect(sim.ctl(fd, cmd: 0, opt: sim.user.zeros(40), optlen: 40) == -ENOENT)
        #expect(sim.write(fd, offset: 0, count: 512, byte: 0x22) == 512)
        #expect(sim.read(image, offset: 0, count: 512).1.allSatisfy { $0 == 0x22 })
        #expect(sim.attach(fd) == 0)
        #expect(sim.cbtInfo(fd).changes_number == 0)
        #expect(sim.add(fd, to: id) == -EALREADY)
        #expect(sim.destroy(id) == 0)
        #expect(sim.add(fd, to: sim.create()) == 0)
    }

    @Test("A member detached before take gets an image but no COW")
    func detachedBeforeTake() throws {
        let sim = Sim()
        let fd = sim.device("sda")
        #expect(sim.write(fd, offset: 0, count: 512, byte: 0x11) == 512)
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 65_536)
        let id = sim.create()
        #expect(sim.attach(fd) == 0 && sim.add(fd, to: id) == 0 && sim.detach(fd) == 0)
        #expect(sim.append(id, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.take(id) == 0)
        let image = sim.kernel.open("/dev/" + imageName(sim, "sda"), flags: O_RDONLY)
        #expect(image >= 0)
        #expect(sim.write(fd, offset: 0, count: 512, byte: 0x22) == 512)
        #expect(sim.read(image, offset: 0, count: 512).1.allSatisfy { $0 == 0x22 })
    }

    @Test("BROKEN (§2.3 step 10): an image-name collision fails take after the CBT switch; TAKE then EALREADY, DESTROY works")
    func broken() throws {
        let sim = Sim()
        let fd = sim.device("sda")
        _ = try sim.kernel.addDevice(name: "store", capacitySectors: 1 << 20)
        let first = sim.create(), second = sim.create()
        #expect(sim.attach(fd) == 0 && sim.add(fd, to: first) == 0)
        #expect(sim.detach(fd) == 0 && sim.attach(fd) == 0 && sim.add(fd, to: second) == 0)
        #expect(sim.append(first, path: "/dev/store", ranges: [(0, 65_536)]) == 0)
        #expect(sim.append(second, path: "/dev/store", ranges: [(65_536, 65_536)]) == 0)
        #expect(sim.take(first) == 0)
        #expect(sim.take(second) == -EEXIST)
        #expect(sim.kernel.isTaken(snapshot: second) == true)
        #expect(sim.take(second) == -EALREADY)
        #expect(sim.cbtInfo(fd).changes_number == 1)  // the switch was consumed
        #expect(sim.kernel.listDevices().filter(\.isImage).count == 1)
        let (result, info) = sim.snapshotInfo(fd, fill: 0x41)
        #expect(result == 0 && info.error_code == 0 && bytes(of: info.image).allSatisfy { $0 == 0x41 })
        #expect(sim.destroy(second) == 0)
        #expect(sim.destroy(first) == 0)
        let third = sim.create()
        #expect(sim.add(fd, to: third) == 0)
        #expect(sim.append(third, path: "/dev/store", ranges: [(131_072, 65_536)]) == 0)
        #expect(sim.take(third) == 0)
        #expect(sim.cbtInfo(fd).changes_number == 2)
    }

    @Test("Removing a member device keeps the snapshot's hold; the image stays until destroy")
    func removeMember() throws {
        let sim = Sim()
        let (id, _) = sim.takenSnapshot(device: "sda")
        let name = imageName(sim, "sda")
        try sim.kernel.removeDevice(name: "sda")
        #expect(sim.kernel.listDevices().contains { $0.name == name })
        #expect(sim.destroy(id) == 0)
        #expect(!sim.kernel.listDevices().contains { $0.name == name })
    }

    @Test("REQ_NOWAIT write to a chunk not yet copied → EAGAIN; after a normal write it passes")
    func nowait() {
        let sim = Sim()
        let (_, fd) = sim.takenSnapshot(device: "sda")
        #expect(sim.write(fd, offset: 0, count: 512, byte: 1, nowait: true) == -Int(EAGAIN))
        #expect(sim.read(fd, offset: 0, count: 1).1 == [0])
        #expect(sim.write(fd, offset: 0, count: 512, byte: 2) == 512)
        #expect(sim.write(fd, offset: 512, count: 512, byte: 3, nowait: true) == 512)
        // Without a snapshot, nowait writes always pass.
        let plain = sim.device("sdz")
        #expect(sim.attach(plain) == 0)
        #expect(sim.write(plain, offset: 0, count: 512, byte: 1, nowait: true) == 512)
    }

    @Test("Destroy with a waiter: teardown deferred, devices busy, image present, new waits ESRCH")
    func destroyWithWaiter() throws {
        let sim = Sim()
        let (id, fd) = sim.takenSnapshot(device: "sda")
        let name = imageName(sim, "sda")
        #expect(sim.waitEvent(id, timeout: 0).0 == 0)  // the creation event
        let kernel = sim.kernel, control = sim.control
        let stop = Flag(), result = Box<Int32>()
        let group = DispatchGroup()
        background(group) {
            result.set(rawWaitEvent(kernel, control: control, id: id, timeout: 600_000,
                                    interrupted: { stop.isSet }).0)
        }
        sim.waitForWaiter(id)
        #expect(sim.destroy(id) == 0)
        #expect(sim.destroy(id) == -ENODEV)
        #expect(sim.kernel.snapshotIDs.isEmpty)
        #expect(sim.waitEvent(id, timeout: 0).0 == -ESRCH)
        #expect(sim.kernel.listDevices().contains { $0.name == name })
        let other = sim.create()
        #expect(sim.add(fd, to: other) == -EBUSY)
        #expect(result.current == nil)
        stop.set()
        join(group)
        #expect(result.current == -EINTR)
        #expect(!sim.kernel.listDevices().contains { $0.name == name })
        #expect(sim.add(fd, to: other) == 0)
    }

    @Test("Concurrent writers, image readers, waiters and control calls are safe")
    func concurrency() throws {
        let sim = Sim()
        let kernel = sim.kernel, control = sim.control
        _ = try kernel.addDevice(name: "store", capacitySectors: 1 << 20)
        let devices = ["sda", "sdb"].map { sim.device($0, sectors: 8192) }
        for fd in devices { #expect(sim.attach(fd) == 0) }
        let group = DispatchGroup()
        let done = Flag()
        for (index, fd) in devices.enumerated() {
            background(group) {
                var i = 0
                while !done.isSet {
                    let data = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 4096)
                    _ = data.withUnsafeBytes { kernel.pwrite(fd, from: $0, at: UInt64((i * 7919 + index) % 1000) * 4096) }
                    i += 1
                }
            }
        }
        background(group) {
            while !done.isSet {
                for info in kernel.listDevices() where info.isImage {
                    let image = kernel.open(info.path, flags: O_RDONLY)
                    guard image >= 0 else { continue }
                    var buffer = [UInt8](repeating: 0, count: 65_536)
                    let n = buffer.withUnsafeMutableBytes { kernel.pread(image, into: $0, at: 0) }
                    #expect(n == 65_536 || n == -Int(EIO))
                    _ = kernel.close(image)
                }
            }
        }
        for round in 0..<20 {
            let id = sim.create()
            // The round's waiter holds the snapshot: a destroyed snapshot with a waiter keeps its
            // devices busy (spec §12 fact 3), so the next round starts once this waiter returned.
            let waiter = DispatchGroup()
            background(waiter) { _ = rawWaitEvent(kernel, control: control, id: id, timeout: 5) }
            for fd in devices { #expect(sim.add(fd, to: id) == 0) }
            #expect(sim.append(id, path: "/dev/store", ranges: [(UInt64(round) * 40_000, 40_000)]) == 0)
            #expect(sim.take(id) == 0)
            usleep(2000)
            #expect(sim.destroy(id) == 0)
            join(waiter)
        }
        done.set()
        join(group)
        #expect(sim.kernel.snapshotIDs.isEmpty)
        #expect(sim.kernel.listDevices().allSatisfy { !$0.isImage })
    }
}
