#if canImport(Glibc)
import Glibc
#endif
import BlksnapDrivers
import BlksnapKit
import CBlksnapUAPI
import SystemPackage

/// One device of the fixed layout, with the runner's model of its content.
final class DeviceState {
    let role: String
    let path: String
    let number: DeviceNumber
    let sizeBytes: UInt64
    /// Opened for the filter requests (BlksnapKit).
    let control: BlockDevice
    /// Opened read-write (with `O_DIRECT` on the kernel) for data I/O and raw ioctls.
    let fd: CInt
    /// What the device must contain (originals only).
    var content: [UInt8]
    /// The model's tracker: a new number at every successful attach, nil when detached.
    var tracker: Int?

    /// The image name before `_MAJOR:MINOR` (`blksnap-image`, VAL-7.0 `veeamblksnapimg`).
    let imagePrefix: String
    /// VAL-6.x: the image's name as COLLECT_IMAGES gave it after the last take
    /// (`veeamblksnapimg<minor>`: the name does not encode the original).
    var discoveredImageName: String?

    init(role: String, path: String, number: DeviceNumber, sizeBytes: UInt64, control: BlockDevice, fd: CInt,
         modelled: Bool, imagePrefix: String) {
        self.imagePrefix = imagePrefix
        self.role = role
        self.path = path
        self.number = number
        self.sizeBytes = sizeBytes
        self.control = control
        self.fd = fd
        self.content = modelled ? [UInt8](repeating: 0, count: Int(sizeBytes)) : []
    }

    var imagePath: String {
        discoveredImageName.map { "/dev/" + $0 } ?? "/dev/\(imagePrefix)_\(number.major):\(number.minor)"
    }
}

/// The model of one image: the chunks whose snapshot data differs from the live
/// original (captured by COW or written through the image).
final class ImageModel {
    let tracker: Int?
    var captured: [Int: [UInt8]] = [:]
    /// Chunks queued for storing since the store worker last ran (§4.5).
    var queued = 0
    /// The store worker was started since the last settle.
    var storeStarted = false
    var corrupted = false

    init(tracker: Int?) { self.tracker = tracker }
}

/// The model of one snapshot.
final class SnapshotModel {
    let id: SnapshotID
    var members: [(device: Int, tracker: Int?)] = []
    var taken = false
    var images: [Int: ImageModel] = [:]

    init(id: SnapshotID) { self.id = id }
}

/// Everything a scenario needs: the backend, the transcript, the devices and their
/// models, and helpers that turn each request into one normalized line.
public final class Harness {
    let backend: ConformanceBackend
    let transcript: Transcript
    let symbols = Symbols()
    let control: Control
    let controlFD: CInt
    let devices: [DeviceState]
    let faults = FaultPages()
    let chunkBytes: Int
    var maxInQueue: Int
    /// The module parameters the run was started with.
    let parameters: [String: UInt32]
    var snapshots: [SnapshotModel] = []
    private var nextTracker = 1
    private var warnedAboutPageLayout = false
    /// Memory the raw scenarios point the kernel at (paths, buffers), freed with the harness.
    var keepAlive: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in keepAlive { pointer.deallocate() }
    }

    var kernel: any KernelInterface { backend.kernel }
    var orig0: DeviceState { devices[0] }
    var orig1: DeviceState { devices[1] }
    var store: DeviceState { devices[2] }

    /// Opens the control device and the three devices of the layout.
    ///
    /// - Throws: ``ConformanceError`` when a device cannot be opened or has the wrong size.
    public init(backend: ConformanceBackend, parameters: [String: UInt32], transcript: Transcript) throws(ConformanceError) {
        self.backend = backend
        self.transcript = transcript
        self.parameters = parameters
        chunkBytes = 1 << Int(parameters["chunk_minimum_shift"] ?? 18)
        maxInQueue = Int(parameters["chunk_maximum_in_queue"] ?? 16)
        let driver = BlksnapDrivers.driver(for: backend.abi, kernel: backend.kernel)
        do {
            control = try Control(driver: driver)
            controlFD = try backend.kernel.open(driver.controlPath, flags: O_RDWR)
        } catch {
            throw ConformanceError("cannot open \(driver.controlPath): \(error)")
        }
        let imagePrefix = backend.abi == .v5 ? "blksnap-image" : "veeamblksnapimg"
        var devices: [DeviceState] = []
        let layout = [("ORIG0", backend.orig0, ConformanceBackend.originalBytes),
                      ("ORIG1", backend.orig1, ConformanceBackend.originalBytes),
                      ("STORE", backend.store, ConformanceBackend.storageBytes)]
        for (role, path, bytes) in layout {
            do {
                let device = try BlockDevice(path: path, driver: driver)
                let size = try device.capacityBytes()
                guard size == bytes else { throw ConformanceError("\(path) has \(size) bytes, expected \(bytes)") }
                let number = try device.deviceNumber()
                let fd = try backend.kernel.open(path, flags: O_RDWR | backend.dataOpenFlags)
                symbols.register(device: number, as: role)
                devices.append(DeviceState(role: role, path: path, number: number, sizeBytes: size, control: device,
                                           fd: fd, modelled: role != "STORE", imagePrefix: imagePrefix))
            } catch let error as ConformanceError {
                throw error
            } catch {
                throw ConformanceError("cannot open \(path): \(error)")
            }
        }
        self.devices = devices
    }

    // MARK: Lines

    /// Put before every line (the random walk's step number).
    var prefix = ""

    func emit(_ text: String) { transcript.emit(prefix + text) }

    static func name(_ errno: Errno) -> String { ErrnoName.name(of: errno) }

    /// Runs a BlksnapKit call and prints `label: ok[ detail]` or `label: ERRNO`.
    @discardableResult
    func step(_ label: String, _ body: () throws(BlksnapError) -> String?) -> Bool {
        do {
            let detail = try body()
            emit("\(label): ok" + (detail.map { " " + $0 } ?? ""))
            return true
        } catch {
            emit("\(label): \(Self.name(error.errno))")
            return false
        }
    }

    /// A raw ioctl: `ok` (or `ok=N` for a positive result) or the errno name.
    func raw(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> String {
        do {
            let result = try kernel.ioctl(fd, request, argument)
            return result == 0 ? "ok" : "ok=\(result)"
        } catch {
            return Self.name(error)
        }
    }

    /// A raw ioctl on the bytes of `value`.
    func raw<T>(_ fd: CInt, _ request: UInt, on value: inout T) -> String {
        withUnsafeMutableBytes(of: &value) { raw(fd, request, $0.baseAddress!) }
    }

    /// `BLKFILTER_CTL` with a hand-made header: name, cmd, optlen, opt.
    func filterCtl(_ device: DeviceState, name: String = "blksnap", cmd: UInt32, optlen: UInt32,
                   opt: UnsafeMutableRawPointer?) -> String {
        var ctl = blkfilter_ctl()
        withUnsafeMutableBytes(of: &ctl.name) { bytes in
            for (index, byte) in name.utf8.prefix(31).enumerated() { bytes[index] = byte }
        }
        ctl.cmd = cmd
        ctl.optlen = optlen
        ctl.opt = UInt64(UInt(bitPattern: opt))
        return raw(device.fd, BLKSNAP_REQ_BLKFILTER_CTL, on: &ctl)
    }

    // MARK: Model-aware requests

    func snapshotModel(_ id: SnapshotID) -> SnapshotModel? { snapshots.first { $0.id == id } }

    @discardableResult
    func create(_ label: String = "create") -> SnapshotModel? {
        var created: SnapshotModel?
        step(label) { () throws(BlksnapError) -> String? in
            let id = try control.createSnapshot()
            let model = SnapshotModel(id: id)
            snapshots.append(model)
            created = model
            return symbols.snapshot(id)
        }
        return created
    }

    /// A snapshot of `members`: on v5 and VAL-7.0 a create and one add per member (the
    /// same lines as ``create(_:)`` and ``add(_:to:)``); VAL-6.x fixes the devices at
    /// create (one `create [ROLES]` line; its take is sequential, which the scenarios allow).
    @discardableResult
    func create(_ label: String = "create", members: [DeviceState]) -> SnapshotModel? {
        guard backend.abi == .val6 else {
            guard let model = create(label) else { return nil }
            for member in members { add(member, to: model.id) }
            return model
        }
        var created: SnapshotModel?
        let roles = members.map(\.role).joined(separator: ",")
        step("\(label) [\(roles)]") { () throws(BlksnapError) -> String? in
            let creation = SnapshotCreation(devices: members.map(\.path), allowsSequentialMultiDeviceTake: true)
            let id = try control.createSnapshot(creation)
            let model = SnapshotModel(id: id)
            for member in members {
                // VAL-6.x starts tracking a device at the first create naming it.
                if member.tracker == nil {
                    member.tracker = nextTracker
                    nextTracker += 1
                }
                model.members.append((devices.firstIndex { $0 === member }!, member.tracker))
            }
            snapshots.append(model)
            created = model
            return symbols.snapshot(id)
        }
        return created
    }

    @discardableResult
    func destroy(_ id: SnapshotID) -> Bool {
        step("destroy \(symbols.snapshot(id))") { () throws(BlksnapError) -> String? in
            try control.destroySnapshot(id)
            snapshots.removeAll { $0.id == id }
            return nil
        }
    }

    @discardableResult
    func attach(_ device: DeviceState) -> Bool {
        step("attach \(device.role)") { () throws(BlksnapError) -> String? in
            try device.control.attachUnchecked()
            device.tracker = nextTracker
            nextTracker += 1
            return nil
        }
    }

    @discardableResult
    func detach(_ device: DeviceState) -> Bool {
        step("detach \(device.role)") { () throws(BlksnapError) -> String? in
            try device.control.detach()
            device.tracker = nil
            return nil
        }
    }

    @discardableResult
    func add(_ device: DeviceState, to id: SnapshotID) -> Bool {
        step("add \(device.role) to \(symbols.snapshot(id))") { () throws(BlksnapError) -> String? in
            try device.control.addToSnapshot(id)
            snapshotModel(id)?.members.append((devices.firstIndex { $0 === device }!, device.tracker))
            return nil
        }
    }

    @discardableResult
    func append(_ id: SnapshotID, _ ranges: [SectorRange], path: String? = nil) -> Bool {
        let text = ranges.map { "\($0.offsetSectors)+\($0.countSectors)" }.joined(separator: ",")
        let shown = path.map { path in devices.first { $0.path == path }?.role ?? path } ?? "STORE"
        return step("append \(symbols.snapshot(id)) \(shown) [\(text)]") { () throws(BlksnapError) -> String? in
            try control.appendStorageUnchecked(id, devicePath: path ?? store.path, ranges: ranges)
            return nil
        }
    }

    @discardableResult
    func take(_ id: SnapshotID) -> Bool {
        defer {
            // VAL-6.x destroys a snapshot whose take failed early: the model forgets it (no line).
            if backend.abi == .val6, snapshotModel(id)?.taken == false, let listed = try? control.collectSnapshots(),
               !listed.contains(id) {
                snapshots.removeAll { $0.id == id }
            }
        }
        return step("take \(symbols.snapshot(id))") { () throws(BlksnapError) -> String? in
            try control.takeSnapshot(id)
            if let model = snapshotModel(id) {
                model.taken = true
                for member in model.members { model.images[member.device] = ImageModel(tracker: member.tracker) }
                if backend.abi == .val6 {
                    // VAL-6.x's image names carry the image's own minor: learn them (no line).
                    for member in model.members {
                        let device = devices[member.device]
                        device.discoveredImageName = try? device.control.snapshotInfo().imageName
                        if let name = device.discoveredImageName { symbols.register(image: name, of: device.number) }
                    }
                }
            }
            return nil
        }
    }

    func info(_ device: DeviceState) {
        step("snapshotinfo \(device.role)") { () throws(BlksnapError) -> String? in
            let info = try device.control.snapshotInfo()
            let error = info.errorCode.map { "-" + Self.name($0) } ?? "0"
            return "error=\(error) image=\(symbols.imageName(info.imageName ?? ""))"
        }
    }

    func cbtInfo(_ device: DeviceState) {
        step("cbtinfo \(device.role)") { () throws(BlksnapError) -> String? in
            let info = try device.control.cbtInfo()
            return "capacity=\(info.capacityBytes) block=\(info.blockSizeBytes) count=\(info.blockCount) "
                + "generation=\(symbols.generation(info.generationID)) changes=\(info.changesNumber)"
        }
    }

    func cbtMap(_ device: DeviceState) {
        step("cbtmap \(device.role)") { () throws(BlksnapError) -> String? in
            let map = try device.control.readWholeCBTMap(chunkBytes: 200)
            return "\(Pattern.runs(map)) digest=\(Pattern.digest(map))"
        }
    }

    func collect(_ label: String = "collect") {
        step(label) { () throws(BlksnapError) -> String? in
            let ids = try control.collectSnapshots()
            return "[" + ids.map { symbols.snapshot($0) }.joined(separator: ",") + "]"
        }
    }

    // MARK: Events

    /// Describes an event and updates the model (a corrupted device's image).
    func describe(_ event: SnapshotEvent, of snapshot: SnapshotModel?) -> String {
        switch event {
        case .lowFreeSpace(let sectors, _):
            return "low_free_space requested=\(sectors)"
        case .corrupted(let device, let errno, _):
            if let index = devices.firstIndex(where: { $0.number == device }) {
                snapshot?.images[index]?.corrupted = true
            }
            return "corrupted \(symbols.device(device)) err=\(Self.name(errno))"
        case .unknown(let code, _, _):
            return "unknown code=\(code)"
        }
    }

    /// A BlksnapKit wait of `ticks` (sent as waits of at most 2^31 − 1 ticks, spec §12.1 item 10).
    func waitEvent(_ id: SnapshotID, ticks: UInt32 = 0, label: String? = nil) {
        let model = snapshotModel(id)
        step(label ?? "wait \(symbols.snapshot(id))") { () throws(BlksnapError) -> String? in
            guard let event = try control.waitEvent(id, timeoutTicks: ticks) else { return "none" }
            return describe(event, of: model)
        }
    }

    /// Lets the store worker finish, then prints every queued event of every live
    /// snapshot (`events S1: none` when there is none). The wait is long only when the
    /// model says a store worker was started since the last settle.
    func settle(_ label: String = "events") {
        for snapshot in snapshots {
            let started = snapshot.images.values.contains { $0.storeStarted }
            for image in snapshot.images.values { image.storeStarted = false }
            let ticks = started ? backend.settleTicks : 0
            var seen: [String] = []
            while true {
                do {
                    guard let event = try control.waitEvent(snapshot.id, timeoutTicks: ticks) else { break }
                    seen.append(describe(event, of: snapshot))
                } catch {
                    seen.append(Self.name(error.errno))
                    break
                }
            }
            emit("\(label) \(symbols.snapshot(snapshot.id)): " + (seen.isEmpty ? "none" : seen.joined(separator: "; ")))
        }
    }

    // MARK: Data

    private func chunkRange(offset: Int, count: Int) -> ClosedRange<Int> {
        (offset / chunkBytes)...((offset + count - 1) / chunkBytes)
    }

    /// Images (in live snapshots) of a device that the model tracks.
    private func images(of index: Int) -> [ImageModel] {
        snapshots.compactMap { $0.images[index] }
    }

    private func capture(_ image: ImageModel, chunk: Int, of device: DeviceState) {
        guard image.captured[chunk] == nil else { return }
        let start = chunk * chunkBytes
        let end = min(start + chunkBytes, device.content.count)
        image.captured[chunk] = Array(device.content[start..<end])
        image.queued += 1
        if image.queued > maxInQueue {
            image.storeStarted = true
            image.queued = 0
        }
    }

    /// Writes `count` bytes of pattern `seed` at `offset` of an original (O_DIRECT on the
    /// kernel) and prints the result; the model captures chunks for protected images.
    @discardableResult
    func write(_ device: DeviceState, offset: Int, count: Int, seed: UInt64, label: String? = nil) -> Bool {
        let buffer = AlignedBuffer(count: count)
        Pattern.fill(buffer.bytes, seed: seed)
        let index = devices.firstIndex { $0 === device }!
        let text = label ?? "write \(device.role) @\(offset)+\(count)"
        do {
            let written = try kernel.pwrite(device.fd, from: UnsafeRawBufferPointer(buffer.bytes), at: UInt64(offset))
            if written != count { emit("\(text): short \(written)"); return false }
        } catch {
            emit("\(text): \(Self.name(error))")
            return false
        }
        for image in images(of: index) where !image.corrupted && image.tracker != nil && image.tracker == device.tracker {
            for chunk in chunkRange(offset: offset, count: count) { capture(image, chunk: chunk, of: device) }
        }
        device.content.replaceSubrange(offset..<offset + count, with: buffer.bytes)
        emit("\(text): ok")
        return true
    }

    /// The buffer of an image write: on the real kernel, pages in descending physical
    /// order (see `AlignedBuffer(descendingPhysicalPages:)`), so that what v5's spanning
    /// image writes leave behind is the same in every run.
    private func imageWriteBuffer(count: Int) -> AlignedBuffer {
        guard kernel.usesHostDevices else { return AlignedBuffer(count: count) }
        if let buffer = AlignedBuffer(descendingPhysicalPages: count) { return buffer }
        if !warnedAboutPageLayout {
            warnedAboutPageLayout = true
            let text = "conformance: warning: the write buffer's pages could not be put in descending physical "
                + "order (needs root for /proc/self/pagemap, and /dev/shm or /tmp); image writes spanning "
                + "chunks may read back differently from run to run (spec §12.1 item 9)\n"
            _ = text.utf8CString.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
        }
        return AlignedBuffer(count: count)
    }

    /// Writes pattern `seed` through the image of `device` in `snapshot`.
    @discardableResult
    /// `guarded`: the write is cut into pieces by BlksnapKit's ``ImageWriteGuard`` (what
    /// blksnapctl does), instead of one pwrite (one bio with `O_DIRECT`).
    func writeImage(_ device: DeviceState, in snapshot: SnapshotModel?, offset: Int, count: Int, seed: UInt64,
                    guarded: Bool = false) -> Bool {
        let buffer = imageWriteBuffer(count: count)
        Pattern.fill(buffer.bytes, seed: seed)
        let text = "imagewrite \(device.role) @\(offset)+\(count)" + (guarded ? " guarded" : "")
        let fd: CInt
        do {
            fd = try kernel.open(device.imagePath, flags: O_RDWR | backend.dataOpenFlags)
        } catch {
            emit("\(text): open \(Self.name(error))")
            return false
        }
        defer { try? kernel.close(fd) }
        do {
            var done = 0
            while done < count {
                let length = guarded ? ImageWriteGuard.pieceLength(offsetBytes: UInt64(offset + done), remainingBytes: count - done)
                                     : count - done
                let piece = UnsafeRawBufferPointer(rebasing: buffer.bytes[done..<(done + length)])
                let written = try kernel.pwrite(fd, from: piece, at: UInt64(offset + done))
                if written != length { emit("\(text): short \(done + written)"); return false }
                done += length
            }
        } catch {
            emit("\(text): \(Self.name(error))")
            return false
        }
        let index = devices.firstIndex { $0 === device }!
        if let image = snapshot?.images[index] {
            for chunk in chunkRange(offset: offset, count: count) {
                capture(image, chunk: chunk, of: device)
                let start = chunk * chunkBytes
                let from = max(offset, start), to = min(offset + count, start + chunkBytes)
                image.captured[chunk]!.replaceSubrange((from - start)..<(to - start),
                                                       with: buffer.bytes[(from - offset)..<(to - offset)])
            }
        }
        emit("\(text): ok")
        return true
    }

    /// What the image of `device` must hold in chunk `chunk` (captured data, else the original's).
    private func expectedImage(_ image: ImageModel?, _ device: DeviceState, chunk: Int) -> ArraySlice<UInt8> {
        if let data = image?.captured[chunk] { return data[...] }
        let start = chunk * chunkBytes
        return device.content[start..<min(start + chunkBytes, device.content.count)]
    }

    /// Reads whole chunks `chunks` of the image (or of the original itself) and prints
    /// one verdict per chunk (`ok`/`WRONG`/errno) and a digest when all are ok.
    func check(_ device: DeviceState, image snapshot: SnapshotModel?, chunks: ClosedRange<Int>, label: String? = nil) {
        let index = devices.firstIndex { $0 === device }!
        let ofImage = snapshot != nil
        let what = ofImage ? "image \(device.role)" : "original \(device.role)"
        let text = label ?? "read \(what) chunks \(chunks.lowerBound)-\(chunks.upperBound)"
        let fd: CInt
        if ofImage {
            do {
                fd = try kernel.open(device.imagePath, flags: O_RDONLY | backend.dataOpenFlags)
            } catch {
                emit("\(text): open \(Self.name(error))")
                return
            }
        } else {
            fd = device.fd
        }
        defer { if ofImage { try? kernel.close(fd) } }
        let image = snapshot?.images[index]
        let buffer = AlignedBuffer(count: chunkBytes)
        var verdicts: [String] = []
        var allOK = true
        var digest = Pattern.Digest()
        var okCount = 0
        for chunk in chunks {
            let expected = expectedImage(ofImage ? image : nil, device, chunk: chunk)
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[0..<expected.count])
            do {
                let n = try kernel.pread(fd, into: slice, at: UInt64(chunk * chunkBytes))
                let same = n == expected.count && expected.withUnsafeBytes { memcmp($0.baseAddress!, slice.baseAddress!, n) == 0 }
                if n != expected.count {
                    verdicts.append("short\(n)")
                    allOK = false
                } else if same {
                    verdicts.append("ok")
                    okCount += 1
                    digest.add(UnsafeRawBufferPointer(slice))
                } else {
                    verdicts.append("WRONG")
                    allOK = false
                }
            } catch {
                verdicts.append(Self.name(error))
                allOK = false
            }
        }
        let hash = allOK ? " hash=\(digest.text)" : ""
        if chunks.count <= 8 {
            emit("\(text): " + verdicts.joined(separator: " ") + hash)
        } else {
            // Long ranges: a count and the chunks that are not ok.
            let bad = zip(chunks, verdicts).filter { $0.1 != "ok" }.map { "\($0.0):\($0.1)" }
            emit("\(text): \(okCount)/\(chunks.count) ok" + (bad.isEmpty ? "" : " bad=" + compress(bad)) + hash)
        }
    }

    /// Long lists of bad chunks: the first 12 and a count of the rest.
    private func compress(_ items: [String]) -> String {
        items.count <= 12 ? items.joined(separator: ",") : items.prefix(12).joined(separator: ",") + ",+\(items.count - 12)"
    }

    /// The whole image (or original).
    func checkAll(_ device: DeviceState, image snapshot: SnapshotModel?) {
        let last = (Int(device.sizeBytes) + chunkBytes - 1) / chunkBytes - 1
        let what = snapshot != nil ? "image \(device.role)" : "original \(device.role)"
        check(device, image: snapshot, chunks: 0...last, label: "read \(what) whole")
    }

    /// Whether the image node of `device` exists.
    func imageNode(_ device: DeviceState) {
        do {
            let status = try kernel.stat(device.imagePath)
            emit("node IMAGE(\(device.role)): " + (status.isBlockDevice ? "block device" : "exists"))
        } catch {
            emit("node IMAGE(\(device.role)): \(Self.name(error))")
        }
    }

    // MARK: Between areas

    /// Destroys every snapshot and detaches every tracker, printing nothing (an area
    /// starts from a clean module).
    func reset() {
        if let ids = try? control.collectSnapshots() {
            for id in ids { try? control.destroySnapshot(id) }
        }
        snapshots.removeAll()
        for device in devices {
            try? device.control.detach()
            device.tracker = nil
            device.discoveredImageName = nil
        }
    }
}
