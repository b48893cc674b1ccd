import BlksnapKit

extension Harness {
    /// Area `walk`: a seeded random walk over ORIG0, ORIG1 and STORE, valid and invalid
    /// requests mixed; every image read is checked against the model.
    func randomWalk(seed: UInt64, steps: Int) {
        transcript.area = "walk"
        emit("seed=\(seed) steps=\(steps)")
        var random = WalkRandom(seed: seed)
        var destroyed: [SnapshotID] = []
        var cursor = 0  // next free chunk of STORE
        let storeChunks = Int(store.sizeBytes) / chunkBytes
        let originalChunks = Int(orig0.sizeBytes) / chunkBytes
        let originals = [orig0, orig1]

        func anyID() -> SnapshotID {
            let roll = random.below(20)
            if roll == 0 { return Self.unknownID }
            if roll <= 2, !destroyed.isEmpty { return destroyed[random.below(destroyed.count)] }
            if snapshots.isEmpty { return destroyed.isEmpty ? Self.unknownID : destroyed[random.below(destroyed.count)] }
            return snapshots[random.below(snapshots.count)].id
        }
        /// Mostly a snapshot matching `wanted`, sometimes any id (valid or not).
        func preferred(_ percent: Int, _ wanted: (SnapshotModel) -> Bool) -> SnapshotID {
            let matching = snapshots.filter(wanted)
            if !matching.isEmpty, random.chance(percent) { return matching[random.below(matching.count)].id }
            return anyID()
        }
        func anyImage() -> (SnapshotModel, DeviceState)? {
            let candidates = snapshots.flatMap { snapshot in snapshot.images.keys.sorted().map { (snapshot, devices[$0]) } }
            return candidates.isEmpty ? nil : candidates[random.below(candidates.count)]
        }

        for index in 0..<steps {
            prefix = "#\(index) "
            var device = originals[random.below(2)]
            switch random.below(100) {
            case 0..<7:
                // Mostly a device that is not tracked.
                if device.tracker != nil, random.chance(80), let other = originals.first(where: { $0.tracker == nil }) {
                    device = other
                }
                attach(device)
            case 7..<10:
                detach(device)
            case 10..<16:
                if snapshots.count < 3 { create() } else { collect() }
            case 16..<25:
                if device.tracker == nil, random.chance(80), let other = originals.first(where: { $0.tracker != nil }) {
                    device = other
                }
                add(device, to: preferred(80) { !$0.taken })
            case 25..<33:
                let evenTaken = random.chance(30)
                let id = preferred(85) { !$0.taken || evenTaken }
                let chunks = 4 + random.below(40)
                if random.chance(10) || cursor + chunks > storeChunks {
                    append(id, [])
                } else {
                    append(id, storage(chunks: chunks, at: cursor))
                    if snapshotModel(id) != nil { cursor += chunks }
                }
            case 33..<40:
                take(preferred(85) { !$0.taken && !$0.members.isEmpty })
                settle()
            case 40..<62:
                // Aligned writes of 4 KiB to 128 KiB, now and then across chunk borders.
                let count = 4096 * (1 + random.below(32))
                let offset = 4096 * random.below((Int(device.sizeBytes) - count) / 4096 + 1)
                write(device, offset: offset, count: count, seed: seed ^ UInt64(index) << 20)
                settle()
            case 62..<75:
                if let (snapshot, target) = anyImage() {
                    let first = random.below(originalChunks - 3)
                    check(target, image: snapshot, chunks: first...(first + random.below(4)))
                } else {
                    check(device, image: nil, chunks: 0...1)
                }
            case 75..<81:
                if let (snapshot, target) = anyImage() {
                    // Within one chunk (multi-chunk image writes: area imagewrite).
                    let chunk = random.below(originalChunks)
                    let blocks = chunkBytes / 4096
                    let first = random.below(blocks)
                    let count = 1 + random.below(blocks - first)
                    writeImage(target, in: snapshot, offset: chunk * chunkBytes + first * 4096, count: count * 4096,
                               seed: seed ^ UInt64(index) << 20 ^ 1)
                    settle()
                } else {
                    cbtInfo(device)
                }
            case 81..<85:
                cbtInfo(device)
            case 85..<87:
                cbtMap(device)
            case 87..<90:
                let sector = UInt64(random.below(Int(device.sizeBytes / 512) + 64))
                let count = UInt64(1 + random.below(256))
                step("markdirty \(device.role) [\(sector)+\(count)]") { () throws(BlksnapError) -> String? in
                    try device.control.markDirty([SectorRange(offsetSectors: sector, countSectors: count)])
                    return nil
                }
            case 90..<93:
                settle("poll")
            case 93..<97:
                // Mostly a taken snapshot, once there are a few.
                let id = snapshots.count >= 2 ? preferred(80) { $0.taken } : anyID()
                if destroy(id), !destroyed.contains(id) { destroyed.append(id) }
                if snapshots.isEmpty { cursor = 0 }
            case 97..<99:
                info(device)
            default:
                collect()
            }
        }
        prefix = ""
        emit("end snapshots=\(snapshots.count) destroyed=\(destroyed.count) storage-cursor=\(cursor)")
    }
}
