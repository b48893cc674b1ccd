import BlksnapDrivers
import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel
import SystemPackage

/// The steps of `blksnapctl demo`, run against an in-process ``SimKernel`` through
/// BlksnapKit exactly as against the real module. Every result shown is measured; the
/// checks compare it with a model of what was written.
final class DemoScenario {
    /// A write the demo makes to an original device, kept to predict contents and CBT.
    struct Write {
        var offsetBytes: UInt64
        var lengthBytes: Int
        var seed: UInt64
    }

    /// A simulated disk and the bytes the demo believes it holds.
    final class Disk {
        let role: String
        let name: String
        let sizeBytes: UInt64
        var path: String { "/dev/" + name }
        var contents: [UInt8]
        var device: BlockDevice?
        var number = DeviceNumber(rawValue: 0)

        init(role: String, name: String, sizeBytes: UInt64) {
            self.role = role
            self.name = name
            self.sizeBytes = sizeBytes
            contents = [UInt8](repeating: 0, count: Int(sizeBytes))
        }
    }

    private let report: DemoReport
    private var directory: String?
    private var backend = Backend(kernel: LinuxKernel())
    private var control: Control?
    private let diskA = Disk(role: "original", name: "demo-a", sizeBytes: 8 << 20)
    private let diskB = Disk(role: "original", name: "demo-b", sizeBytes: 4 << 20)
    private let storage = Disk(role: "difference storage", name: "demo-storage", sizeBytes: 16 << 20)
    private var liveSnapshots: [SnapshotID] = []

    /// The module the simulator speaks.
    private let dialect: SimDialect

    init(report: DemoReport, dialect: SimDialect = .v5) {
        self.report = report
        self.dialect = dialect
    }

    /// The ABI of `dialect`, for the driver.
    private var abi: BlksnapABI {
        switch dialect {
        case .v5: return .v5
        case .val7: return .val7
        case .val6: return .val6
        }
    }

    // MARK: - The scenario

    func run() throws(CommandFailure) {
        try startSimulator()
        try fillOriginals()
        let control = try openControl()
        try attachTrackers()

        // Written while tracked, before the take: CBT number 1.
        let pretake = Write(offsetBytes: 1 << 20, lengthBytes: 64 << 10, seed: 3)
        try write(pretake, to: diskB, why: "an application writes while the trackers run")

        let first = try createSnapshot(control)
        try drainEvents(control, first, expectingFirst: "low_free_space")
        try appendStorage(control, first)
        try take(control, first)
        let imagesAtTake = try checkImages(label: "right after take")
        let firstNumber = try showChanges(since: 0, expected: [diskA: [], diskB: [pretake]],
                                          story: "the blocks written between attach and take")

        // Overwrite the originals while the snapshot is taken: the images must not change.
        let overwrites: [(Disk, Write)] = [
            (diskA, Write(offsetBytes: 0, lengthBytes: 1 << 20, seed: 4)),
            (diskA, Write(offsetBytes: (5 << 20) + 4096, lengthBytes: 8192, seed: 5)),
            (diskB, Write(offsetBytes: 3 << 20, lengthBytes: 512 << 10, seed: 6)),
        ]
        let snapshotContents = [diskA.contents, diskB.contents]
        for (disk, change) in overwrites {
            try write(change, to: disk, why: "overwrite the original while the snapshot is taken")
        }
        try verifyAfterOverwrite(images: imagesAtTake, snapshotContents: snapshotContents)
        try drainEvents(control, first, expectingFirst: nil)
        try destroy(control, first, images: imagesAtTake)

        // An incremental backup: a second snapshot shows exactly what was overwritten.
        let second = try createSnapshot(control)
        try drainEvents(control, second, expectingFirst: "low_free_space")
        try appendStorage(control, second)
        try take(control, second)
        var expected: [Disk: [Write]] = [diskA: [], diskB: []]
        for (disk, change) in overwrites { expected[disk, default: []].append(change) }
        _ = try showChanges(since: firstNumber, expected: expected,
                            story: "the blocks overwritten since the first snapshot: an incremental backup copies only these")
        let imagesOfSecond = try checkImages(label: "of the second snapshot")
        try destroy(control, second, images: imagesOfSecond)
        try detachTrackers()
    }

    /// Releases what the scenario holds and removes its files (unless kept).
    func cleanUp(keepFiles: Bool) {
        if let control {
            for id in liveSnapshots { try? control.destroySnapshot(id) }
            try? control.close()
        }
        for disk in [diskA, diskB, storage] { try? disk.device?.close() }
        guard let directory else { return }
        if keepFiles {
            report.step("Kept the disk files in \(directory).")
        } else {
            try? FileManager.default.removeItem(atPath: directory)
            report.step("Removed the temporary directory \(directory) and its disk files.")
        }
    }

    // MARK: - Steps

    private func startSimulator() throws(CommandFailure) {
        var template = "/tmp/blksnapctl-demo-XXXXXX".utf8CString
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CommandFailure("demo: cannot create a temporary directory in /tmp (\(ErrnoName.name(of: Errno(rawValue: errno))))")
        }
        let directory = String(cString: created)
        self.directory = directory
        report.workDirectory = directory

        var params = Params()
        params.chunkMinimumShift = 16
        params.diffStorageMinimum = 8192
        let kernel = SimKernel(params: params, dialect: dialect)
        let interface = kernel.kernelInterface
        backend = Backend(kernel: interface, driver: BlksnapDrivers.driver(for: abi, kernel: interface))
        report.abi = dialect.rawValue
        let current = kernel.params.current
        for name in Params.names { report.parameters[name] = current.value(of: name) }
        for disk in [diskA, diskB, storage] {
            let file = "\(directory)/\(disk.name).img"
            let info: SimDeviceInfo
            do {
                info = try kernel.addDevice(name: disk.name, capacitySectors: disk.sizeBytes / 512, backing: .file(path: file))
            } catch {
                throw CommandFailure("demo: cannot add simulated device \(disk.name) backed by \(file): \(error)")
            }
            disk.number = DeviceNumber(major: info.major, minor: info.minor)
            report.devices.append(DemoReport.Device(role: disk.role, path: info.path, device: disk.number.description,
                                                    capacityBytes: info.capacitySectors * 512, backingFile: file))
        }
        report.step("Started an in-process simulated blksnap kernel (chunk_minimum_shift=16: 64 KiB chunks; diff_storage_minimum=8192 sectors: 4 MiB storage requests) with three file-backed disks in \(directory): \(diskA.path) (\(diskA.number), 8 MiB), \(diskB.path) (\(diskB.number), 4 MiB) and \(storage.path) (\(storage.number), 16 MiB, for difference storage).")
    }

    private func fillOriginals() throws(CommandFailure) {
        for (disk, seed) in [(diskA, UInt64(1)), (diskB, UInt64(2))] {
            try write(Write(offsetBytes: 0, lengthBytes: Int(disk.sizeBytes), seed: seed), to: disk, why: nil)
        }
        report.step("Filled \(diskA.path) and \(diskB.path) with pseudo-random data (checksums \(Checksum(diskA.contents)) and \(Checksum(diskB.contents))). Nothing is tracked yet, so these writes are not in any CBT.")
    }

    private func openControl() throws(CommandFailure) -> Control {
        let control = try backend.control()
        self.control = control
        let version = try performing(backend) { () throws(BlksnapError) in try control.version() }
        report.moduleVersion = version.description
        let expected: Version
        switch dialect {
        case .v5: expected = .v5
        case .val7: expected = Version(major: 7, minor: 0, revision: 0, build: 0)
        case .val6: expected = Version(major: 1, minor: 0, revision: 0, build: 0)
        }
        report.check("module version", expected: expected.description, actual: version.description)
        report.step("Opened \(backend.driver.controlPath) of the simulator (\(abi.displayName)): module version \(version).")
        return control
    }

    private func attachTrackers() throws(CommandFailure) {
        for disk in [diskA, diskB] {
            let device = try backend.blockDevice(.path(disk.path))
            disk.device = device
            try performing(backend) { () throws(BlksnapError) in try device.attach() }
            let info = try performing(backend) { () throws(BlksnapError) in try device.cbtInfo() }
            report.detail("\(disk.path): CBT of \(info.blockCount) blocks of \(info.blockSizeBytes) bytes, generation \(info.generationID)")
        }
        report.step("Attached the blksnap tracker to \(diskA.path) and \(diskB.path): from now on every write is recorded in their change-block-tracking maps.")
    }

    private func createSnapshot(_ control: Control) throws(CommandFailure) -> SnapshotID {
        if dialect == .val6 {
            // VAL-6.x fixes the devices at create and switches them one after another: the
            // demo's two disks hold no filesystem spanning both, so that is allowed.
            let creation = SnapshotCreation(devices: [diskA.path, diskB.path], allowsSequentialMultiDeviceTake: true)
            let id = try performing(backend) { () throws(BlksnapError) in try control.createSnapshot(creation) }
            liveSnapshots.append(id)
            report.snapshots.append(id.description)
            report.step("Created snapshot \(id) of \(diskA.path) and \(diskB.path) (VAL-6.x names the devices at create).")
            return id
        }
        let id = try performing(backend) { () throws(BlksnapError) in try control.createSnapshot() }
        liveSnapshots.append(id)
        report.snapshots.append(id.description)
        for disk in [diskA, diskB] {
            guard let device = disk.device else { continue }
            try performing(backend) { () throws(BlksnapError) in try device.addToSnapshot(id) }
        }
        report.step("Created snapshot \(id) and added \(diskA.path) and \(diskB.path) to it.")
        return id
    }

    private func appendStorage(_ control: Control, _ id: SnapshotID) throws(CommandFailure) {
        let range = SectorRange(offsetSectors: 0, countSectors: storage.sizeBytes / 512)
        try performing(backend) { () throws(BlksnapError) in
            _ = try control.appendStorage(id, devicePath: storage.path, ranges: [range])
        }
        report.step("Appended sectors \(range) of \(storage.path) (\(storage.sizeBytes >> 20) MiB) to the difference storage of snapshot \(id): old data of overwritten chunks will be copied there.")
    }

    private func take(_ control: Control, _ id: SnapshotID) throws(CommandFailure) {
        try performing(backend) { () throws(BlksnapError) in try control.takeSnapshot(id) }
        report.step("Took snapshot \(id): the point in time is fixed and read-only images appeared.")
    }

    /// Finds each original's image, reads it whole and checks it equals the original's
    /// contents now. Returns the image paths.
    private func checkImages(label: String) throws(CommandFailure) -> [String] {
        var images: [String] = []
        for (index, disk) in [diskA, diskB].enumerated() {
            guard let device = disk.device else { continue }
            let info = try performing(backend) { () throws(BlksnapError) in try device.snapshotInfo() }
            // VAL-6.x: the image's own minor, the lowest free one, in create order.
            let expectedImage = "/dev/" + dialect.imageName(originalMajor: disk.number.major, originalMinor: disk.number.minor,
                                                             imageMinor: UInt32(index))
            report.check("image of \(disk.path) \(label)", expected: expectedImage, actual: info.imagePath ?? "none")
            guard let image = info.imagePath else { continue }
            images.append(image)
            let bytes = try KernelIO.read(backend.kernel, path: image, offsetBytes: 0, length: Int(disk.sizeBytes))
            report.detail("\(image): \(bytes.count) bytes, checksum \(Checksum(bytes))")
            report.check("\(image) holds the data of \(disk.path) at take time",
                         expected: Checksum(disk.contents).description, actual: Checksum(bytes).description)
        }
        report.step("Read both snapshot images in full with pread (\(label)): they match the disks at the moment of the take.")
        return images
    }

    private func verifyAfterOverwrite(images: [String], snapshotContents: [[UInt8]]) throws(CommandFailure) {
        for (index, disk) in [diskA, diskB].enumerated() {
            let now = try KernelIO.read(backend.kernel, path: disk.path, offsetBytes: 0, length: Int(disk.sizeBytes))
            report.check("\(disk.path) now holds the new data", expected: Checksum(disk.contents).description,
                         actual: Checksum(now).description)
            guard index < images.count else { continue }
            let image = try KernelIO.read(backend.kernel, path: images[index], offsetBytes: 0, length: Int(disk.sizeBytes))
            report.check("\(images[index]) still holds the old data", expected: Checksum(snapshotContents[index]).description,
                         actual: Checksum(image).description)
            report.check("\(images[index]) differs from the overwritten \(disk.path)", expected: "different",
                         actual: image == now ? "identical" : "different")
            if let device = disk.device {
                let info = try performing(backend) { () throws(BlksnapError) in try device.snapshotInfo() }
                report.check("snapshot of \(disk.path) not corrupted", expected: "none",
                             actual: info.errorCode.map { ErrnoName.name(of: $0) } ?? "none")
            }
        }
        report.step("Verified with pread: the originals hold the new data while the images \(images.joined(separator: " and ")) still hold the old data (copy-on-write worked).")
    }

    /// Reads the CBT of both originals and checks the blocks changed after `since` are
    /// exactly those touched by `expected`. Returns the changes number (for the next backup).
    private func showChanges(since: UInt8, expected: [Disk: [Write]], story: String) throws(CommandFailure) -> UInt8 {
        var number: UInt8 = 0
        for disk in [diskA, diskB] {
            guard let device = disk.device else { continue }
            let (info, map) = try performing(backend) { () throws(BlksnapError) in try device.readCBT() }
            number = info.changesNumber
            let changed = ChangedBlocks(map: map, since: since, blockSizeBytes: info.blockSizeBytes,
                                        capacitySectors: info.capacitySectors)
            var model = [UInt8](repeating: 0, count: map.count)
            for change in expected[disk] ?? [] {
                let first = Int(change.offsetBytes / UInt64(info.blockSizeBytes))
                let last = Int((change.offsetBytes + UInt64(change.lengthBytes) - 1) / UInt64(info.blockSizeBytes))
                for block in first...min(last, model.count - 1) { model[block] = 1 }
            }
            let predicted = ChangedBlocks(map: model, since: 0, blockSizeBytes: info.blockSizeBytes,
                                          capacitySectors: info.capacitySectors)
            let ranges = changed.ranges.map(\.description).joined(separator: " ")
            report.cbt.append(DemoReport.CBTChanges(device: disk.path, info: CBTInfoReport(device: disk.path, info: info),
                                                   since: since, changedRanges: changed.ranges.map(SectorRangeReport.init)))
            report.detail("\(disk.path): changes number \(info.changesNumber), generation \(info.generationID): \(changed.blockCount) block(s) changed after \(since)\(ranges.isEmpty ? "" : ", sectors " + ranges)")
            report.check("CBT of \(disk.path) after number \(since)",
                         expected: predicted.ranges.map(\.description).joined(separator: " "), actual: ranges)
        }
        report.step("Read the CBT maps (changes after number \(since)): \(story).")
        return number
    }

    /// Polls every queued event of `id` (WAIT_EVENT with timeout 0) and records them.
    ///
    /// - Parameter expectingFirst: the name the first event must have (a new snapshot's
    ///   `low_free_space`), or nil when any outcome is fine.
    private func drainEvents(_ control: Control, _ id: SnapshotID, expectingFirst: String?) throws(CommandFailure) {
        var events: [SnapshotEvent] = []
        while let event = try performing(backend, { () throws(BlksnapError) in try control.waitEvent(id, timeoutTicks: 0) }) {
            events.append(event)
            report.events.append(EventReport(id: id, event: event))
            report.detail("event: \(eventName(event)): \(event.description)")
        }
        if events.isEmpty { report.detail("no event queued") }
        if let expectingFirst {
            report.check("first event of a new snapshot is \(expectingFirst) (the module queues one at creation)",
                         expected: expectingFirst, actual: events.first.map(eventName) ?? "none")
        }
        report.step("Polled the events of snapshot \(id) (wait-event with timeout 0): \(events.count) received.")
    }

    private func destroy(_ control: Control, _ id: SnapshotID, images: [String]) throws(CommandFailure) {
        try performing(backend) { () throws(BlksnapError) in try control.destroySnapshot(id) }
        liveSnapshots.removeAll { $0 == id }
        for image in images {
            let gone: String
            do {
                _ = try backend.kernel.stat(image)
                gone = "still there"
            } catch {
                gone = ErrnoName.name(of: error)
            }
            report.check("\(image) removed by destroy", expected: "ENOENT", actual: gone)
        }
        report.step("Destroyed snapshot \(id): its images are gone, the trackers and their CBT stay.")
    }

    private func detachTrackers() throws(CommandFailure) {
        for disk in [diskA, diskB] {
            guard let device = disk.device else { continue }
            try performing(backend) { () throws(BlksnapError) in try device.detach() }
        }
        report.step("Detached the trackers from \(diskA.path) and \(diskB.path).")
    }

    // MARK: - Helpers

    /// Writes pattern bytes through the kernel (so trackers and COW see it) and updates the model.
    private func write(_ change: Write, to disk: Disk, why: String?) throws(CommandFailure) {
        let bytes = TestPattern(seed: change.seed).bytes(count: change.lengthBytes)
        try KernelIO.write(backend.kernel, path: disk.path, offsetBytes: change.offsetBytes, bytes: bytes)
        let start = Int(change.offsetBytes)
        disk.contents.replaceSubrange(start..<start + bytes.count, with: bytes)
        if let why {
            report.step("Wrote \(bytes.count) bytes at byte \(change.offsetBytes) of \(disk.path): \(why).")
        }
    }

    private func eventName(_ event: SnapshotEvent) -> String { EventReport.name(of: event) }
}

extension DemoScenario.Disk: Hashable {
    static func == (lhs: DemoScenario.Disk, rhs: DemoScenario.Disk) -> Bool { lhs === rhs }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
