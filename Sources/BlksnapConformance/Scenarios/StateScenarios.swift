import BlksnapKit

extension Harness {
    /// The seed of a write in a named area: deterministic, different per write.
    private func seed<N: BinaryInteger>(_ area: UInt64, _ n: N) -> UInt64 { area << 32 | UInt64(n) }

    /// A storage range of `chunks` chunks starting `startChunk` chunks into STORE.
    func storage(chunks: Int, at startChunk: Int = 0) -> [SectorRange] {
        let sectors = UInt64(chunkBytes / 512)
        return [SectorRange(offsetSectors: UInt64(startChunk) * sectors, countSectors: UInt64(chunks) * sectors)]
    }

    /// Area `cbt`: info, map and mark-dirty across two snapshots and a re-attach (§3).
    func cbtScenario() {
        transcript.area = "cbt"
        let device = orig0
        attach(device)
        cbtInfo(device)
        cbtMap(device)
        let block = 65536
        for (n, blockIndex) in [3, 4, 100, 511].enumerated() {
            write(device, offset: blockIndex * block, count: 4096, seed: seed(1, n))
        }
        cbtMap(device)  // the read map is still the copy of the last take (none)
        guard let first = create(members: [device]) else { return }
        append(first.id, storage(chunks: 256))
        take(first.id)
        cbtInfo(device)
        cbtMap(device)
        for (n, blockIndex) in [4, 200, 201].enumerated() {
            write(device, offset: blockIndex * block + 8192, count: 8192, seed: seed(1, 10 + n))
        }
        step("markdirty ORIG0 [10240+128, 30000+1]") { () throws(BlksnapError) -> String? in
            try device.control.markDirty([SectorRange(offsetSectors: 10240, countSectors: 128),
                                          SectorRange(offsetSectors: 30000, countSectors: 1)])
            return nil
        }
        cbtMap(device)  // mark-dirty sets the read map to the previous number
        settle()
        checkAll(device, image: first)
        destroy(first.id)
        cbtInfo(device)
        cbtMap(device)
        guard let second = create(members: [device]) else { return }
        append(second.id, storage(chunks: 256))
        take(second.id)
        cbtInfo(device)
        cbtMap(device)
        write(device, offset: 300 * block, count: 65536, seed: seed(1, 20))
        destroy(second.id)
        guard let third = create(members: [device]) else { return }
        append(third.id, storage(chunks: 256))
        take(third.id)
        cbtInfo(device)
        cbtMap(device)
        destroy(third.id)
        detach(device)
        attach(device)
        cbtInfo(device)
        cbtMap(device)
        detach(device)
    }

    /// Area `events`: the creation event, the first threshold low_free_space after the
    /// store batches, the requests after appends (and the re-arm rule), the overflow's
    /// corrupted event, and what the image and the original show afterwards (§5, §6).
    func eventsScenario() {
        transcript.area = "events"
        let device = orig0
        attach(device)
        guard let snapshot = create(members: [device]) else { return }
        let request = 8192 / (chunkBytes / 512)  // chunks per diff_storage_minimum
        append(snapshot.id, storage(chunks: request))
        take(snapshot.id)
        settle()
        var chunk = 0
        var appended = request
        // One 4 KiB write per chunk, events collected after each.
        func writeChunks(_ count: Int) {
            for _ in 0..<count {
                write(device, offset: chunk * chunkBytes + 4096, count: 4096, seed: seed(2, chunk))
                settle()
                chunk += 1
            }
        }
        writeChunks(40)
        // Capacity 64 chunks; requested 2 × 64 after the event: this append re-arms.
        append(snapshot.id, storage(chunks: request, at: appended))
        appended += request
        writeChunks(70)
        // No re-arm: capacity still below the requested total.
        append(snapshot.id, storage(chunks: request / 2, at: appended))
        appended += request / 2
        writeChunks(10)
        // Now capacity reaches the requested total: re-armed by this append.
        append(snapshot.id, storage(chunks: request / 2, at: appended))
        appended += request / 2
        append(snapshot.id, [])
        writeChunks(90)
        info(device)
        check(device, image: snapshot, chunks: 0...3)
        checkAll(device, image: nil)
        writeChunks(3)
        // Overflow is permanent: an append does not revive the storage.
        append(snapshot.id, storage(chunks: request * 4, at: appended))
        writeChunks(20)
        info(device)
        checkAll(device, image: nil)
        destroy(snapshot.id)
        info(device)
        detach(device)
    }

    /// Area `overflow`: two devices sharing a small storage; the second keeps working
    /// from RAM until its first store (§12 fact 4); both originals stay intact, both
    /// images fail with EIO; range tails that cannot hold a chunk are abandoned (§5.2).
    func overflowScenario() {
        transcript.area = "overflow"
        attach(orig0)
        attach(orig1)
        guard let snapshot = create(members: [orig0, orig1]) else { return }
        append(snapshot.id, storage(chunks: 32))
        take(snapshot.id)
        settle()
        for n in 0..<17 {
            write(orig0, offset: n * chunkBytes, count: 8192, seed: seed(3, n))
        }
        settle()
        for n in 0..<16 {
            write(orig1, offset: n * chunkBytes, count: 8192, seed: seed(3, 100 + n))
        }
        settle()
        check(orig1, image: snapshot, chunks: 0...3)
        write(orig1, offset: 16 * chunkBytes, count: 8192, seed: seed(3, 116))
        settle()
        info(orig0)
        info(orig1)
        check(orig0, image: snapshot, chunks: 0...3)
        check(orig1, image: snapshot, chunks: 0...3)
        for n in 17..<34 {
            write(orig0, offset: n * chunkBytes, count: 8192, seed: seed(3, n))
        }
        settle()
        info(orig0)
        check(orig0, image: snapshot, chunks: 0...1)
        checkAll(orig0, image: nil)
        checkAll(orig1, image: nil)
        destroy(snapshot.id)

        // Abandoned tails: ranges of 1.5 chunks hold one chunk each.
        guard let tails = create(members: [orig0]) else { return }
        let sectors = UInt64(chunkBytes / 512)
        let ranges = (0..<24).map { SectorRange(offsetSectors: UInt64($0) * 2 * sectors, countSectors: sectors + sectors / 2) }
        append(tails.id, ranges)
        take(tails.id)
        settle()
        for n in 0..<40 {
            write(orig0, offset: (100 + n) * chunkBytes, count: 4096, seed: seed(3, 200 + n))
            settle()
        }
        info(orig0)
        destroy(tails.id)
        detach(orig0)
        detach(orig1)
    }

    /// Area `imagewrite`: writes through the image in every chunk state, the §12.1
    /// item 9 multi-chunk O_DIRECT write, and the CBT marks they leave (§4.4, §3.4).
    func imageWriteScenario() {
        transcript.area = "imagewrite"
        let device = orig0
        attach(device)
        guard let snapshot = create(members: [device]) else { return }
        append(snapshot.id, storage(chunks: 400))
        take(snapshot.id)
        settle()
        // Within one chunk: NEW, IN_MEMORY (COW'd by an original write).
        writeImage(device, in: snapshot, offset: 5 * chunkBytes + 4096, count: 8192, seed: seed(4, 1))
        settle()
        write(device, offset: 6 * chunkBytes, count: 4096, seed: seed(4, 2))
        settle()
        writeImage(device, in: snapshot, offset: 6 * chunkBytes + 8192, count: 4096, seed: seed(4, 3))
        settle()
        check(device, image: snapshot, chunks: 4...7)
        check(device, image: nil, chunks: 4...7)
        // §12.1 item 9: one O_DIRECT write of 3 chunks starting in a NEW chunk (on the
        // kernel from pages in descending physical order: see `imageWriteBuffer`).
        for start in [10, 40, 80] {
            writeImage(device, in: snapshot, offset: start * chunkBytes, count: 3 * chunkBytes, seed: seed(4, UInt64(start)))
            settle()
            check(device, image: snapshot, chunks: start...(start + 2))
        }
        // The same writes cut by BlksnapKit's ImageWriteGuard (4 KiB pieces): whole on v5.
        for start in [120, 160] {
            writeImage(device, in: snapshot, offset: start * chunkBytes, count: 3 * chunkBytes, seed: seed(4, UInt64(start)), guarded: true)
            settle()
            check(device, image: snapshot, chunks: start...(start + 2))
        }
        // Chunks already STORED: COW 20 chunks (the worker stores them), then write 3.
        for n in 200..<220 {
            write(device, offset: n * chunkBytes, count: 4096, seed: seed(4, UInt64(n)))
            settle()
        }
        writeImage(device, in: snapshot, offset: 202 * chunkBytes, count: 3 * chunkBytes, seed: seed(4, 1000))
        settle()
        check(device, image: snapshot, chunks: 202...204)
        // A write crossing one chunk border in the middle of two STORED chunks (of the 20
        // above). Not in NEW chunks: there it is §12.1 item 9, and what the real module
        // leaves in the second chunk depends on where the writer's pages lie in physical
        // memory (contiguous pages make one bio_vec, inside which the advance is right):
        // a 64 KiB crossing write into NEW chunks 300-301 read back intact in one lane
        // run (2026-12-06) and damaged in every other run on record.
        writeImage(device, in: snapshot, offset: 206 * chunkBytes + chunkBytes / 2, count: chunkBytes, seed: seed(4, 1001))
        settle()
        check(device, image: snapshot, chunks: 206...207)
        cbtMap(device)
        check(device, image: nil, chunks: 200...204)
        destroy(snapshot.id)
        detach(device)
    }

    /// Area `multidevice`: one snapshot over both originals, images and CBT of each.
    func multiDeviceScenario() {
        transcript.area = "multidevice"
        attach(orig0)
        attach(orig1)
        write(orig1, offset: 0, count: 65536, seed: seed(5, 0))
        guard let snapshot = create(members: [orig0, orig1]) else { return }
        append(snapshot.id, storage(chunks: 600))
        take(snapshot.id)
        settle()
        imageNode(orig0)
        imageNode(orig1)
        info(orig0)
        info(orig1)
        cbtInfo(orig0)
        cbtInfo(orig1)
        for n in 0..<24 {
            write(n % 2 == 0 ? orig0 : orig1, offset: (n * 7 % 500) * chunkBytes, count: 16384, seed: seed(5, UInt64(n + 1)))
            settle()
        }
        checkAll(orig0, image: snapshot)
        checkAll(orig1, image: snapshot)
        destroy(snapshot.id)
        imageNode(orig0)
        imageNode(orig1)
        cbtMap(orig0)
        cbtMap(orig1)
        detach(orig0)
        detach(orig1)
    }

    /// Area `detach`: detach is never refused (§2.1), the image stops being a
    /// point-in-time copy, a re-attached device cannot rejoin, add after take gives no image.
    func detachScenario() {
        transcript.area = "detach"
        attach(orig0)
        attach(orig1)
        guard let snapshot = create(members: [orig0]) else { return }
        append(snapshot.id, storage(chunks: 300))
        take(snapshot.id)
        settle()
        write(orig0, offset: 2 * chunkBytes, count: 4096, seed: seed(6, 1))
        settle()
        detach(orig0)
        info(orig0)
        write(orig0, offset: 2 * chunkBytes + 8192, count: 4096, seed: seed(6, 2))
        write(orig0, offset: 9 * chunkBytes, count: 4096, seed: seed(6, 3))
        settle()
        check(orig0, image: snapshot, chunks: 1...3)
        check(orig0, image: snapshot, chunks: 8...9)
        attach(orig0)
        cbtInfo(orig0)
        add(orig0, to: snapshot.id)
        take(snapshot.id)
        imageNode(orig0)
        // Add after take: accepted, no image, no COW.
        add(orig1, to: snapshot.id)
        info(orig1)
        imageNode(orig1)
        write(orig1, offset: 0, count: 4096, seed: seed(6, 4))
        settle()
        // The re-attached device cannot join another snapshot while the first holds its dev_t?
        guard let other = create(members: [orig0, orig1]) else { return }
        append(other.id, storage(chunks: 100, at: 300))
        take(other.id)
        info(orig0)
        destroy(other.id)
        destroy(snapshot.id)
        imageNode(orig0)
        add(orig1, to: snapshot.id)
        guard let again = create(members: [orig0, orig1]) else { return }
        append(again.id, storage(chunks: 100))
        take(again.id)
        settle()
        write(orig0, offset: 3 * chunkBytes, count: 4096, seed: seed(6, 5))
        settle()
        check(orig0, image: again, chunks: 2...3)
        detach(orig1)
        detach(orig1)
        destroy(again.id)
        detach(orig0)
    }
}
