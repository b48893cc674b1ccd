@testable import BlksnapKit
import CBlksnapUAPI
import Glibc
import SystemPackage
import Testing

/// Control's requests: exact request numbers, exact argument bytes, decoding of what
/// the kernel writes back, and errno → BlksnapError.
@Suite("Control over a recording kernel")
struct ControlTests {
    let kernel = RecordingKernel()

    func open() throws(BlksnapError) -> Control { try Control(kernel: kernel) }

    // MARK: open / close

    @Test("opens /dev/blksnap-control read-write and closes it once")
    func openAndClose() throws {
        let control = try open()
        #expect(kernel.opens.map(\.path) == ["/dev/blksnap-control"])
        #expect(kernel.opens.first?.flags == O_RDWR)
        try control.close()
        try control.close()
        #expect(kernel.closes == [3])
        #expect(throws: BlksnapError.self) { try control.version() }
        #expect(kernel.calls.isEmpty)
    }

    @Test("deinit closes the descriptor")
    func deinitCloses() throws {
        do { _ = try open() }
        #expect(kernel.closes == [3])
    }

    @Test("a missing control device means the module is not loaded", arguments: [Errno.noSuchFileOrDirectory, .noSuchAddressOrDevice])
    func moduleNotLoaded(errno: Errno) {
        kernel.failOpen("/dev/blksnap-control", with: errno)
        do {
            _ = try open()
            Issue.record("open succeeded")
        } catch {
            #expect(error.operation == .openControl)
            #expect(error.category == .moduleUnavailable)
            #expect(error.description
                    == "open on /dev/blksnap-control: blksnap module not loaded (no /dev/blksnap-control) (\(ErrnoName.name(of: errno)))")
        }
    }

    // MARK: VERSION

    @Test("version: IOCTL_BLKSNAP_VERSION on 8 zero bytes, decodes 4 x u16")
    func version() throws {
        kernel.script(.ok(.argument(offset: 0, bytes: le(UInt16(2)) + le(UInt16(0)) + le(UInt16(7)) + le(UInt16(9)))))
        let version = try open().version()
        #expect(version == Version(major: 2, minor: 0, revision: 7, build: 9))
        let call = try #require(kernel.calls.first)
        #expect(call.request == 0x4008_5600)
        #expect(call.fd == 3)
        #expect(call.argument == [UInt8](repeating: 0, count: 8))
    }

    @Test("version: ENOTTY means the module is not v5 blksnap")
    func versionNotTTY() throws {
        kernel.script(.fail(.inappropriateIOCTLForDevice))
        let error = try #require(throws: BlksnapError.self) { try open().version() }
        #expect(error.category == .moduleUnavailable)
        #expect(error.description.contains("ENOTTY"))
        #expect(error.description.contains("IOCTL_BLKSNAP_VERSION"))
    }

    // MARK: CREATE / DESTROY / TAKE

    @Test("createSnapshot: request 0x40105601, returns the 16 bytes the kernel wrote")
    func create() throws {
        kernel.script(.ok(.argument(offset: 0, bytes: testID.rawValue)))
        let id = try open().createSnapshot()
        #expect(id == testID)
        #expect(kernel.calls.map(\.request) == [0x4010_5601])
        #expect(kernel.calls[0].argument == [UInt8](repeating: 0, count: 16))
    }

    @Test("createSnapshot: ENODATA says the snapshot was created anyway")
    func createNoData() throws {
        kernel.script(.fail(.noData))
        let error = try #require(throws: BlksnapError.self) { try open().createSnapshot() }
        #expect(error.description.contains("WAS created"))
        #expect(error.description.contains("ENODATA"))
    }

    @Test("destroySnapshot: request 0x80105602 with the id; ENODEV = no such snapshot")
    func destroy() throws {
        kernel.script(.ok(), .fail(.operationNotSupportedByDevice))
        let control = try open()
        try control.destroySnapshot(testID)
        #expect(kernel.calls[0].request == 0x8010_5602)
        #expect(kernel.calls[0].argument == testID.rawValue)
        let error = try #require(throws: BlksnapError.self) { try control.destroySnapshot(otherID) }
        #expect(kernel.calls[1].argument == otherID.rawValue)
        #expect(error.snapshotID == otherID)
        #expect(error.description.contains("no such snapshot"))
        #expect(error.description.contains(otherID.description))
        #expect(error.description.contains("(ENODEV)"))
        #expect(error.category == .refused)
    }

    @Test("takeSnapshot: request 0x80105604 with the id")
    func take() throws {
        kernel.script(.ok())
        try open().takeSnapshot(testID)
        #expect(kernel.calls[0].request == 0x8010_5604)
        #expect(kernel.calls[0].argument == testID.rawValue)
    }

    @Test("takeSnapshot errors name their cause", arguments: [
        (Errno.noSuchProcess, "no such snapshot", "ESRCH"),
        (.alreadyInProcess, "already taken", "EALREADY"),
        (.operationNotSupportedByDevice, "has no devices", "ENODEV"),
        (.badAddress, "no difference storage", "EFAULT"),
        (.badAddress, "chunk size", "EFAULT"),
        (.noMemory, "out of memory", "ENOMEM"),
    ])
    func takeErrors(errno: Errno, meaning: String, name: String) throws {
        kernel.script(.fail(errno))
        let error = try #require(throws: BlksnapError.self) { try open().takeSnapshot(testID) }
        #expect(error.operation == .takeSnapshot)
        #expect(error.description.contains(meaning))
        #expect(error.description.hasSuffix("(\(name))"))
        #expect(error.description.hasPrefix("IOCTL_BLKSNAP_SNAPSHOT_TAKE on snapshot \(testID)"))
    }

    // MARK: APPEND_STORAGE

    @Test("appendStorage: exact struct, path string and ranges behind the pointers")
    func appendStorage() throws {
        kernel.script(.ok())
        let ranges = [SectorRange(offsetSectors: 2048, countSectors: 4096),
                      SectorRange(offsetSectors: 1 << 33, countSectors: 7)]
        try open().appendStorageUnchecked(testID, devicePath: "/dev/x", ranges: ranges)
        let call = try #require(kernel.calls.first)
        #expect(call.request == 0x4028_5603)
        #expect(call.argument.count == 40)
        #expect(Array(call.argument[0..<16]) == testID.rawValue)
        #expect(call.field(UInt64.self, at: 16) != 0, "bdev_path is a user pointer")
        #expect(call.field(UInt32.self, at: 24) == 7, "bdev_path_size = strlen + 1")
        #expect(call.field(UInt32.self, at: 28) == 2, "count")
        #expect(call.field(UInt64.self, at: 32) != 0, "ranges is a user pointer")
        #expect(call.pointees["bdev_path"] == Array("/dev/x\0".utf8))
        #expect(call.pointees["ranges"] == le(UInt64(2048)) + le(UInt64(4096)) + le(UInt64(1 << 33)) + le(UInt64(7)))
    }

    @Test("appendStorage with no ranges sends count 0 and a null ranges pointer")
    func appendNoRanges() throws {
        kernel.script(.ok())
        try open().appendStorageUnchecked(testID, devicePath: "/dev/loop7", ranges: [])
        let call = try #require(kernel.calls.first)
        #expect(call.field(UInt32.self, at: 28) == 0)
        #expect(call.field(UInt64.self, at: 32) == 0)
        #expect(call.pointees["bdev_path"] == Array("/dev/loop7\0".utf8))
    }

    @Test("appendStorage refuses an empty path or one with NUL before any ioctl")
    func appendValidation() throws {
        let control = try open()
        for path in ["", "/dev/a\0b"] {
            let error = try #require(throws: BlksnapError.self) {
                try control.appendStorageUnchecked(testID, devicePath: path, ranges: [])
            }
            #expect(error.category == .usage)
        }
        #expect(kernel.calls.isEmpty)
    }

    @Test("appendStorage errors", arguments: [
        (Errno.noSuchProcess, "no such snapshot", "ESRCH"),
        (.noSuchFileOrDirectory, "storage device /dev/x does not exist", "ENOENT"),
        (.notBlockDevice, "not a block device", "ENOTBLK"),
        (.badAddress, "path could not be read", "EFAULT"),
        (.invalidArgument, "NUL-terminated", "EINVAL"),
    ])
    func appendErrors(errno: Errno, meaning: String, name: String) throws {
        kernel.script(.fail(errno))
        let error = try #require(throws: BlksnapError.self) {
            try open().appendStorageUnchecked(testID, devicePath: "/dev/x", ranges: [SectorRange(offsetSectors: 0, countSectors: 8)])
        }
        #expect(error.devicePath == "/dev/x")
        #expect(error.description.contains(meaning))
        #expect(error.description.contains("(\(name))"))
    }

    // MARK: COLLECT

    @Test("collectSnapshots asks the count with ids = 0 first, then passes an array of that size")
    func collectCountFirst() throws {
        kernel.script(
            .ok(.argument(offset: 0, bytes: le(UInt32(2)))),
            .ok(.behind(pointers: [8], offset: 0, bytes: testID.rawValue + otherID.rawValue),
                .argument(offset: 0, bytes: le(UInt32(2)))))
        let ids = try open().collectSnapshots()
        #expect(ids == [testID, otherID])
        let calls = kernel.calls
        #expect(calls.map(\.request) == [0x4010_5605, 0x4010_5605])
        #expect(calls[0].argument == [UInt8](repeating: 0, count: 16), "count 0, ids 0")
        #expect(calls[1].field(UInt32.self, at: 0) == 2)
        #expect(calls[1].field(UInt64.self, at: 8) != 0)
    }

    @Test("collectSnapshots with no snapshots makes one call")
    func collectEmpty() throws {
        kernel.script(.ok(.argument(offset: 0, bytes: le(UInt32(0)))))
        #expect(try open().collectSnapshots() == [])
        #expect(kernel.calls.count == 1)
    }

    @Test("collectSnapshots restarts when the list grew (ENODATA with a partial fill)")
    func collectRetry() throws {
        kernel.script(
            .ok(.argument(offset: 0, bytes: le(UInt32(1)))),
            // the list grew to 2: v5 fills the one slot, keeps count, fails ENODATA
            .fail(.noData, .behind(pointers: [8], offset: 0, bytes: testID.rawValue)),
            .ok(.argument(offset: 0, bytes: le(UInt32(2)))),
            .ok(.behind(pointers: [8], offset: 0, bytes: testID.rawValue + otherID.rawValue),
                .argument(offset: 0, bytes: le(UInt32(2)))))
        let ids = try open().collectSnapshots()
        #expect(ids == [testID, otherID])
        let calls = kernel.calls
        #expect(calls.count == 4)
        #expect(calls[2].argument == [UInt8](repeating: 0, count: 16), "count asked again")
        #expect(calls[3].field(UInt32.self, at: 0) == 2)
    }

    @Test("collectSnapshots returns only what the kernel wrote when the list shrank")
    func collectShrank() throws {
        kernel.script(
            .ok(.argument(offset: 0, bytes: le(UInt32(2)))),
            .ok(.behind(pointers: [8], offset: 0, bytes: otherID.rawValue),
                .argument(offset: 0, bytes: le(UInt32(1)))))
        #expect(try open().collectSnapshots() == [otherID])
    }

    @Test("collectSnapshots gives up after the attempts with ENODATA")
    func collectGivesUp() throws {
        for _ in 0..<3 {
            kernel.script(.ok(.argument(offset: 0, bytes: le(UInt32(1)))), .fail(.noData))
        }
        let error = try #require(throws: BlksnapError.self) { try open().collectSnapshots(attempts: 3) }
        #expect(error.errno == .noData)
        #expect(error.operation == .collectSnapshots)
        #expect(kernel.calls.count == 6)
        #expect(kernel.pendingReplies == 0)
    }

    // MARK: WAIT_EVENT

    @Test("waitEvent sends id and timeout ticks in a 4096-byte struct; decodes low free space")
    func waitLowFreeSpace() throws {
        kernel.script(.ok(.argument(offset: 20, bytes: le(UInt32(0)) + le(Int64(123_456_789)) + le(UInt64(2_097_152)))))
        let event = try open().waitEvent(testID, timeoutTicks: 250)
        #expect(event == .lowFreeSpace(requestedSectors: 2_097_152, timeLabelNanoseconds: 123_456_789))
        let call = try #require(kernel.calls.first)
        #expect(call.request == 0x5000_5606)
        #expect(call.argument.count == 4096)
        #expect(Array(call.argument[0..<16]) == testID.rawValue)
        #expect(call.field(UInt32.self, at: 16) == 250)
        #expect(call.argument[20...].allSatisfy { $0 == 0 })
    }

    @Test("waitEvent decodes a corrupted event: device and positive errno")
    func waitCorrupted() throws {
        kernel.script(.ok(.argument(offset: 20, bytes: le(UInt32(1)) + le(Int64(42))
                                    + le(UInt32(8)) + le(UInt32(16)) + le(Int32(28)))))
        let event = try #require(try open().waitEvent(testID, timeoutTicks: 0))
        #expect(event == .corrupted(device: DeviceNumber(major: 8, minor: 16), errno: .noSpace, timeLabelNanoseconds: 42))
        #expect(event.timeLabelNanoseconds == 42)
        #expect(event.description.contains("8:16"))
        #expect(event.description.contains("overflow"))
        #expect(event.description.contains("ENOSPC"))
    }

    @Test("waitEvent keeps an unknown code and its payload")
    func waitUnknown() throws {
        kernel.script(.ok(.argument(offset: 20, bytes: le(UInt32(7)) + le(Int64(5)) + [1, 2, 3])))
        let event = try #require(try open().waitEvent(testID, timeoutTicks: 0))
        guard case .unknown(let code, let payload, let time) = event else {
            Issue.record("expected unknown, got \(event)")
            return
        }
        #expect(code == 7)
        #expect(time == 5)
        #expect(payload.count == 4064)
        #expect(Array(payload.prefix(4)) == [1, 2, 3, 0])
    }

    @Test("waitEvent: ENOENT is the timeout and returns nil")
    func waitTimeout() throws {
        kernel.script(.fail(.noSuchFileOrDirectory))
        #expect(try open().waitEvent(testID, timeoutTicks: 1) == nil)
    }

    @Test("waitEvent: EINTR and ESRCH are thrown with their meaning")
    func waitErrors() throws {
        kernel.script(.fail(.interrupted), .fail(.noSuchProcess))
        let control = try open()
        let interrupted = try #require(throws: BlksnapError.self) { try control.waitEvent(testID, timeoutTicks: 1) }
        #expect(interrupted.errno == .interrupted)
        #expect(interrupted.description.contains("interrupted by a signal (EINTR)"))
        let missing = try #require(throws: BlksnapError.self) { try control.waitEvent(testID, timeoutTicks: 1) }
        #expect(missing.description.contains("no such snapshot"))
        #expect(missing.description.contains("(ESRCH)"))
    }

    @Test("waitEvent(timeoutMilliseconds:hz:) converts to jiffies")
    func waitMilliseconds() throws {
        kernel.script(.fail(.noSuchFileOrDirectory), .fail(.noSuchFileOrDirectory))
        let control = try open()
        _ = try control.waitEvent(testID, timeoutMilliseconds: 1000, hz: 250)
        _ = try control.waitEvent(testID, timeoutMilliseconds: 1000, hz: 1000)
        #expect(kernel.calls.map { $0.field(UInt32.self, at: 16) } == [250, 1000])
    }

    // MARK: WAIT_EVENT never above 2^31 − 1 ticks (spec §12.1 item 10)

    static let maxTicks = UInt32(Int32.max)

    @Test("waitEvent(timeoutTicks: UInt32.max) is sent as 2^31−1 + 2^31−1 + 1 ticks; nil after all of them")
    func longWaitIsSplit() throws {
        kernel.script(.fail(.noSuchFileOrDirectory), .fail(.noSuchFileOrDirectory), .fail(.noSuchFileOrDirectory))
        #expect(try open().waitEvent(testID, timeoutTicks: .max) == nil)
        #expect(kernel.calls.map { $0.field(UInt32.self, at: 16) } == [Self.maxTicks, Self.maxTicks, 1])
        #expect(kernel.pendingReplies == 0)
    }

    @Test("2^31 − 1 ticks and less go out as one request, unchanged", arguments: [UInt32(0), 1, 250, UInt32(Int32.max)])
    func shortWaitIsOneRequest(ticks: UInt32) throws {
        kernel.script(.fail(.noSuchFileOrDirectory))
        #expect(try open().waitEvent(testID, timeoutTicks: ticks) == nil)
        #expect(kernel.calls.map { $0.field(UInt32.self, at: 16) } == [ticks])
    }

    @Test("A split wait returns the event of the slice in which it arrived, and sends no more")
    func splitWaitReturnsEvent() throws {
        kernel.script(.fail(.noSuchFileOrDirectory),
                      .ok(.argument(offset: 20, bytes: le(UInt32(0)) + le(Int64(9)) + le(UInt64(64)))))
        let event = try open().waitEvent(testID, timeoutMilliseconds: 1 << 40, hz: 1000)
        #expect(event == .lowFreeSpace(requestedSectors: 64, timeLabelNanoseconds: 9))
        #expect(kernel.calls.map { $0.field(UInt32.self, at: 16) } == [Self.maxTicks, Self.maxTicks])
    }

    @Test("Milliseconds beyond UInt32.max ticks are not clamped: 2^33 ms at HZ 1000 take 5 slices")
    func millisecondsNotClamped() throws {
        for _ in 0..<5 { kernel.script(.fail(.noSuchFileOrDirectory)) }
        #expect(try open().waitEvent(testID, timeoutMilliseconds: 1 << 33, hz: 1000) == nil)
        let sent = kernel.calls.map { UInt64($0.field(UInt32.self, at: 16)) }
        #expect(sent.allSatisfy { $0 <= UInt64(Self.maxTicks) })
        #expect(sent.reduce(0, +) == 1 << 33)
        #expect(sent.count == 5)
    }

    @Test("A signal in the middle of a split wait ends it at once with EINTR")
    func splitWaitInterrupted() throws {
        kernel.script(.fail(.noSuchFileOrDirectory), .fail(.interrupted), .fail(.noSuchFileOrDirectory))
        let control = try open()
        let error = try #require(throws: BlksnapError.self) { try control.waitEvent(testID, timeoutTicks: .max) }
        #expect(error.errno == .interrupted)
        #expect(kernel.calls.count == 2)
    }

    @Test("waitEventWithoutTimeout: waits of 2^31 − 1 ticks until the event; ESRCH is thrown")
    func waitWithoutTimeout() throws {
        kernel.script(.fail(.noSuchFileOrDirectory), .fail(.noSuchFileOrDirectory), .fail(.noSuchFileOrDirectory),
                      .ok(.argument(offset: 20, bytes: le(UInt32(0)) + le(Int64(1)) + le(UInt64(8)))),
                      .fail(.noSuchProcess))
        let control = try open()
        #expect(try control.waitEventWithoutTimeout(testID) == .lowFreeSpace(requestedSectors: 8, timeLabelNanoseconds: 1))
        #expect(kernel.calls.map { $0.field(UInt32.self, at: 16) } == [UInt32](repeating: Self.maxTicks, count: 4))
        let gone = try #require(throws: BlksnapError.self) { try control.waitEventWithoutTimeout(testID) }
        #expect(gone.errno == .noSuchProcess)
        #expect(Control.maximumTimeoutTicks == Self.maxTicks)
    }

    @Test("ticks(milliseconds:hz:) rounds up and saturates")
    func ticks() {
        #expect(Control.ticks(milliseconds: 0, hz: 250) == 0)
        #expect(Control.ticks(milliseconds: 1, hz: 250) == 1)
        #expect(Control.ticks(milliseconds: 4, hz: 250) == 1)
        #expect(Control.ticks(milliseconds: 5, hz: 250) == 2)
        #expect(Control.ticks(milliseconds: 10_000, hz: 100) == 1000)
        #expect(Control.ticks(milliseconds: .max, hz: 1000) == .max)
        #expect(Control.ticks(milliseconds: 1 << 40, hz: 1000) == .max)
    }
}

/// ``ImageWriteGuard``: pieces of an image write never cross a 4 KiB boundary (§12.1 item 9).
@Suite("Image write guard")
struct ImageWriteGuardTests {
    @Test("Image paths are recognised by every ABI's image name")
    func recognises() {
        #expect(ImageWriteGuard.isImage(path: "/dev/blksnap-image_8:16"))
        #expect(ImageWriteGuard.isImage(path: "blksnap-image_240:0"))
        #expect(ImageWriteGuard.isImage(path: "/dev/veeamblksnapimg_7:0"))
        #expect(ImageWriteGuard.isImage(path: "/dev/veeamblksnapimg0"))
        #expect(!ImageWriteGuard.isImage(path: "/dev/sda"))
        #expect(!ImageWriteGuard.isImage(path: "/dev/blksnap-control"))
        #expect(!ImageWriteGuard.isImage(path: "/dev/veeamblksnap"))
    }

    @Test("Pieces end at the next 4 KiB boundary and cover the whole write")
    func pieces() {
        #expect(ImageWriteGuard.pieceLength(offsetBytes: 0, remainingBytes: 196_608) == 4096)
        #expect(ImageWriteGuard.pieceLength(offsetBytes: 512, remainingBytes: 196_608) == 3584)
        #expect(ImageWriteGuard.pieceLength(offsetBytes: 4096, remainingBytes: 100) == 100)
        var offset: UInt64 = 65_536 * 10 - 1000, remaining = 200_000
        var lengths: [Int] = []
        while remaining > 0 {
            let length = ImageWriteGuard.pieceLength(offsetBytes: offset, remainingBytes: remaining)
            #expect(length > 0)
            #expect((offset % 4096) + UInt64(length) <= 4096, "piece at \(offset) crosses a page")
            lengths.append(length)
            offset += UInt64(length)
            remaining -= length
        }
        #expect(lengths.reduce(0, +) == 200_000)
        #expect(lengths.first == 1000)
    }
}
