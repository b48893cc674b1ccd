#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import BlksnapKit

/// Whether the real-loop-device tests can run here, and whether they must (CI=true).
private enum LoopEnvironment {
    /// Root, a usable `/dev/loop-control` and util-linux `losetup`.
    static let isAvailable: Bool =
        getuid() == 0 && access("/dev/loop-control", R_OK | W_OK) == 0 && executablePath("losetup") != nil

    /// Under CI=true a missing prerequisite is a failure, not a skip.
    static let isRequired: Bool = ProcessInfo.processInfo.environment["CI"] == "true"

    static let shouldRun = isAvailable || isRequired

    static let reason = "needs root, /dev/loop-control and losetup (util-linux)"

    /// Fails the test (under CI=true the suite runs even without prerequisites).
    static func require() throws {
        try #require(isAvailable, "CI=true but this machine lacks what the loop-device tests need: \(reason)")
    }

    static func executablePath(_ name: String) -> String? {
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] where access("\(directory)/\(name)", X_OK) == 0 {
            return "\(directory)/\(name)"
        }
        return nil
    }
}

/// A sparse temporary backing file attached to a loop device with `losetup`.
private final class LoopFixture {
    let backingPath: String
    let devicePath: String

    /// - Parameters:
    ///   - sizeBytes: size of the backing file.
    ///   - sectorSizeBytes: the loop device's logical block size (`losetup --sector-size`).
    ///   - partition: if given, an MBR with one Linux partition `(start, count)` in
    ///     logical blocks is written and the device is attached with `--partscan`.
    init(sizeBytes: Int64, sectorSizeBytes: Int = 512, partition: (start: UInt32, count: UInt32)? = nil) throws {
        var template = Array("/tmp/blksnap-discovery-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        try #require(fd >= 0, "mkstemp: errno \(errno)")
        let backing = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { close(fd) }
        var attached = false
        defer { if !attached { unlink(backing) } }
        try #require(ftruncate(fd, off_t(sizeBytes)) == 0, "ftruncate: errno \(errno)")
        if let partition {
            var mbr = [UInt8](repeating: 0, count: 512)
            mbr[446 + 4] = 0x83  // Linux
            withUnsafeBytes(of: partition.start.littleEndian) { mbr.replaceSubrange(454..<458, with: $0) }
            withUnsafeBytes(of: partition.count.littleEndian) { mbr.replaceSubrange(458..<462, with: $0) }
            mbr[510] = 0x55
            mbr[511] = 0xAA
            try #require(pwrite(fd, mbr, 512, 0) == 512, "writing the MBR: errno \(errno)")
        }
        var arguments = ["--find", "--show", "--sector-size", String(sectorSizeBytes)]
        if partition != nil { arguments.append("--partscan") }
        arguments.append(backing)
        let output = try Self.losetup(arguments)
        let device = output.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(device.hasPrefix("/dev/loop"), "losetup printed \(output)")
        attached = true
        backingPath = backing
        devicePath = device
        if partition != nil {
            // Kernels built without the msdos parser (CONFIG_MSDOS_PARTITION=n) find no
            // partition on --partscan: add it the way partx does, with BLKPG.
            let name = String(device.dropFirst("/dev/".count))
            if access("/sys/block/\(name)/\(name)p1", F_OK) != 0 {
                try Self.run("partx", ["--add", "--nr", "1:1", device])
            }
        }
    }

    /// `/dev/loop3` → `loop3`.
    var sysname: String { String(devicePath.dropFirst("/dev/".count)) }

    /// What sysfs says directly (`/sys/block/loopN/<name>`), bypassing the code under test.
    func sysfs(_ name: String) throws -> String {
        try String(contentsOfFile: "/sys/block/\(sysname)/\(name)", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        _ = try? Self.losetup(["--detach", devicePath])
        unlink(backingPath)
    }

    @discardableResult
    static func losetup(_ arguments: [String]) throws -> String {
        try run("losetup", arguments)
    }

    /// Runs a util-linux tool; fails the test on a non-zero exit.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(LoopEnvironment.executablePath(tool), "\(tool) not found"))
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(tool) \(arguments.joined(separator: " ")): \(message)")
        return text
    }
}

/// Discovery on real loop devices. Serialized: loop devices are machine-global.
@Suite(.serialized, .enabled(if: LoopEnvironment.shouldRun, "\(LoopEnvironment.reason); skipped (CI=true makes it fail)"))
struct DiscoveryLoopDeviceTests {
    @Test func pathAndDeviceNumberResolveBothWays() throws {
        try LoopEnvironment.require()
        let loop = try LoopFixture(sizeBytes: 64 << 20)
        let discovery = try DeviceDiscovery()
        let expected = try #require(DeviceNumber(parsing: try loop.sysfs("dev")))

        let number = try discovery.deviceNumber(ofPath: loop.devicePath)
        #expect(number == expected)
        #expect(number.major == 7)
        #expect(try LinuxKernel().stat(loop.devicePath).deviceNumber == number)
        #expect(try discovery.devnodePath(of: number) == loop.devicePath)
        #expect(try discovery.resolve(number.description).devnodePath == loop.devicePath)
        #expect(try discovery.resolve(loop.devicePath).deviceNumber == number)
        #expect(try discovery.record(forPath: loop.devicePath).sysname == loop.sysname)
    }

    @Test func symlinksAreFollowedAndStaleNodesRejected() throws {
        try LoopEnvironment.require()
        let loop = try LoopFixture(sizeBytes: 64 << 20)
        let discovery = try DeviceDiscovery()
        let number = try discovery.deviceNumber(ofPath: loop.devicePath)
        let directory = "/tmp/blksnap-discovery-nodes-\(getpid())"
        try #require(mkdir(directory, 0o700) == 0, "mkdir: errno \(errno)")
        defer {
            unlink(directory + "/link")
            unlink(directory + "/stale")
            rmdir(directory)
        }

        // A by-id style symlink resolves to the device it points to.
        try #require(symlink(loop.devicePath, directory + "/link") == 0, "symlink: errno \(errno)")
        #expect(try discovery.deviceNumber(ofPath: directory + "/link") == number)

        // A node whose number no device has (as left behind by mknod) is refused.
        let unused = DeviceNumber(major: 7, minor: 1_048_574)
        try #require(mknod(directory + "/stale", S_IFBLK | 0o600, dev_t(unused.rawValue)) == 0, "mknod: errno \(errno)")
        let error = #expect(throws: DiscoveryError.self) { try discovery.record(forPath: directory + "/stale") }
        #expect(error?.kind == .unknownDevice)
        #expect(error?.device == directory + "/stale")
        #expect(error?.description.contains("stale node") == true)
        #expect(throws: DiscoveryError.self) { try discovery.waitForNode(.path(directory + "/stale"), timeout: .milliseconds(50)) }
        try discovery.waitForRemoval(.path(directory + "/stale"), timeout: .zero)
    }

    @Test(arguments: [512, 4096])
    func enumerationShowsCapacityAndBlockSize(sectorSizeBytes: Int) throws {
        try LoopEnvironment.require()
        let loop = try LoopFixture(sizeBytes: 64 << 20, sectorSizeBytes: sectorSizeBytes)
        let discovery = try DeviceDiscovery()
        let number = try discovery.deviceNumber(ofPath: loop.devicePath)

        let records = try discovery.blockDevices()
        let record = try #require(records.first { $0.deviceNumber == number }, "\(loop.devicePath) not enumerated")
        #expect(record.devnodePath == loop.devicePath)
        #expect(record.sysname == loop.sysname)
        #expect(record.capacitySectors == 131_072)  // 64 MiB in 512-byte sectors, whatever the block size
        #expect(record.capacityBytes == 64 << 20)
        #expect(record.logicalBlockSizeBytes == UInt32(sectorSizeBytes))
        #expect(!record.isPartition)
        #expect(record.wholeDisk == nil && record.wholeDiskSysname == nil)
        let filterFile = "/sys/block/\(loop.sysname)/filter"
        let expectedFilter = FileManager.default.fileExists(atPath: filterFile) ? try loop.sysfs("filter") : nil
        #expect(record.filterName == expectedFilter)
        #expect(try discovery.record(for: number) == record)
    }

    @Test func partitionReportsItsWholeDisk() throws {
        try LoopEnvironment.require()
        // 4096-byte blocks: partition 256 + 8192 blocks = 1 MiB + 32 MiB.
        let loop = try LoopFixture(sizeBytes: 64 << 20, sectorSizeBytes: 4096, partition: (start: 256, count: 8192))
        let discovery = try DeviceDiscovery()
        let disk = try discovery.record(forPath: loop.devicePath)

        let partition = try discovery.waitForNode(.path(loop.devicePath + "p1"), timeout: .seconds(5))
        #expect(partition.sysname == loop.sysname + "p1")
        #expect(partition.isPartition)
        #expect(partition.wholeDisk == disk.deviceNumber)
        #expect(partition.wholeDiskSysname == loop.sysname)
        #expect(partition.capacitySectors == 8192 * 8)
        #expect(partition.logicalBlockSizeBytes == 4096)
        #expect(partition.deviceNumber != disk.deviceNumber)
        #expect(try discovery.devnodePath(of: partition.deviceNumber) == loop.devicePath + "p1")
        let enumerated = try discovery.blockDevices().filter { $0.wholeDisk == disk.deviceNumber }
        #expect(enumerated == [partition])
    }

    @Test(arguments: [true, false])
    func waitSeesAnExistingNodeAtOnce(monitor: Bool) throws {
        try LoopEnvironment.require()
        let loop = try LoopFixture(sizeBytes: 64 << 20)
        let discovery = try DeviceDiscovery()
        discovery.usesKernelMonitor = monitor
        let number = try discovery.deviceNumber(ofPath: loop.devicePath)
        let clock = ContinuousClock()
        let start = clock.now
        let byNumber = try discovery.waitForNode(.deviceNumber(number), timeout: .seconds(10))
        let byPath = try discovery.waitForNode(.path(loop.devicePath), timeout: .seconds(10))
        #expect(start.duration(to: clock.now) < .seconds(1))
        #expect(byNumber.devnodePath == loop.devicePath)
        #expect(byPath.deviceNumber == number)
    }

    @Test(arguments: [true, false])
    func waitForAMissingDeviceNumberTimesOut(monitor: Bool) throws {
        try LoopEnvironment.require()
        let discovery = try DeviceDiscovery()
        discovery.usesKernelMonitor = monitor
        let missing = DeviceNumber(major: 7, minor: 1_048_575)
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: DiscoveryError.self) {
            try discovery.waitForNode(.deviceNumber(missing), timeout: .milliseconds(300))
        }
        let elapsed = start.duration(to: clock.now)
        #expect(error?.kind == .timedOut)
        #expect(error?.description.contains("7:1048575") == true)
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(3))
    }

    /// A node created by the kernel while we wait (LOOP_CTL_ADD makes a new gendisk, as
    /// blksnap does for an image), then removed again.
    @Test(arguments: [true, false])
    func waitSeesANewNodeAppearAndGo(monitor: Bool) throws {
        try LoopEnvironment.require()
        let control = open("/dev/loop-control", O_RDWR | O_CLOEXEC)
        try #require(control >= 0, "open /dev/loop-control: errno \(errno)")
        defer { close(control) }
        let index = try #require((1000..<2000).first {
            access("/sys/block/loop\($0)", F_OK) != 0 && access("/dev/loop\($0)", F_OK) != 0
        })
        let path = "/dev/loop\(index)"
        defer { _ = ioctl(control, UInt(0x4C81), CInt(index)) }  // LOOP_CTL_REMOVE, in case

        let discovery = try DeviceDiscovery()
        discovery.usesKernelMonitor = monitor
        let added = Mutex<CInt>(-1)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            usleep(200_000)
            let result = ioctl(control, UInt(0x4C80), CInt(index))  // LOOP_CTL_ADD
            let code = errno
            added.withLock { $0 = result < 0 ? -code : result }
            done.signal()
        }
        let clock = ContinuousClock()
        let start = clock.now
        let record = try discovery.waitForNode(.path(path), timeout: .seconds(10))
        let elapsed = start.duration(to: clock.now)
        done.wait()
        #expect(added.withLock { $0 } == CInt(index))
        #expect(record.sysname == "loop\(index)")
        #expect(record.devnodePath == path)
        #expect(elapsed >= .milliseconds(150))
        #expect(elapsed < .seconds(5))

        #expect(ioctl(control, UInt(0x4C81), CInt(index)) >= 0, "LOOP_CTL_REMOVE: errno \(errno)")
        try discovery.waitForRemoval(.path(path), timeout: .seconds(10))
        try discovery.waitForRemoval(.deviceNumber(record.deviceNumber), timeout: .seconds(10))
        #expect(access(path, F_OK) != 0)
    }
}
