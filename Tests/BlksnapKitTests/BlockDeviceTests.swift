@testable import BlksnapKit
import CBlksnapUAPI
import Glibc
import SystemPackage
import Testing

/// BlockDevice's filter requests: exact request numbers, the blkfilter_ctl envelope,
/// the option bytes behind `opt`, and errno → BlksnapError.
@Suite("BlockDevice over a recording kernel")
struct BlockDeviceTests {
    let kernel = RecordingKernel()

    func open(_ path: String = "/dev/sdb") throws(BlksnapError) -> BlockDevice {
        try BlockDevice(path: path, kernel: kernel)
    }

    /// Checks the BLKFILTER_CTL envelope and returns the option bytes.
    func ctlOption(_ call: RecordingKernel.Call, command: UInt32, optlen: UInt32) -> [UInt8]? {
        #expect(call.request == 0xc030_128e)
        #expect(call.argument.count == 48)
        #expect(Array(call.argument[0..<32]) == blksnapFilterName)
        #expect(call.field(UInt32.self, at: 32) == command, "cmd")
        #expect(call.field(UInt32.self, at: 36) == optlen, "optlen")
        #expect(call.field(UInt64.self, at: 40) != 0, "opt is a user pointer")
        return call.pointees["opt"]
    }

    @Test("opens the path read-only and closes it")
    func openClose() throws {
        let device = try open()
        #expect(kernel.opens.map(\.path) == ["/dev/sdb"])
        #expect(kernel.opens.first?.flags == O_RDONLY)
        try device.close()
        #expect(kernel.closes == [3])
    }

    @Test("a missing device path")
    func openMissing() {
        kernel.failOpen("/dev/nope", with: .noSuchFileOrDirectory)
        #expect(throws: BlksnapError(operation: .openDevice, errno: .noSuchFileOrDirectory, devicePath: "/dev/nope")) {
            try open("/dev/nope")
        }
    }

    // MARK: attach / detach

    @Test("attach: BLKFILTER_ATTACH 0xc020128c with \"blksnap\" NUL-padded to 32 bytes")
    func attach() throws {
        kernel.script(.ok())
        try open().attachUnchecked()
        #expect(kernel.calls.map(\.request) == [0xc020_128c])
        #expect(kernel.calls[0].argument == blksnapFilterName)
    }

    @Test("detach: BLKFILTER_DETACH 0xc020128d with the same name")
    func detach() throws {
        kernel.script(.ok())
        try open().detach()
        #expect(kernel.calls.map(\.request) == [0xc020_128d])
        #expect(kernel.calls[0].argument == blksnapFilterName)
    }

    @Test("attach errors", arguments: [
        (Errno.noSuchFileOrDirectory, "blksnap module not loaded", BlksnapErrorCategory.moduleUnavailable, "ENOENT"),
        (.inappropriateIOCTLForDevice, "kernel has no block-device filter support", .moduleUnavailable, "ENOTTY"),
        (.invalidArgument, "kernel has no block-device filter support", .moduleUnavailable, "EINVAL"),
        (.alreadyInProcess, "already tracked", .refused, "EALREADY"),
        (.resourceBusy, "another filter", .refused, "EBUSY"),
        (.noMemory, "zero-sector", .refused, "ENOMEM"),
    ])
    func attachErrors(errno: Errno, meaning: String, category: BlksnapErrorCategory, name: String) throws {
        kernel.script(.fail(errno))
        let error = try #require(throws: BlksnapError.self) { try open().attachUnchecked() }
        #expect(error.description.hasPrefix("BLKFILTER_ATTACH on /dev/sdb: "))
        #expect(error.description.contains(meaning))
        #expect(error.description.hasSuffix("(\(name))"))
        #expect(error.category == category)
    }

    @Test("detach errors", arguments: [
        (Errno.noSuchFileOrDirectory, "not tracked", "ENOENT"),
        (.invalidArgument, "different filter", "EINVAL"),
        (.inappropriateIOCTLForDevice, "no block-device filter support", "ENOTTY"),
    ])
    func detachErrors(errno: Errno, meaning: String, name: String) throws {
        kernel.script(.fail(errno))
        let error = try #require(throws: BlksnapError.self) { try open().detach() }
        #expect(error.description.contains(meaning))
        #expect(error.description.hasSuffix("(\(name))"))
    }

    // MARK: cbtinfo

    @Test("cbtInfo: cmd 0, optlen 40, decodes every field")
    func cbtInfo() throws {
        let generation = Array(UInt8(0x30)...UInt8(0x3f))
        kernel.script(.ok(.behind(pointers: [40], offset: 0, bytes:
            le(UInt64(1 << 30)) + le(UInt32(65536)) + le(UInt32(16384)) + generation + [3])))
        let info = try open().cbtInfo()
        #expect(info == CBTInfo(capacityBytes: 1 << 30, blockSizeBytes: 65536, blockCount: 16384,
                                generationID: CBTGenerationID(rawValue: generation)!, changesNumber: 3))
        #expect(info.capacitySectors == 2_097_152)
        let option = try #require(ctlOption(kernel.calls[0], command: 0, optlen: 40))
        #expect(option == [UInt8](repeating: 0, count: 40))
    }

    @Test("BLKFILTER_CTL ENOENT means the device is not tracked")
    func notTracked() throws {
        kernel.script(.fail(.noSuchFileOrDirectory))
        let error = try #require(throws: BlksnapError.self) { try open().cbtInfo() }
        #expect(error.description == "BLKFILTER_CTL cbtinfo on /dev/sdb: device /dev/sdb is not tracked: attach it first (ENOENT)")
        #expect(error.category == .refused)
    }

    // MARK: cbtmap

    @Test("cbtMap: cmd 1, optlen 16, offset/length/buffer; returns what the kernel wrote")
    func cbtMap() throws {
        kernel.script(.ok(.behind(pointers: [40, 8], offset: 0, bytes: [0, 1, 2, 0, 5])))
        let map = try open().cbtMap(offset: 100, length: 5)
        #expect(map == [0, 1, 2, 0, 5])
        let option = try #require(ctlOption(kernel.calls[0], command: 1, optlen: 16))
        #expect(option.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self) } == 100)
        #expect(option.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) } == 5)
        #expect(option.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) } != 0)
    }

    @Test("cbtMap errors: EFAULT is a corrupted CBT, ENODATA is past the end")
    func cbtMapErrors() throws {
        kernel.script(.fail(.badAddress), .fail(.noData))
        let device = try open()
        let corrupted = try #require(throws: BlksnapError.self) { try device.cbtMap(offset: 0, length: 1) }
        #expect(corrupted.category == .corrupted)
        #expect(corrupted.description.contains("CBT of /dev/sdb is corrupted"))
        #expect(corrupted.description.hasSuffix("(EFAULT)"))
        let beyond = try #require(throws: BlksnapError.self) { try device.cbtMap(offset: 10, length: 1) }
        #expect(beyond.description.contains("beyond the CBT map"))
        #expect(beyond.description.hasSuffix("(ENODATA)"))
    }

    @Test("readWholeCBTMap reads cbtinfo, then 1 MiB per cbtmap request")
    func readWhole() throws {
        let blockCount: UInt32 = (1 << 21) + 5  // two full chunks and 5 bytes
        kernel.script(.ok(.behind(pointers: [40], offset: 0, bytes:
            le(UInt64(1) << 40) + le(UInt32(1 << 19)) + le(blockCount) + [UInt8](repeating: 9, count: 16) + [1])))
        kernel.script(.ok(.behind(pointers: [40, 8], offset: 0, bytes: [1])),
                      .ok(.behind(pointers: [40, 8], offset: 0, bytes: [2])),
                      .ok(.behind(pointers: [40, 8], offset: 4, bytes: [3])))
        let map = try open().readWholeCBTMap()
        #expect(map.count == Int(blockCount))
        #expect(map[0] == 1 && map[1 << 20] == 2 && map[(1 << 21) + 4] == 3)
        #expect(map.filter { $0 != 0 }.count == 3)
        let calls = kernel.calls
        #expect(calls.map { $0.field(UInt32.self, at: 32) } == [0, 1, 1, 1])
        let requests = calls.dropFirst().compactMap { $0.pointees["opt"] }.map { option in
            option.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: 0, as: UInt32.self),
                                     $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) }
        }
        #expect(requests.map(\.0) == [0, 1 << 20, 1 << 21])
        #expect(requests.map(\.1) == [1 << 20, 1 << 20, 5])
    }

    @Test("readCBT with a small chunk and an empty map")
    func readSmallChunks() throws {
        kernel.script(.ok(.behind(pointers: [40], offset: 12, bytes: le(UInt32(10)))),
                      .ok(), .ok(), .ok(),
                      .ok(.behind(pointers: [40], offset: 12, bytes: le(UInt32(0)))))
        let device = try open()
        let (info, map) = try device.readCBT(chunkBytes: 4)
        #expect(info.blockCount == 10 && map.count == 10)
        #expect(kernel.calls.count == 4)
        #expect(try device.readWholeCBTMap() == [])
        #expect(kernel.calls.count == 5)
        #expect(throws: BlksnapError.self) { try device.readCBT(chunkBytes: 0) }
    }

    // MARK: cbtdirty

    @Test("markDirty: one ioctl per range with count = 1, zero-length ranges skipped")
    func markDirty() throws {
        kernel.script(.ok(), .ok())
        try open().markDirty([SectorRange(offsetSectors: 8, countSectors: 16),
                              SectorRange(offsetSectors: 0, countSectors: 0),
                              SectorRange(offsetSectors: 1 << 32, countSectors: 1)])
        let calls = kernel.calls
        #expect(calls.count == 2)
        for call in calls {
            let option = try #require(ctlOption(call, command: 2, optlen: 16))
            #expect(option.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self) } == 1, "count = 1")
            #expect(option.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) } != 0)
        }
        #expect(calls[0].pointees["opt.dirty_sectors"] == le(UInt64(8)) + le(UInt64(16)))
        #expect(calls[1].pointees["opt.dirty_sectors"] == le(UInt64(1) << 32) + le(UInt64(1)))
    }

    @Test("markDirty stops at the first failing range")
    func markDirtyFails() throws {
        kernel.script(.fail(.invalidArgument))
        let error = try #require(throws: BlksnapError.self) {
            try open().markDirty([SectorRange(offsetSectors: 1 << 40, countSectors: 8),
                                  SectorRange(offsetSectors: 0, countSectors: 8)])
        }
        #expect(kernel.calls.count == 1)
        #expect(error.description.contains("beyond the CBT map"))
        #expect(error.description.hasSuffix("(EINVAL)"))
    }

    // MARK: snapshotadd

    @Test("addToSnapshot: cmd 3, optlen 16, the id")
    func addToSnapshot() throws {
        kernel.script(.ok())
        try open().addToSnapshot(testID)
        let option = try #require(ctlOption(kernel.calls[0], command: 3, optlen: 16))
        #expect(option == testID.rawValue)
    }

    @Test("addToSnapshot errors", arguments: [
        (Errno.resourceBusy, "belongs to another snapshot", "EBUSY"),
        (.alreadyInProcess, "already in snapshot", "EALREADY"),
        (.noSuchProcess, "no such snapshot", "ESRCH"),
        (.noSuchFileOrDirectory, "not tracked: attach it first", "ENOENT"),
    ])
    func addErrors(errno: Errno, meaning: String, name: String) throws {
        kernel.script(.fail(errno))
        let error = try #require(throws: BlksnapError.self) { try open().addToSnapshot(testID) }
        #expect(error.snapshotID == testID)
        #expect(error.description.contains(meaning))
        #expect(error.description.hasSuffix("(\(name))"))
    }

    // MARK: snapshotinfo

    @Test("snapshotInfo: cmd 4, optlen 36, all-zero argument; decodes image and error")
    func snapshotInfo() throws {
        kernel.script(.ok(.behind(pointers: [40], offset: 0, bytes: le(Int32(-28)) + Array("blksnap-image_8:16".utf8))))
        let info = try open().snapshotInfo()
        #expect(info.errorCode == .noSpace)
        #expect(info.isCorrupted)
        #expect(info.imageName == "blksnap-image_8:16")
        #expect(info.imagePath == "/dev/blksnap-image_8:16")
        let option = try #require(ctlOption(kernel.calls[0], command: 4, optlen: 36))
        #expect(option == [UInt8](repeating: 0, count: 36), "zeroed: v5 echoes the caller's image bytes")
    }

    @Test("snapshotInfo without an image: the echoed zero bytes read as no image")
    func snapshotInfoNoImage() throws {
        kernel.script(.ok())
        let info = try open().snapshotInfo()
        #expect(info == SnapshotInfo(errorCode: nil, imageName: nil))
        #expect(info.imagePath == nil)
    }

    // MARK: geometry

    @Test("capacityBytes: BLKGETSIZE64 on a u64")
    func capacity() throws {
        kernel.script(.ok(.argument(offset: 0, bytes: le(UInt64(10_737_418_240)))))
        #expect(try open().capacityBytes() == 10_737_418_240)
        #expect(kernel.calls[0].request == 0x8008_1272)
        #expect(kernel.calls[0].argument == [UInt8](repeating: 0, count: 8))
    }

    @Test("logicalBlockSize: BLKSSZGET on an int")
    func logicalBlockSize() throws {
        kernel.script(.ok(.argument(offset: 0, bytes: le(Int32(4096)))), .fail(.inappropriateIOCTLForDevice))
        let device = try open("/tmp/file")
        #expect(try device.logicalBlockSize() == 4096)
        #expect(kernel.calls[0].request == 0x1268)
        let error = try #require(throws: BlksnapError.self) { try device.logicalBlockSize() }
        #expect(error.description.contains("/tmp/file is not a block device (ENOTTY)"))
    }

    @Test("deviceNumber comes from stat in the kernel's namespace")
    func deviceNumber() throws {
        kernel.setStat("/dev/sdb", KernelFileStatus(mode: 0o060660, deviceNumber: DeviceNumber(major: 8, minor: 16), sizeBytes: 0))
        #expect(try open().deviceNumber() == DeviceNumber(major: 8, minor: 16))
    }

    @Test("requests after close fail with EBADF without reaching the kernel")
    func afterClose() throws {
        let device = try open()
        try device.close()
        let error = try #require(throws: BlksnapError.self) { try device.cbtInfo() }
        #expect(error.errno == .badFileDescriptor)
        #expect(kernel.calls.isEmpty)
    }
}
