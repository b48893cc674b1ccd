import BlksnapKit

/// One step of the model-based test.
enum ModelOp: CustomStringConvertible {
    case attach(device: Int)
    case detach(device: Int)
    case create
    case add(device: Int, snapshot: Int)
    case append(snapshot: Int, ranges: [SectorRange])
    case take(snapshot: Int)
    case write(device: Int, offset: Int, count: Int, salt: Int)
    case imageRead(device: Int, offset: Int, count: Int)
    case imageWrite(device: Int, offset: Int, count: Int, salt: Int)
    case markDirty(device: Int, range: SectorRange)
    case destroy(snapshot: Int)
    /// `count` quick create/add/append/take/destroy cycles of one idle tracked device
    /// (pushes its CBT numbers through the 255/256 wraparound).
    case takeCycles(device: Int, count: Int)

    var description: String {
        switch self {
        case .attach(let d): return "attach dev\(d)"
        case .detach(let d): return "detach dev\(d)"
        case .create: return "create"
        case .add(let d, let s): return "add dev\(d) → snap\(s)"
        case .append(let s, let ranges): return "append snap\(s) \(ranges)"
        case .take(let s): return "take snap\(s)"
        case .write(let d, let o, let c, let salt): return "write dev\(d) @\(o) +\(c) salt \(salt)"
        case .imageRead(let d, let o, let c): return "image read dev\(d) @\(o) +\(c)"
        case .imageWrite(let d, let o, let c, let salt): return "image write dev\(d) @\(o) +\(c) salt \(salt)"
        case .markDirty(let d, let range): return "mark dirty dev\(d) \(range)"
        case .destroy(let s): return "destroy snap\(s)"
        case .takeCycles(let d, let count): return "\(count) take cycles of dev\(d)"
        }
    }
}

/// A seeded generator of random operation sequences over a ``ModelState``.
///
/// Storage: each live snapshot owns one of `storageSlots` regions of the storage
/// device; every append takes the next unused part of it and always includes one range
/// big enough for every chunk of every device, so the main run never overflows.
struct ModelGenerator {
    static let storageSlots = 6
    static let appendsPerSlot = 6

    var random: ConformanceRandom
    /// Sectors needed to store every chunk of every device (full chunks).
    let fullNeedSectors: UInt64
    /// Sectors per append part (a small leading range, then the big one).
    var partSectors: UInt64 { fullNeedSectors + 256 }
    var slotSectors: UInt64 { partSectors * UInt64(Self.appendsPerSlot) }
    /// Slot and the number of appends made, per model snapshot index.
    private(set) var slotOf: [Int: (slot: Int, used: Int)] = [:]

    /// Tight-storage mode: appends hold only a few chunks, so snapshots overflow.
    let tight: Bool

    init(seed: UInt64, devices: [ModelDevice], tight: Bool = false) {
        self.tight = tight
        random = ConformanceRandom(seed: seed)
        fullNeedSectors = devices.reduce(0) { $0 + UInt64($1.chunkCount) * 128 }
    }

    mutating func below(_ bound: Int) -> Int { Int(random.next() % UInt64(max(bound, 1))) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// A byte span of a device or image of `bytes` bytes: small, chunk-straddling,
    /// sector-aligned, tail (partial last chunk), large or whole-chunk.
    mutating func span(bytes: Int) -> (offset: Int, count: Int) {
        let chunks = (bytes + 65_535) / 65_536
        var offset: Int
        var count: Int
        switch below(6) {
        case 0:
            offset = below(bytes)
            count = 1 + below(4096)
        case 1:
            let border = (1 + below(max(chunks - 1, 1))) * 65_536
            offset = max(0, border - 1 - below(4096))
            count = (border - offset) + 1 + below(8192)
        case 2:
            offset = below(bytes / 512) * 512
            count = 512 * (1 + below(300))
        case 3:
            offset = bytes - 1 - below(min(bytes, 70_000))
            count = bytes - offset
        case 4:
            offset = below(bytes)
            count = 1 + below(300_000)
        default:
            offset = below(chunks) * 65_536
            count = 65_536
        }
        offset = min(offset, bytes - 1)
        count = max(1, min(count, bytes - offset))
        return (offset, count)
    }

    /// The ranges of the next append to model snapshot `s`.
    mutating func appendRanges(for s: Int, live: [Int]) -> [SectorRange] {
        if slotOf[s] == nil {
            let taken = Set(live.compactMap { $0 == s ? nil : slotOf[$0]?.slot })
            guard let free = (0..<Self.storageSlots).first(where: { !taken.contains($0) }) else { return [] }
            slotOf[s] = (free, 0)
        }
        guard let (slot, used) = slotOf[s], used < Self.appendsPerSlot, !chance(10) else { return [] }
        slotOf[s] = (slot, used + 1)
        let base = UInt64(slot) * slotSectors + UInt64(used) * partSectors
        var ranges: [SectorRange] = []
        if chance(40) { ranges.append(SectorRange(offsetSectors: base, countSectors: UInt64(below(200)))) }
        let bigSectors = tight ? UInt64(1 + below(6)) * 128 : fullNeedSectors
        ranges.append(SectorRange(offsetSectors: base + 256, countSectors: bigSectors))
        return ranges
    }

    /// The next operation for this model state.
    mutating func next(_ model: ModelState, step: Int) -> ModelOp {
        let deviceCount = model.devices.count
        let live = model.liveSnapshots
        let anySnapshot = model.snapshots.isEmpty ? nil : below(model.snapshots.count)
        // Prefer live snapshots (destroyed ones only 1 time in 10, for ESRCH/ENODEV).
        let someSnapshot: Int? = live.isEmpty || chance(10) ? anySnapshot : live[below(live.count)]
        let roll = below(100)
        let d = below(deviceCount)
        switch roll {
        case 0..<5:
            return .attach(device: d)
        case 62..<63:
            return .detach(device: d)
        case 5..<11:
            if live.count < 3 { return .create }
        case 11..<20:
            // Untracked devices get attached first most of the time.
            if model.devices[d].cbt == nil && chance(70) { return .attach(device: d) }
            if let s = someSnapshot { return .add(device: d, snapshot: s) }
        case 20..<26:
            if let s = someSnapshot { return .append(snapshot: s, ranges: model.snapshots[s].destroyed ? [] : appendRanges(for: s, live: live)) }
        case 26..<33:
            // Mostly snapshots that can be taken (members and storage), sometimes any.
            let ready = live.filter { !model.snapshots[$0].taken && !model.snapshots[$0].members.isEmpty
                && model.snapshots[$0].capacitySectors > 0 }
            if !ready.isEmpty && chance(80) { return .take(snapshot: ready[below(ready.count)]) }
            if let s = someSnapshot { return .take(snapshot: s) }
        case 33..<38:
            // Taken snapshots live on for a while; untaken ones are rarely dropped.
            if let s = someSnapshot {
                let snapshot = model.snapshots[s]
                if snapshot.destroyed || (snapshot.taken && chance(60)) || chance(15) { return .destroy(snapshot: s) }
            }
        case 38..<46:
            let sectors = model.devices[d].sectors
            if chance(10) {
                let start = sectors - UInt64(below(300))
                return .markDirty(device: d, range: SectorRange(offsetSectors: start, countSectors: 1 + UInt64(below(400))))
            }
            let start = UInt64(below(Int(sectors)))
            let count = 1 + UInt64(below(Int(min(sectors - start, 600))))
            return .markDirty(device: d, range: SectorRange(offsetSectors: start, countSectors: count))
        case 46..<58:
            let withImage = model.devices.indices.filter { model.devices[$0].image != nil }
            if !withImage.isEmpty {
                let target = withImage[below(withImage.count)]
                let (offset, count) = span(bytes: model.devices[target].bytes)
                return roll < 50 ? .imageRead(device: target, offset: offset, count: count)
                                 : .imageWrite(device: target, offset: offset, count: count, salt: step)
            }
        case 58..<62:
            let idle = model.devices.indices.filter { model.devices[$0].cbt != nil && model.devices[$0].snapshot == nil
                && model.devices[$0].image == nil }
            if !idle.isEmpty { return .takeCycles(device: idle[below(idle.count)], count: 40 + below(80)) }
        default:
            break
        }
        let (offset, count) = span(bytes: model.devices[d].bytes)
        return .write(device: d, offset: offset, count: count, salt: step)
    }
}
