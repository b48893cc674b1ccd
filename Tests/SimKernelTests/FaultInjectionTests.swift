#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import CBlksnapUAPI
import Dispatch
import SystemPackage
import Testing
@testable import SimKernel

/// A taken snapshot of one device with a byte-exact reference copy of what the original
/// must hold: every write that the simulator reports as done is applied to it.
private final class FaultRig: @unchecked Sendable {
    static let chunkBytes = 65_536
    static let chunkSectors: UInt64 = 128
    let sim: Sim
    let id: SimUUID
    let fd: Int32
    let image: Int32
    let name: String
    let storageName: String
    /// What the original must contain.
    var reference: [UInt8]
    /// What the image must show (the original at take time, modified by image writes).
    var snapshotReference: [UInt8]

    /// `chunks` chunks of device, storage of `storageChunks` chunks; a non-zero pattern
    /// written before the take so that COW copies are distinguishable from zeros.
    init(name: String, chunks: Int = 64, storageChunks: Int = 256) {
        let sim = Sim()
        self.sim = sim
        self.name = name
        storageName = name + "-st"
        let sectors = UInt64(chunks) * Self.chunkSectors
        let fd = sim.device(name, sectors: sectors)
        self.fd = fd
        let pattern = (0..<UInt64(chunks) * Self.chunkSectors).flatMap { [UInt8](repeating: UInt8(truncatingIfNeeded: $0 &* 7 &+ 1), count: 512) }
        _ = pattern.withUnsafeBytes { sim.kernel.pwrite(fd, from: $0, at: 0) }
        reference = pattern
        snapshotReference = pattern
        _ = try! sim.kernel.addDevice(name: storageName, capacitySectors: UInt64(storageChunks) * Self.chunkSectors)
        #expect(sim.attach(fd) == 0)
        id = sim.create()
        #expect(sim.add(fd, to: id) == 0)
        #expect(sim.append(id, path: "/dev/" + storageName, ranges: [(0, UInt64(storageChunks) * Self.chunkSectors)]) == 0)
        #expect(sim.take(id) == 0)
        let info = sim.kernel.listDevices().first { $0.name == name }!
        image = sim.kernel.open("/dev/blksnap-image_\(info.major):\(info.minor)", flags: O_RDWR)
        #expect(image >= 3)
        // The creation event (§5.3) is consumed so that the next one is a fault's.
        #expect(sim.waitEvent(id, timeout: 0).0 == 0)
    }

    /// A user write of one byte value over `count` bytes at `offset`; the reference
    /// follows when the simulator reports success.
    @discardableResult
    func write(offset: Int, count: Int = 4096, byte: UInt8) -> Int {
        let result = sim.write(fd, offset: UInt64(offset), count: count, byte: byte)
        if result == count { reference.replaceSubrange(offset..<offset + count, with: repeatElement(byte, count: count)) }
        return result
    }

    /// Writes 4 KiB at the start of each of `chunks` (COW of each, then a store past 16).
    func touch(_ chunks: Range<Int>, byte: UInt8) {
        for chunk in chunks { #expect(write(offset: chunk * Self.chunkBytes, byte: byte) == 4096) }
    }

    /// The original's media bytes, read below every filter and fault.
    func originalBytes() -> [UInt8] {
        let device = sim.kernel.blockLayer.disk(named: name)!.device!
        var bytes = [UInt8](repeating: 0, count: reference.count)
        let read = bytes.withUnsafeMutableBytes { device.readRaw(into: $0, atByte: 0) }
        #expect(read == reference.count)
        return bytes
    }

    /// Disarms every fault and checks the original against the reference, byte for byte.
    func expectOriginalIntact(_ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
        try? sim.kernel.setFaults(device: name, [])
        try? sim.kernel.setFaults(device: storageName, [])
        let actual = originalBytes()
        let firstDifference = actual == reference ? nil : actual.indices.first { actual[$0] != reference[$0] }
        #expect(firstDifference == nil, "original differs from the reference at byte \(firstDifference ?? -1): \(comment)",
                sourceLocation: sourceLocation)
    }

    /// Image read of `count` bytes at `offset`: result and bytes.
    func readImage(offset: Int, count: Int = 4096) -> (Int, [UInt8]) {
        var data = [UInt8](repeating: 0xEE, count: count)
        let result = data.withUnsafeMutableBytes { sim.kernel.pread(image, into: $0, at: UInt64(offset)) }
        return (result, data)
    }

    /// The next event without waiting: (code, device, errno) or nil.
    func nextEvent() -> (code: UInt32, major: UInt32, minor: UInt32, errno: Int32)? {
        let (result, raw) = sim.waitEvent(id, timeout: 0)
        guard result == 0 else { return nil }
        let event = raw.withUnsafeBytes { $0.loadUnaligned(as: blksnap_snapshot_event.self) }
        return withUnsafeBytes(of: event.data) { data in
            (event.code, data.loadUnaligned(fromByteOffset: 0, as: UInt32.self),
             data.loadUnaligned(fromByteOffset: 4, as: UInt32.self), data.loadUnaligned(fromByteOffset: 8, as: Int32.self))
        }
    }

    /// snapshotinfo's error_code of the original.
    var errorCode: Int32 { sim.snapshotInfo(fd).1.error_code }

    var deviceNumber: (UInt32, UInt32) {
        let info = sim.kernel.listDevices().first { $0.name == name }!
        return (info.major, info.minor)
    }

    /// Expects exactly one `corrupted` event for the original with `errno`, then none.
    func expectCorrupted(errno expected: Int32, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let event = nextEvent() else {
            Issue.record("no corrupted event", sourceLocation: sourceLocation)
            return
        }
        #expect(event.code == UInt32(blksnap_event_code_corrupted.rawValue), sourceLocation: sourceLocation)
        #expect(event.major == deviceNumber.0 && event.minor == deviceNumber.1, sourceLocation: sourceLocation)
        #expect(event.errno == expected, "event errno", sourceLocation: sourceLocation)
        #expect(errorCode == -expected, "snapshotinfo error_code", sourceLocation: sourceLocation)
        #expect(nextEvent() == nil, "a second event", sourceLocation: sourceLocation)
    }

    /// Runs `body` on a GCD thread and fails (instead of hanging) when it does not end in 20 s.
    func bounded(_ what: String, _ body: @escaping @Sendable () -> Void) {
        let group = DispatchGroup()
        background(group, body)
        if group.wait(timeout: .now() + 20) == .timedOut { Issue.record("\(what) did not finish: deadlock?") }
    }

    func destroy() { #expect(sim.destroy(id) == 0) }
}

/// Results gathered from several threads.
private final class Outcomes: @unchecked Sendable {
    private let lock = WaitQueue()
    private var items: [(offset: Int, byte: UInt8, result: Int)] = []
    func append(_ item: (Int, UInt8, Int)) { lock.withLock { items.append(item) } }
    var all: [(offset: Int, byte: UInt8, result: Int)] { lock.withLock { items } }
}

/// Injected media faults (§4.3–§4.6, §5.4): each ends as the spec says, the original
/// always equals its reference copy, and nothing blocks.
@Suite("Fault injection")
struct FaultInjectionTests {
    @Test("a fault plan matches by sector range and operation count")
    func planMatching() throws {
        let device = try SimBlockDevice(name: "fp", major: 240, minor: 99, capacitySectors: 64)
        var buffer = [UInt8](repeating: 1, count: 512)
        device.setFaults([SimFault(.write, sectors: 8..<16, skipOperations: 1, failCount: 2, errno: ENOSPC)])
        let results = (0..<5).map { _ in buffer.withUnsafeBytes { device.writeRaw($0, atByte: 8 * 512) } }
        #expect(results == [512, -Int(ENOSPC), -Int(ENOSPC), 512, 512])
        #expect(buffer.withUnsafeBytes { device.writeRaw($0, atByte: 7 * 512) } == 512, "sector 7 is outside")
        #expect(buffer.withUnsafeMutableBytes { device.readRaw(into: $0, atByte: 8 * 512) } == 512, "reads unaffected")
        #expect(device.faultsFired == 2)
        device.setFaults([SimFault(.read)])
        #expect(buffer.withUnsafeMutableBytes { device.readRaw(into: $0, atByte: 0) } == -Int(EIO))
        device.setFaults([])
        #expect(buffer.withUnsafeMutableBytes { device.readRaw(into: $0, atByte: 0) } == 512)
        #expect(device.faultsFired == 0)
    }

    @Test("an unknown device or an image cannot be faulted")
    func faultTargets() throws {
        let rig = FaultRig(name: "ftgt")
        #expect(throws: SimErrno(ENOENT)) { try rig.sim.kernel.setFaults(device: "nope", [SimFault(.read)]) }
        let (major, minor) = rig.deviceNumber
        #expect(throws: SimErrno(EINVAL)) {
            try rig.sim.kernel.setFaults(device: "blksnap-image_\(major):\(minor)", [SimFault(.read)])
        }
        rig.destroy()
    }

    @Test("read error of the original during COW: write lands, chunk FAILED, corrupted EIO, image EIO")
    func cowLoadReadError() throws {
        let rig = FaultRig(name: "fcow")
        try rig.sim.kernel.setFaults(device: rig.name, [SimFault(.read, sectors: 128..<256, failCount: 1)])
        rig.bounded("COW write") { #expect(rig.write(offset: FaultRig.chunkBytes + 512, byte: 0xA1) == 4096) }
        #expect(rig.sim.kernel.faultsFired(device: rig.name) == 1)
        rig.expectCorrupted(errno: EIO)
        #expect(rig.readImage(offset: 0).0 == -Int(EIO), "image I/O fails after corruption")
        #expect(rig.readImage(offset: FaultRig.chunkBytes).0 == -Int(EIO))
        // COW is off for this device: later writes pass straight through, no new event.
        rig.touch(2..<40, byte: 0xA2)
        #expect(rig.nextEvent() == nil)
        rig.expectOriginalIntact("after a COW read error")
        rig.destroy()
    }

    @Test("write error of the difference storage at store time: corrupted EIO, original intact")
    func storeWriteError() throws {
        let rig = FaultRig(name: "fstw")
        try rig.sim.kernel.setFaults(device: rig.storageName, [SimFault(.write)])
        // 16 chunks stay in RAM (§4.5); the 17th queues a store that fails.
        rig.bounded("16 COWs") { rig.touch(0..<16, byte: 0xB1) }
        #expect(rig.nextEvent() == nil, "nothing stored yet")
        #expect(rig.readImage(offset: 0).1 == Array(rig.snapshotReference[0..<4096]))
        rig.bounded("17th COW") { rig.touch(16..<17, byte: 0xB2) }
        #expect(rig.sim.kernel.faultsFired(device: rig.storageName)! >= 1)
        rig.expectCorrupted(errno: EIO)
        #expect(rig.readImage(offset: 0).0 == -Int(EIO))
        rig.expectOriginalIntact("after a store write error")
        rig.destroy()
    }

    @Test("an ENOSPC write error of the storage is an I/O error to blksnap (−EIO, §4.5)")
    func storeWriteNoSpace() throws {
        let rig = FaultRig(name: "fsns")
        try rig.sim.kernel.setFaults(device: rig.storageName, [SimFault(.write, skipOperations: 3, errno: ENOSPC)])
        rig.bounded("20 COWs") { rig.touch(0..<20, byte: 0xB3) }
        #expect(rig.sim.kernel.faultsFired(device: rig.storageName) == 1, "three stores pass, the fourth fails")
        rig.expectCorrupted(errno: EIO)
        rig.expectOriginalIntact("after an ENOSPC store")
        rig.destroy()
    }

    @Test("overflow of the difference storage: corrupted ENOSPC (+28 in the event, −28 in snapshotinfo), permanent")
    func overflow() throws {
        let rig = FaultRig(name: "fovf", storageChunks: 4)
        rig.bounded("24 COWs") { rig.touch(0..<24, byte: 0xC1) }
        rig.expectCorrupted(errno: ENOSPC)
        #expect(rig.readImage(offset: 0).0 == -Int(EIO))
        // §5.4: appended capacity does not revive it.
        _ = try! rig.sim.kernel.addDevice(name: "fovf-more", capacitySectors: 4096)
        #expect(rig.sim.append(rig.id, path: "/dev/fovf-more", ranges: [(0, 4096)]) == 0)
        rig.touch(24..<40, byte: 0xC2)
        #expect(rig.nextEvent() == nil)
        #expect(rig.readImage(offset: 0).0 == -Int(EIO))
        rig.expectOriginalIntact("after overflow")
        rig.destroy()
    }

    @Test("read error of the storage on an image read of a STORED chunk: that read fails EIO, nothing corrupted")
    func storageReadError() throws {
        let rig = FaultRig(name: "fstr")
        rig.touch(0..<20, byte: 0xD1)  // chunks 0..3 stored (the worker drains the queue)
        try rig.sim.kernel.setFaults(device: rig.storageName, [SimFault(.read)])
        var failed = 0
        for chunk in 0..<20 where rig.readImage(offset: chunk * FaultRig.chunkBytes).0 == -Int(EIO) { failed += 1 }
        #expect(failed > 0, "some chunk was stored and its read hit the fault")
        #expect(rig.nextEvent() == nil, "a failed redirected read does not corrupt the diff area")
        #expect(rig.errorCode == 0)
        try rig.sim.kernel.setFaults(device: rig.storageName, [])
        for chunk in 0..<20 {
            let offset = chunk * FaultRig.chunkBytes
            let (result, bytes) = rig.readImage(offset: offset)
            #expect(result == 4096)
            #expect(bytes == Array(rig.snapshotReference[offset..<offset + 4096]), "image chunk \(chunk) shows take-time data")
        }
        rig.expectOriginalIntact("after storage read errors")
        rig.destroy()
    }

    @Test("image write to a NEW chunk whose load fails: EIO, chunk FAILED, corrupted EIO, original untouched")
    func imageWriteLoadError() throws {
        let rig = FaultRig(name: "fiwl")
        try rig.sim.kernel.setFaults(device: rig.name, [SimFault(.read, sectors: 640..<768)])
        let data = [UInt8](repeating: 0xE1, count: 4096)
        rig.bounded("image write") {
            let result = data.withUnsafeBytes { rig.sim.kernel.pwrite(rig.image, from: $0, at: UInt64(5 * FaultRig.chunkBytes)) }
            #expect(result < 0)
        }
        rig.expectCorrupted(errno: EIO)
        rig.expectOriginalIntact("image writes never reach the original")
        rig.destroy()
    }

    @Test("read error of the original on a user read: the caller gets EIO, the snapshot is unaffected")
    func userReadError() throws {
        let rig = FaultRig(name: "furd")
        try rig.sim.kernel.setFaults(device: rig.name, [SimFault(.read, sectors: 0..<8)])
        #expect(rig.sim.read(rig.fd, offset: 0, count: 4096).0 == -Int(EIO))
        #expect(rig.sim.read(rig.fd, offset: 8192, count: 4096).0 == 4096)
        #expect(rig.nextEvent() == nil)
        #expect(rig.errorCode == 0)
        rig.expectOriginalIntact("after user read errors")
        rig.destroy()
    }

    @Test("write error of the original on a user write: EIO to the caller, reference unchanged")
    func userWriteError() throws {
        let rig = FaultRig(name: "fuwr")
        try rig.sim.kernel.setFaults(device: rig.name, [SimFault(.write, sectors: 256..<384, failCount: 1)])
        #expect(rig.write(offset: 2 * FaultRig.chunkBytes, byte: 0xF1) == -Int(EIO))
        // The COW copy was taken before the failed write: the image still shows take time.
        #expect(rig.readImage(offset: 2 * FaultRig.chunkBytes).1 == Array(rig.snapshotReference[2 * 65_536..<2 * 65_536 + 4096]))
        #expect(rig.write(offset: 2 * FaultRig.chunkBytes, byte: 0xF2) == 4096)
        rig.expectOriginalIntact("after a failed user write")
        rig.destroy()
    }

    @Test("faults under concurrent writers: every writer finishes, one corrupted event, original intact")
    func concurrentFaults() throws {
        let rig = FaultRig(name: "fcon", chunks: 128, storageChunks: 512)
        try rig.sim.kernel.setFaults(device: rig.storageName, [SimFault(.write, skipOperations: 10)])
        let group = DispatchGroup()
        let outcomes = Outcomes()
        for writer in 0..<8 {
            background(group) {
                for step in 0..<32 {
                    let chunk = (writer * 16 + step * 5) % 128
                    let byte = UInt8(writer * 32 + step)
                    let result = rig.sim.write(rig.fd, offset: UInt64(chunk * FaultRig.chunkBytes + writer * 512), count: 512, byte: byte)
                    outcomes.append((chunk * FaultRig.chunkBytes + writer * 512, byte, result))
                }
            }
        }
        join(group, seconds: 30)
        // Each writer owns its 512-byte slot of a chunk, so the last write per slot wins.
        for (offset, byte, result) in outcomes.all {
            #expect(result == 512)
            rig.reference.replaceSubrange(offset..<offset + 512, with: repeatElement(byte, count: 512))
        }
        rig.expectCorrupted(errno: EIO)
        rig.expectOriginalIntact("after concurrent faulted stores")
        rig.destroy()
    }
}
