#if canImport(Glibc)
import Glibc
#endif
import Testing
import SystemPackage
import CUdev  // glibc makedev/major/minor (sys/sysmacros.h), as the reference
@testable import BlksnapKit

/// Device-number encoding and discovery errors: no root, no loop devices needed.
@Suite struct DiscoveryPureTests {
    /// Majors and minors at every boundary of glibc's 12/20-bit split encoding.
    static let majors: [UInt32] = [0, 1, 7, 8, 254, 255, 256, 259, 4095, 4096, 0x000f_ffff, 0xffff_f000, 0xffff_ffff]
    static let minors: [UInt32] = [0, 1, 16, 255, 256, 4095, 4096, 0x000f_ffff, 0x0010_0000, 0xffff_ff00, 0xffff_ffff]

    @Test func encodingMatchesGlibcMakedev() {
        for major in Self.majors {
            for minor in Self.minors {
                let number = DeviceNumber(major: major, minor: minor)
                #expect(number.rawValue == UInt64(gnu_dev_makedev(major, minor)), "makedev(\(major), \(minor))")
                #expect(number.major == major && number.minor == minor, "round trip of \(major):\(minor)")
                #expect(UInt32(gnu_dev_major(dev_t(number.rawValue))) == major)
                #expect(UInt32(gnu_dev_minor(dev_t(number.rawValue))) == minor)
            }
        }
    }

    @Test func textRoundTrip() {
        for major in Self.majors {
            for minor in Self.minors {
                let number = DeviceNumber(major: major, minor: minor)
                #expect(number.description == "\(major):\(minor)")
                #expect(DeviceNumber(parsing: number.description) == number)
            }
        }
    }

    @Test(arguments: ["", "8", "8:", ":16", "8:16:1", "a:b", "-1:2", "8:4294967296", " 8:16", "/dev/sdb"])
    func parsingRejects(_ text: String) {
        #expect(DeviceNumber(parsing: text) == nil)
    }

    @Test func errorsNameTheDeviceAndTheErrno() {
        let missing = DiscoveryError(.statFailed, device: "/dev/nope", errno: .noSuchFileOrDirectory)
        #expect(missing.errnoName == "ENOENT")
        #expect(missing.description == "/dev/nope does not exist (ENOENT)")
        let file = DiscoveryError(.notABlockDevice, device: "/tmp/x", errno: .notBlockDevice)
        #expect(file.description == "/tmp/x is not a block device (ENOTBLK)")
        let unknown = DiscoveryError(.unknownDevice, device: "7:99", errno: .noSuchFileOrDirectory)
        #expect(unknown.description.contains("/sys/dev/block/7:99"))
        #expect(unknown.description.hasSuffix("(ENOENT)"))
        let late = DiscoveryError(.timedOut, device: "/dev/blksnap-image_8:16", errno: .timedOut)
        #expect(late.description.contains("/dev/blksnap-image_8:16"))
        #expect(late.description.hasSuffix("(ETIMEDOUT)"))
        #expect(DiscoveryError.name(of: Errno(rawValue: 99_999)) == "errno 99999")
    }

    @Test func millisecondsRoundUp() {
        #expect(DeviceDiscovery.milliseconds(roundingUp: .zero) == 0)
        #expect(DeviceDiscovery.milliseconds(roundingUp: .milliseconds(-5)) == 0)
        #expect(DeviceDiscovery.milliseconds(roundingUp: .nanoseconds(1)) == 1)
        #expect(DeviceDiscovery.milliseconds(roundingUp: .microseconds(1500)) == 2)
        #expect(DeviceDiscovery.milliseconds(roundingUp: .seconds(3)) == 3000)
        #expect(DeviceDiscovery.milliseconds(roundingUp: .seconds(Int64.max / 2)) == CInt.max)
    }

    @Test func missingPathIsStatFailure() throws {
        let discovery = try DeviceDiscovery()
        let error = #expect(throws: DiscoveryError.self) { try discovery.deviceNumber(ofPath: "/nonexistent/blksnap-test") }
        #expect(error?.kind == .statFailed)
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.device == "/nonexistent/blksnap-test")
    }

    @Test(arguments: ["/dev/null", "/proc/self/status", "/"])
    func nonBlockFilesAreRejected(_ path: String) throws {
        let discovery = try DeviceDiscovery()
        let error = #expect(throws: DiscoveryError.self) { try discovery.record(forPath: path) }
        #expect(error?.kind == .notABlockDevice)
        #expect(error?.errno == .notBlockDevice)
    }

    @Test func unknownDeviceNumber() throws {
        let discovery = try DeviceDiscovery()
        let number = DeviceNumber(major: 4095, minor: 1_048_575)
        let error = #expect(throws: DiscoveryError.self) { try discovery.devnodePath(of: number) }
        #expect(error?.kind == .unknownDevice)
        #expect(error?.device == "4095:1048575")
    }

    @Test func resolveAcceptsNumbersAndPaths() throws {
        let discovery = try DeviceDiscovery()
        let unknown = #expect(throws: DiscoveryError.self) { try discovery.resolve("4095:1048575") }
        #expect(unknown?.kind == .unknownDevice)
        let missing = #expect(throws: DiscoveryError.self) { try discovery.resolve("/dev/blksnap-image_8:16x") }
        #expect(missing?.kind == .statFailed)
        #expect(missing?.errno == .noSuchFileOrDirectory)
        // Every listed device resolves by its number and by its node.
        for record in try discovery.blockDevices().prefix(8) {
            guard let byNumber = try? discovery.resolve(record.deviceNumber.description) else { continue }
            #expect(byNumber.sysname == record.sysname)
            if let byPath = try? discovery.resolve(record.devnodePath) {
                #expect(byPath.deviceNumber == record.deviceNumber)
            }
        }
    }

    /// Whatever this machine has: every enumerated device resolves back to itself both ways.
    @Test func enumerationIsConsistentBothWays() throws {
        let discovery = try DeviceDiscovery()
        let records = try discovery.blockDevices()
        #expect(records == records.sorted { $0.deviceNumber < $1.deviceNumber })
        #expect(Set(records.map(\.deviceNumber)).count == records.count)
        for record in records {
            guard let again = try? discovery.record(for: record.deviceNumber) else { continue }  // vanished meanwhile
            #expect(again.sysname == record.sysname)
            #expect(again.devnodePath == record.devnodePath)
            #expect(record.logicalBlockSizeBytes >= 512 && record.logicalBlockSizeBytes.nonzeroBitCount == 1)
            #expect(record.isPartition == (record.wholeDisk != nil))
            if let status = try? LinuxKernel().stat(record.devnodePath), status.isBlockDevice {
                #expect(status.deviceNumber == record.deviceNumber, "\(record.devnodePath)")
            }
        }
    }

    @Test(arguments: [true, false])
    func waitingForAMissingPathTimesOut(monitor: Bool) throws {
        let discovery = try DeviceDiscovery()
        discovery.usesKernelMonitor = monitor
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: DiscoveryError.self) {
            try discovery.waitForNode(.path("/nonexistent/blksnap-image_1:2"), timeout: .milliseconds(150))
        }
        let elapsed = start.duration(to: clock.now)
        #expect(error?.kind == .timedOut)
        #expect(error?.errno == .timedOut)
        #expect(elapsed >= .milliseconds(150))
        #expect(elapsed < .seconds(3))
    }

    @Test func zeroTimeoutChecksOnce() throws {
        let discovery = try DeviceDiscovery()
        #expect(throws: DiscoveryError(.timedOut, device: "/nonexistent/x", errno: .timedOut)) {
            try discovery.waitForNode(.path("/nonexistent/x"), timeout: .zero)
        }
        try discovery.waitForRemoval(.path("/nonexistent/x"), timeout: .zero)
    }
}
