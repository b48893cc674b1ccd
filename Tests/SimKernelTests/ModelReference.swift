#if canImport(Glibc)
import Glibc
#endif

/// The trivial reference model of the model-based test: what blksnap v5 must show
/// after each operation, computed straight from the spec with plain arrays.
///
/// - originals hold every write (§4: COW never changes what the original shows);
/// - each image holds its device's content at take time plus the image writes (§4.4);
/// - the CBT follows §3.2–§3.4: write map marked with `active`, read map = copy at
///   take, "set both" for cbtdirty and image writes, wraparound at 256.
struct ModelCBT: Equatable {
    var active: UInt32 = 1
    var previous: UInt32 = 0
    var writeMap: [UInt8]
    var readMap: [UInt8]
    /// Increases whenever the spec says a new generation id is made (attach, wraparound).
    var generationEpoch: Int

    init(blockCount: Int, epoch: Int) {
        writeMap = [UInt8](repeating: 0, count: blockCount)
        readMap = writeMap
        generationEpoch = epoch
    }

    /// `__cbt_map_set`: raise blocks of [sector, sector+count−1] to `value`; EINVAL at the
    /// first block past the map (earlier blocks stay marked).
    static func mark(_ map: inout [UInt8], sector: UInt64, count: UInt64, value: UInt8) -> Int32? {
        let first = sector >> 7
        let last = (sector &+ count &- 1) >> 7
        var index = first
        while index <= last {
            if index >= UInt64(map.count) { return EINVAL }
            if map[Int(index)] < value { map[Int(index)] = value }
            index += 1
        }
        return nil
    }

    /// A write through the filter (§2.1).
    mutating func markWrite(sector: UInt64, count: UInt64) {
        _ = Self.mark(&writeMap, sector: sector, count: count, value: UInt8(truncatingIfNeeded: active))
    }

    /// "Set both" (§3.4): write map with `active`, then (only on success) read map with `previous`.
    mutating func markBoth(sector: UInt64, count: UInt64) -> Int32? {
        if let error = Self.mark(&writeMap, sector: sector, count: count, value: UInt8(truncatingIfNeeded: active)) {
            return error
        }
        return Self.mark(&readMap, sector: sector, count: count, value: UInt8(truncatingIfNeeded: previous))
    }

    /// The switch at take (§3.3). Returns true when it wrapped and took `newEpoch`.
    mutating func switchNumbers(newEpoch: Int) -> Bool {
        previous = active
        active += 1
        if active == 256 {
            active = 1
            writeMap = [UInt8](repeating: 0, count: writeMap.count)
            generationEpoch = newEpoch
            return true
        }
        readMap = writeMap
        return false
    }
}

/// The image of one device: which snapshot and tracker made it, which chunks hold
/// captured snapshot data (COW or image write), and that data.
///
/// Uncaptured chunks read through to the original (§4.4). While the tracker that owns
/// the image stays attached, every original write captures first, so the image is
/// the content at take plus image writes; after a detach writes are no longer
/// intercepted and uncaptured chunks show them (§2.1).
struct ModelImage {
    var snapshot: Int
    var tracker: Int
    var data: [UInt8]
    var captured: [Bool]
    /// Observed overflow (tight-storage runs only): every image I/O fails EIO from then on.
    var corrupted = false

    /// Copies chunk `c` of `content` into the image data and marks it captured.
    mutating func capture(_ c: Int, from content: [UInt8]) {
        if captured[c] { return }
        let start = c * 65_536
        let end = min(start + 65_536, content.count)
        data.withUnsafeMutableBytes { target in
            content.withUnsafeBytes { source in
                _ = memcpy(target.baseAddress! + start, source.baseAddress! + start, end - start)
            }
        }
        captured[c] = true
    }

    /// What the image shows: captured chunks from `data`, the others from `content`.
    func view(over content: [UInt8]) -> [UInt8] {
        var result = content
        result.withUnsafeMutableBytes { target in
            data.withUnsafeBytes { source in
                for c in captured.indices where captured[c] {
                    let start = c * 65_536
                    _ = memcpy(target.baseAddress! + start, source.baseAddress! + start, min(65_536, content.count - start))
                }
            }
        }
        return result
    }
}

/// One simulated original device in the model.
struct ModelDevice {
    let name: String
    let sectors: UInt64
    var content: [UInt8]
    /// Id of the attached tracker (new at every attach), nil when untracked.
    var tracker: Int?
    /// The attached tracker's CBT.
    var cbt: ModelCBT?
    /// Snapshot the attached tracker is a member of.
    var snapshot: Int?
    /// The device's image (at most one: the name comes from the device number).
    var image: ModelImage?

    var path: String { "/dev/" + name }
    var bytes: Int { Int(sectors) * 512 }
    var blockCount: Int { Int((sectors + 127) / 128) }
    var chunkCount: Int { Int((sectors + 127) / 128) }
    /// True when the attached tracker owns the image (snapshotinfo shows it).
    var trackerOwnsImage: Bool { image != nil && image?.tracker == tracker }
}

/// A membership: the device and the tracker that joined (trackers outlive a detach).
struct ModelMember: Equatable {
    var device: Int
    var tracker: Int
}

/// One snapshot in the model (indexes are creation order; ids come from the kernel).
struct ModelSnapshot {
    var members: [ModelMember] = []
    var capacitySectors: UInt64 = 0
    /// TAKEN or BROKEN.
    var taken = false
    var destroyed = false
}

/// The logical-block-aligned sector range a write of `count` bytes at `offset` submits.
func sectorRange(offset: Int, count: Int) -> (sector: UInt64, count: UInt64) {
    let start = offset / 512
    let end = (offset + count + 511) / 512
    return (UInt64(start), UInt64(end - start))
}

/// The reference model: devices, snapshots and the expected result of every operation.
struct ModelState {
    var devices: [ModelDevice]
    var snapshots: [ModelSnapshot] = []
    private var epochs = 0
    private var trackers = 0
    /// CBT wraparounds (255th takes) so far, on attached trackers.
    private(set) var wraparounds = 0

    init(devices: [(String, UInt64)]) {
        self.devices = devices.map { ModelDevice(name: $0.0, sectors: $0.1, content: [UInt8](repeating: 0, count: Int($0.1) * 512)) }
    }

    var liveSnapshots: [Int] { snapshots.indices.filter { !snapshots[$0].destroyed } }

    /// Whether member `m` is the device's attached tracker.
    private func isCurrent(_ m: ModelMember) -> Bool { devices[m.device].tracker == m.tracker }

    // MARK: Operations: each returns the errno the spec expects (nil = success).

    mutating func attach(_ d: Int) -> Int32? {
        if devices[d].tracker != nil { return EALREADY }
        epochs += 1
        trackers += 1
        devices[d].tracker = trackers
        devices[d].cbt = ModelCBT(blockCount: devices[d].blockCount, epoch: epochs)
        return nil
    }

    /// DETACH: never refused; the tracker lives on in its snapshot, unintercepted (§2.1).
    mutating func detach(_ d: Int) -> Int32? {
        if devices[d].tracker == nil { return ENOENT }
        devices[d].tracker = nil
        devices[d].cbt = nil
        devices[d].snapshot = nil
        return nil
    }

    mutating func create() -> Int {
        snapshots.append(ModelSnapshot())
        return snapshots.count - 1
    }

    mutating func add(_ d: Int, to s: Int) -> Int32? {
        guard let tracker = devices[d].tracker else { return ENOENT }
        if snapshots[s].destroyed { return ESRCH }
        if snapshots[s].members.contains(where: { $0.device == d }) { return EALREADY }  // same dev_t
        if devices[d].snapshot != nil { return EBUSY }
        snapshots[s].members.append(ModelMember(device: d, tracker: tracker))
        devices[d].snapshot = s
        return nil
    }

    mutating func append(_ s: Int, sectors: UInt64) -> Int32? {
        if snapshots[s].destroyed { return ESRCH }
        snapshots[s].capacitySectors += sectors
        return nil
    }

    /// TAKE (§2.3): switch every member's CBT (only the attached trackers' CBTs are
    /// observable), then one image per member; a device that already has an image (an
    /// older tracker's) makes add_disk fail EEXIST → BROKEN, images of this take removed.
    mutating func take(_ s: Int) -> Int32? {
        if snapshots[s].destroyed { return ESRCH }
        if snapshots[s].taken { return EALREADY }
        if snapshots[s].members.isEmpty { return ENODEV }
        if snapshots[s].capacitySectors == 0 { return EFAULT }
        snapshots[s].taken = true
        for m in snapshots[s].members where isCurrent(m) {
            if devices[m.device].cbt!.switchNumbers(newEpoch: epochs + 1) { epochs += 1; wraparounds += 1 }
        }
        var created: [Int] = []
        for m in snapshots[s].members {
            if devices[m.device].image != nil {
                for d in created { devices[d].image = nil }
                return EEXIST
            }
            let device = devices[m.device]
            devices[m.device].image = ModelImage(snapshot: s, tracker: m.tracker, data: device.content,
                                                 captured: [Bool](repeating: false, count: device.chunkCount))
            created.append(m.device)
        }
        return nil
    }

    /// One create/add/append/take/destroy cycle of an idle tracked device without an image.
    mutating func cycleTake(_ d: Int) {
        precondition(devices[d].cbt != nil && devices[d].snapshot == nil && devices[d].image == nil)
        if devices[d].cbt!.switchNumbers(newEpoch: epochs + 1) { epochs += 1; wraparounds += 1 }
    }

    /// The chunks a byte range touches.
    private func chunks(offset: Int, count: Int) -> ClosedRange<Int> {
        (offset / 65_536)...((offset + count - 1) / 65_536)
    }

    mutating func write(_ d: Int, offset: Int, data: [UInt8]) {
        let range = sectorRange(offset: offset, count: data.count)
        if devices[d].tracker != nil {
            devices[d].cbt!.markWrite(sector: range.sector, count: range.count)
            // COW by the attached tracker's image only, and not once corrupted.
            if devices[d].trackerOwnsImage && !devices[d].image!.corrupted {
                let content = devices[d].content
                for c in chunks(offset: offset, count: data.count) { devices[d].image!.capture(c, from: content) }
            }
        }
        overwrite(&devices[d].content, atByte: offset, with: data)
    }

    /// An image write: captures the touched chunks, overlays the data, marks the
    /// image's tracker CBT "set both" (visible only while that tracker is attached).
    /// A corrupted image fails with EIO before marking anything (§4.4).
    mutating func imageWrite(_ d: Int, offset: Int, data: [UInt8]) -> Int32? {
        guard devices[d].image != nil else { return nil }
        if devices[d].image!.corrupted { return EIO }
        let content = devices[d].content
        for c in chunks(offset: offset, count: data.count) { devices[d].image!.capture(c, from: content) }
        overwrite(&devices[d].image!.data, atByte: offset, with: data)
        if devices[d].trackerOwnsImage {
            let range = sectorRange(offset: offset, count: data.count)
            _ = devices[d].cbt!.markBoth(sector: range.sector, count: range.count)
        }
        return nil
    }

    mutating func markDirty(_ d: Int, sector: UInt64, count: UInt64) -> Int32? {
        guard devices[d].cbt != nil else { return ENOENT }
        return devices[d].cbt!.markBoth(sector: sector, count: count)
    }

    mutating func destroy(_ s: Int) -> Int32? {
        if snapshots[s].destroyed { return ENODEV }
        snapshots[s].destroyed = true
        for m in snapshots[s].members {
            if devices[m.device].image?.snapshot == s { devices[m.device].image = nil }
            if isCurrent(m) { devices[m.device].snapshot = nil }
        }
        return nil
    }
}
