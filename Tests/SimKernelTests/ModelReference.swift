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

/// One simulated original device in the model.
struct ModelDevice {
    let name: String
    let sectors: UInt64
    var content: [UInt8]
    var cbt: ModelCBT?
    /// Index of the snapshot this device is a member of.
    var snapshot: Int?
    /// The image content while the device has an image.
    var image: [UInt8]?

    var path: String { "/dev/" + name }
    var bytes: Int { Int(sectors) * 512 }
    var blockCount: Int { Int((sectors + 127) / 128) }
    var chunkCount: Int { Int((sectors + 127) / 128) }
}

/// One snapshot in the model (indexes are creation order; ids come from the kernel).
struct ModelSnapshot {
    var members: [Int] = []
    var capacitySectors: UInt64 = 0
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

    init(devices: [(String, UInt64)]) {
        self.devices = devices.map { ModelDevice(name: $0.0, sectors: $0.1, content: [UInt8](repeating: 0, count: Int($0.1) * 512)) }
    }

    mutating func nextEpoch() -> Int {
        epochs += 1
        return epochs
    }

    var liveSnapshots: [Int] { snapshots.indices.filter { !snapshots[$0].destroyed } }

    // MARK: Operations: each returns the errno the spec expects (nil = success).

    mutating func attach(_ d: Int) -> Int32? {
        if devices[d].cbt != nil { return EALREADY }
        devices[d].cbt = ModelCBT(blockCount: devices[d].blockCount, epoch: nextEpoch())
        return nil
    }

    mutating func create() -> Int {
        snapshots.append(ModelSnapshot())
        return snapshots.count - 1
    }

    mutating func add(_ d: Int, to s: Int) -> Int32? {
        guard devices[d].cbt != nil else { return ENOENT }
        if snapshots[s].destroyed { return ESRCH }
        if snapshots[s].members.contains(d) { return EALREADY }
        if devices[d].snapshot != nil { return EBUSY }
        snapshots[s].members.append(d)
        devices[d].snapshot = s
        return nil
    }

    mutating func append(_ s: Int, sectors: UInt64) -> Int32? {
        if snapshots[s].destroyed { return ESRCH }
        snapshots[s].capacitySectors += sectors
        return nil
    }

    mutating func take(_ s: Int) -> Int32? {
        if snapshots[s].destroyed { return ESRCH }
        if snapshots[s].taken { return EALREADY }
        if snapshots[s].members.isEmpty { return ENODEV }
        if snapshots[s].capacitySectors == 0 { return EFAULT }
        snapshots[s].taken = true
        for d in snapshots[s].members {
            if devices[d].cbt!.switchNumbers(newEpoch: epochs + 1) { epochs += 1 }
            devices[d].image = devices[d].content
        }
        return nil
    }

    /// One create/add/append/take/destroy cycle of an idle tracked device: only its CBT switches.
    mutating func cycleTake(_ d: Int) {
        precondition(devices[d].cbt != nil && devices[d].snapshot == nil)
        if devices[d].cbt!.switchNumbers(newEpoch: epochs + 1) { epochs += 1 }
    }

    mutating func write(_ d: Int, offset: Int, data: [UInt8]) {
        overwrite(&devices[d].content, atByte: offset, with: data)
        let range = sectorRange(offset: offset, count: data.count)
        devices[d].cbt?.markWrite(sector: range.sector, count: range.count)
    }

    /// An image write; nil result and no change when the device has no image (the
    /// caller does not issue it then).
    mutating func imageWrite(_ d: Int, offset: Int, data: [UInt8]) {
        guard devices[d].image != nil else { return }
        overwrite(&devices[d].image!, atByte: offset, with: data)
        let range = sectorRange(offset: offset, count: data.count)
        _ = devices[d].cbt?.markBoth(sector: range.sector, count: range.count)
    }

    mutating func markDirty(_ d: Int, sector: UInt64, count: UInt64) -> Int32? {
        guard devices[d].cbt != nil else { return ENOENT }
        return devices[d].cbt!.markBoth(sector: sector, count: count)
    }

    mutating func destroy(_ s: Int) -> Int32? {
        if snapshots[s].destroyed { return ENODEV }
        snapshots[s].destroyed = true
        for d in snapshots[s].members {
            devices[d].image = nil
            devices[d].snapshot = nil
        }
        return nil
    }
}
