#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import Foundation
import SimKernel
import SystemPackage
import Testing

/// The session uses the guards: zero-sector members and storage on tracked devices are
/// refused at start (rolled back), and a member detached or resized behind its back is
/// reported as a corrupted event (the raw silent behaviour is in GuardDetachTests and
/// GuardResizeTests).
@Suite("Guard: session")
struct GuardSessionTests {
    final class Recorder {
        var events: [SessionEvent] = []
    }

    func session(_ f: GuardFixture, devices: [String] = ["/dev/sda"], storage: String = "/dev/store",
                 allowSameDevice: Bool = false, recorder: Recorder) throws -> Session {
        let provider = try DeviceRangeProvider(kernel: f.kernel, devicePath: storage,
                                               ranges: [SectorRange(offsetSectors: 0, countSectors: 16_384)])
        let configuration = SessionConfiguration(devices: devices, pollMilliseconds: 10, hz: 250, endOnCorruption: true,
                                                 allowSameDeviceStorage: allowSameDevice, protectionCheckMilliseconds: 0)
        return Session(kernel: f.kernel, configuration: configuration, storage: provider) { recorder.events.append($0) }
    }

    func corruptedMeanings(_ recorder: Recorder) -> [String] {
        recorder.events.compactMap { event in
            if case .corrupted(_, _, _, _, let meaning) = event { return meaning }
            return nil
        }
    }

    @Test("a zero-sector member is refused at attach and the snapshot is rolled back")
    func zeroSectorMember() throws {
        let f = try GuardFixture()
        _ = try f.sim.addDevice(name: "empty", capacitySectors: 0)
        let before = f.state
        let error = try #require(throws: SessionError.self) {
            try session(f, devices: ["/dev/empty"], recorder: Recorder()).start()
        }
        #expect(error.stage == .attach && error.message.contains("device /dev/empty has 0 sectors"))
        #expect(f.state == before)
    }

    @Test("storage on a tracked non-member is refused unless allowed (then a warning)")
    func storageOnTrackedDevice() throws {
        let f = try GuardFixture()
        #expect(f.rawAttach("/dev/sdb") == 0)
        let before = f.state
        let error = try #require(throws: SessionError.self) {
            try session(f, storage: "/dev/sdb", recorder: Recorder()).start()
        }
        #expect(error.stage == .storage && error.errno == .resourceBusy)
        #expect(error.message.contains("storage /dev/sdb: it is tracked by blksnap"))
        #expect(error.category == .refused)
        #expect(f.state == before, "rolled back: no snapshot, sda detached again")

        let recorder = Recorder()
        let allowed = try session(f, storage: "/dev/sdb", allowSameDevice: true, recorder: recorder)
        try allowed.start()
        #expect(recorder.events.contains { if case .warning(let text) = $0 { return text.contains("(allowed)") } else { return false } })
        try allowed.teardown()
    }

    @Test("a member resized during the session ends it as corrupted (ESTALE)")
    func resizedDuringSession() throws {
        let f = try GuardFixture()
        let recorder = Recorder()
        let s = try session(f, recorder: recorder)
        try s.start()
        #expect(corruptedMeanings(recorder).isEmpty, "healthy after take")
        try f.sim.resizeDevice(name: "sda", capacitySectors: GuardFixture.deviceSectors * 2)
        let reason = s.runEventLoop()
        #expect(reason == .corrupted(device: "240:0", errno: ESTALE))
        #expect(corruptedMeanings(recorder).first?.contains("device /dev/sda grew from 8388608 to 16777216 bytes after take") == true)
        #expect(s.corruptedDevices == [DeviceNumber(major: 240, minor: 0)])
        try s.teardown()
    }

    @Test("a member detached during the session is reported once; a healthy session reports nothing")
    func detachedDuringSession() throws {
        let f = try GuardFixture()
        let healthyRecorder = Recorder()
        let healthy = try session(f, recorder: healthyRecorder)
        try healthy.start()
        let stop = healthy.stopHandle
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { stop.requestStop() }
        #expect(healthy.runEventLoop() == .stopped(signal: nil))
        #expect(corruptedMeanings(healthyRecorder).isEmpty, "no false alarm over many checks")
        try healthy.teardown()

        let recorder = Recorder()
        let s = try session(f, recorder: recorder)
        try s.start()
        #expect(f.rawDetach("/dev/sda") == 0, "behind the session's back")
        let reason = s.runEventLoop()
        #expect(reason == .corrupted(device: "240:0", errno: ENOENT))
        #expect(corruptedMeanings(recorder).count == 1)
        #expect(corruptedMeanings(recorder).first?.contains("device /dev/sda was detached while in a taken snapshot") == true)
        try s.teardown()
    }

    @Test("watching an existing snapshot: a resized member is found through the images while it is the only snapshot")
    func watchingMode() throws {
        let f = try GuardFixture()
        let id = f.rawTakenSnapshot()
        let provider = try DeviceRangeProvider(kernel: f.kernel, devicePath: "/dev/store",
                                               ranges: [SectorRange(offsetSectors: 32_768, countSectors: 16_384)])
        let recorder = Recorder()
        let configuration = SessionConfiguration(devices: [], pollMilliseconds: 10, hz: 250, endOnCorruption: true,
                                                 protectionCheckMilliseconds: 0)
        let watcher = Session(watching: id, kernel: f.kernel, configuration: configuration, storage: provider) {
            recorder.events.append($0)
        }
        try watcher.start()
        try f.sim.resizeDevice(name: "sda", capacitySectors: GuardFixture.deviceSectors - 8)
        #expect(watcher.runEventLoop() == .corrupted(device: "240:0", errno: ESTALE))
        #expect(corruptedMeanings(recorder).first?.contains("device /dev/sda shrank") == true)
        #expect(f.sim.snapshotIDs.count == 1, "watching: the snapshot is left running")
        try watcher.teardown()
    }
}
