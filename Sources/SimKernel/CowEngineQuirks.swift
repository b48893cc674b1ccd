extension SimKernel {
    /// Every deliberate quirk of the COW engine (DiffArea, Chunk, DiffBuffer,
    /// DiffStorage), in one list, in the same form as ``SimKernel/quirks``.
    public static let cowEngineQuirks: [SimQuirk] = [
        SimQuirk(id: "chunkMaximumShiftIsALimit", specSection: "§4.1, §10.6", handling: .reproduced,
                 summary: "chunk_maximum_shift does not cap the chunk-size loop: a chunk above it (count limit or io_min > 64 MiB) makes take fail EFAULT."),
        SimQuirk(id: "lazyChunkDescriptors", specSection: "§4.1, §9.2", handling: .reproduced,
                 summary: "Chunk descriptors are created on the first COW or image write of a chunk and kept until release; untouched chunks cost nothing (12-byte descriptor, ≤ ~54 index bytes per touched chunk)."),
        SimQuirk(id: "nowaitLeavesNewDescriptor", specSection: "§4.3", handling: .reproduced,
                 summary: "A REQ_NOWAIT write meeting a NEW or busy chunk fails EAGAIN; the NEW descriptor it created stays in the index."),
        SimQuirk(id: "synchronousLoadsAndStores", specSection: "§4.3, §4.5", handling: .diverged,
                 summary: "v5 loads chunks with asynchronous bios and stores them from a work queue; the simulator loads in the writer's thread before the write lands and runs the store worker synchronously in the thread whose append crossed the limit (one worker per device at a time)."),
        SimQuirk(id: "storeBatching", specSection: "§4.5, §12.1", handling: .reproduced,
                 summary: "The store worker runs only when the queue exceeds chunk_maximum_in_queue (17th chunk) and drains it: stores come in batches of 17, ≤ 16 queued chunks never reach the storage and are discarded at destroy."),
        SimQuirk(id: "workerSkipsLockedChunks", specSection: "§4.5", handling: .reproduced,
                 summary: "The worker takes the first queued chunk whose lock is free and stops when only locked chunks remain; those wait for the next trigger."),
        SimQuirk(id: "fullChunkRegions", specSection: "§4.5", handling: .reproduced,
                 summary: "Every stored chunk takes a region of the full chunk size, even the short last chunk (its region tail holds zeros in the simulator)."),
        SimQuirk(id: "bufferPoolSizePlusOne", specSection: "§4.5", handling: .reproduced,
                 summary: "A released buffer is freed only when the pool already holds more than free_diff_buffer_pool_size, so the pool can reach size + 1."),
        SimQuirk(id: "corruptedEventPositive", specSection: "§4.6", handling: .reproduced,
                 summary: "Corruption is recorded once per device: error_code keeps the negative errno (−28), the corrupted event carries the positive one (28); image I/O then fails EIO and COW stops."),
        SimQuirk(id: "corruptedForAnyFailure", specSection: "§4.6, §10.8", handling: .reproduced,
                 summary: "Load read errors (−EIO), region allocation failures (−ENOSPC, −ENOTBLK) and store write errors (−EIO) all corrupt the device with one event; queued chunks stored afterwards become FAILED without a new event."),
        SimQuirk(id: "allocationFailuresImpossible", specSection: "§4.3, §4.4", handling: .diverged,
                 summary: "v5's allocation-failure paths (descriptor → corrupted −EINVAL, no buffer → write passes or image EIO) cannot occur in the simulator."),
        SimQuirk(id: "lockedChunksAfterError", specSection: "§4.3", handling: .diverged,
                 summary: "v5 can leave chunks locked forever when a non-EAGAIN error follows started loads in one bio; the simulator always unlocks."),
        SimQuirk(id: "imageWriteLoadFailure", specSection: "§4.4", handling: .diverged,
                 summary: "v5 never completes an image write whose chunk load fails (leaked completion reference); the simulator marks the chunk FAILED, corrupts the device (−EIO) and returns EIO."),
        SimQuirk(id: "imageReadOriginalRace", specSection: "§4.4", handling: .diverged,
                 summary: "A v5 image read of a chunk without descriptor is redirected to the original and can race a COW of that chunk; the simulator reads it under the diff-area lock, so it always returns the point-in-time data."),
        SimQuirk(id: "killableChunkLock", specSection: "§4.3, §4.4", handling: .diverged,
                 summary: "Fatal signals while waiting for a chunk lock (write passes without COW / image EIO in v5) are not modelled."),
        SimQuirk(id: "multichunkImageWrite", specSection: "§4.4, §12.1 item 9", handling: .reproduced,
                 summary: "One image write (pwrite = one bio; v5 sees such a bio from O_DIRECT, buffered writes arrive a page per bio) that meets a NEW chunk and continues past it, the NEW part spanning more than one 4 KiB segment, lands intact up to that chunk's end only: every later part reads back as the fixed imageWritePoison pattern, whatever its chunk's state; no event, error_code 0 (v5: other memory, sometimes an oops). Parameter fix_multichunk_image_write=1 turns it off."),
        SimQuirk(id: "misalignedRegionEIO", specSection: "§4.7", handling: .reproduced,
                 summary: "Appended ranges are not validated; a store to a region not aligned to the storage's logical block size, or beyond its end, fails −EIO and corrupts the device."),
        SimQuirk(id: "enotblkLazy", specSection: "§4.7, §5.2", handling: .reproduced,
                 summary: "A storage device with a larger logical block size than the original fails at store time with −ENOTBLK; the range is not skipped, so every later store fails the same way."),
        SimQuirk(id: "abandonedRangeTails", specSection: "§5.2", handling: .reproduced,
                 summary: "A free range whose remainder cannot hold a chunk is retired and its remainder counted as filled."),
        SimQuirk(id: "lowSpaceThreshold", specSection: "§5.2, §5.3", handling: .reproduced,
                 summary: "After a store, left = requested − filled (unsigned, wraps); left ≤ (diff_storage_minimum/2 rounded down to 8 sectors) with the flag clear fires one low_free_space event carrying diff_storage_minimum and adds it to requested."),
        SimQuirk(id: "lowSpaceRearmByAppendOnly", specSection: "§5.3, §12.2", handling: .reproduced,
                 summary: "Only an APPEND_STORAGE (count 0 included) that leaves capacity ≥ requested re-arms the low-space flag; the creation event does not set it."),
        SimQuirk(id: "overflowPermanent", specSection: "§5.4, §12.4", handling: .reproduced,
                 summary: "Once no range can hold a chunk the overflow flag stays set; later appends add capacity but every allocation fails ENOSPC; other devices fail at their own next store."),
    ]

    /// What the parts of an image write after the first NEW chunk read back as
    /// (Quirk.multichunkImageWrite): this 16-byte ASCII pattern, repeated and aligned
    /// to image byte offsets. v5 leaves other memory there; a fixed pattern makes the
    /// damage recognisable and never equal to the data, the old data or zeros.
    public static let imageWritePoison: [UInt8] = Array("v5 bvec overrun!".utf8)

    /// Fills `buffer`, which stands for image bytes from `offset` on, with ``imageWritePoison``.
    static func fillWithImageWritePoison(_ buffer: UnsafeMutableRawBufferPointer, atByte offset: UInt64) {
        let pattern = imageWritePoison
        let phase = Int(offset % UInt64(pattern.count))
        for index in 0..<buffer.count { buffer[index] = pattern[(phase + index) % pattern.count] }
    }
}
