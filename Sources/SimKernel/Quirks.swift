/// One deliberate v5 behaviour that SimKernel reproduces, or the place where it
/// deliberately diverges from v5 (the kernel would crash, leak or deadlock there).
public struct SimQuirk: Sendable, Equatable, Identifiable {
    /// Whether the simulator does what v5 does.
    public enum Handling: String, Sendable {
        /// Reproduced exactly as v5 behaves.
        case reproduced
        /// The simulator does something else, described in ``SimQuirk/summary``.
        case diverged
    }

    /// Short stable identifier (used in code comments as `Quirk.<id>`).
    public let id: String
    /// The section of `shared/spec/blksnap-v5.md` that describes the behaviour.
    public let specSection: String
    /// Reproduced or diverged.
    public let handling: Handling
    /// What v5 does and what the simulator does.
    public let summary: String
}

extension SimKernel {
    /// The one complete list: every deliberate v5 quirk the simulator reproduces or
    /// diverges from, control plane first (``quirks``), then the COW engine
    /// (``cowEngineQuirks``). Ids are unique across both.
    public static var allQuirks: [SimQuirk] { quirks + cowEngineQuirks }

    /// The quirks of the control plane (control device, filter, tracker, CBT, snapshot,
    /// image, namespace). The COW engine keeps its part in ``cowEngineQuirks``.
    public static let quirks: [SimQuirk] = [
        SimQuirk(id: "controlDispatchByNumber", specSection: "§1.2", handling: .reproduced,
                 summary: "The control device dispatches on _IOC_NR only: type, direction and size bits are ignored."),
        SimQuirk(id: "controlNumberSeven", specSection: "§1.2", handling: .diverged,
                 summary: "nr 7 reads one slot past the 7-entry table in v5 (undefined, likely oops); the simulator returns ENOTTY as for nr >= 8."),
        SimQuirk(id: "invertedDirectionBits", specSection: "§1.2", handling: .reproduced,
                 summary: "Request numbers keep v5's inverted _IOW/_IOR bits; being ignored by dispatch, they only matter to callers."),
        SimQuirk(id: "copyFaultCodes", specSection: "§1.2", handling: .reproduced,
                 summary: "Copy faults give ENODATA (version, create, destroy, take, collect) or EINVAL (append struct, append ranges, wait copy-in/out), not EFAULT."),
        SimQuirk(id: "createFaultKeepsSnapshot", specSection: "§1.2", handling: .reproduced,
                 summary: "CREATE whose id copy-out faults returns ENODATA but the snapshot stays listed."),
        SimQuirk(id: "destroyUnknownIsENODEV", specSection: "§1.2", handling: .reproduced,
                 summary: "DESTROY of an unknown id returns ENODEV, while take/append/wait/snapshotadd return ESRCH."),
        SimQuirk(id: "appendPartialRanges", specSection: "§1.2", handling: .reproduced,
                 summary: "APPEND_STORAGE keeps the ranges copied before a fault and returns EINVAL; nothing is validated (offsets, sizes, overlaps, zero lengths)."),
        SimQuirk(id: "collectPartialFill", specSection: "§1.2, §7", handling: .reproduced,
                 summary: "COLLECT with a too-small array fills it up to count, leaves count = number written and returns ENODATA; it never reports the required size."),
        SimQuirk(id: "collectFaultReturnsZero", specSection: "§1.2", handling: .reproduced,
                 summary: "A fault while writing an id stops COLLECT with result 0 and count = ids written."),
        SimQuirk(id: "waitTimeoutInJiffies", specSection: "§6.3", handling: .reproduced,
                 summary: "WAIT_EVENT's timeout_ms counts jiffies: the wait lasts timeout_ms*1000/HZ ms (Params.hz); a timeout returns ENOENT."),
        SimQuirk(id: "waitTimeoutIntOverflow", specSection: "§6.3, §12.1 item 10", handling: .reproduced,
                 summary: "WAIT_EVENT with timeout_ms >= 2^31 ticks and an event queued fails with errno 2^32 - timeout_ms (EPERM for 0xffffffff; 512 = ERESTARTSYS gives EINTR) and leaves the event queued; with no event it still ends ENOENT after the full time."),
        SimQuirk(id: "waitTimeoutOverflowLaterEvent", specSection: "§12.1 item 10", handling: .diverged,
                 summary: "v5 also subtracts the ticks slept when the event arrives during such a wait (errno 678 seen ~3 s in at HZ=250, an oops from ~16 s on); the simulator answers as if the event had been queued at the call (EPERM for 0xffffffff), so a tool sending such a timeout fails deterministically."),
        SimQuirk(id: "waitTimeoutOverflowOops", specSection: "§12.1 item 10", handling: .diverged,
                 summary: "Where the truncated remaining time is below -4095 (timeout_ms <= 2^32 - 4096, e.g. exactly 2^31) v5 dereferences it as an event pointer and oopses, killing the caller; the simulator fails with EFAULT and leaves the event queued."),
        SimQuirk(id: "waitOutputOnlyOnSuccess", specSection: "§1.2, §6.3", handling: .reproduced,
                 summary: "WAIT_EVENT writes the full 4096-byte struct (id and timeout echoed) only on success; an event whose copy-out faults is lost."),
        SimQuirk(id: "destroyDoesNotWakeWaiters", specSection: "§6.4", handling: .reproduced,
                 summary: "DESTROY only unlinks: a WAIT_EVENT sleeper keeps the snapshot alive (images, busy devices) until it returns."),
        SimQuirk(id: "ctlOptlenNotWrittenBack", specSection: "§1.3, §10.9", handling: .reproduced,
                 summary: "BLKFILTER_CTL never copies optlen back to user space."),
        SimQuirk(id: "ctlCommandFive", specSection: "§1.4", handling: .diverged,
                 summary: "cmd 5 indexes past the 5-entry sub-command table in v5 (undefined); the simulator returns ENOTTY as for cmd > 5."),
        SimQuirk(id: "ctlQueueEnterNotHeld", specSection: "§1.3", handling: .diverged,
                 summary: "v5 holds blk_queue_enter across the sub-command, which can deadlock snapshotadd against a concurrent take of the same device; the simulator waits for an unfrozen queue, then runs the sub-command without holding it."),
        SimQuirk(id: "attachZeroSectors", specSection: "§1.3, §12.6", handling: .reproduced,
                 summary: "ATTACH of a 0-sector device fails ENOMEM (v5 also prints a WARNING)."),
        SimQuirk(id: "detachNeverRefused", specSection: "§1.3, §2.1", handling: .reproduced,
                 summary: "DETACH is never refused; a member of a taken snapshot silently loses CBT and COW while keeping its image."),
        SimQuirk(id: "filterOnImages", specSection: "§1.3, §12.1 item 11", handling: .reproduced,
                 summary: "BLKFILTER_ATTACH on a snapshot image succeeds: the image gets a tracker whose CBT marks the image's writes; detach, cbtinfo, cbtmap, cbtdirty and snapshotinfo work as on a device; the tracker goes with the image at destroy."),
        SimQuirk(id: "noSnapshotOfImages", specSection: "§1.4, §12.1 item 11", handling: .diverged,
                 summary: "snapshotadd of a tracked image would make v5 snapshot the image itself (nested COW, unverified); the simulator refuses it with EOPNOTSUPP."),
        SimQuirk(id: "storageOnImage", specSection: "§1.2", handling: .diverged,
                 summary: "v5 would accept an image as difference storage; the simulator refuses it with EOPNOTSUPP."),
        SimQuirk(id: "cbtinfoPadding", specSection: "§1.4, §12.7", handling: .diverged,
                 summary: "cbtinfo's 7 padding bytes may leak kernel stack in v5; the simulator writes zeros."),
        SimQuirk(id: "cbtinfoBlockCountTruncated", specSection: "§1.4", handling: .reproduced,
                 summary: "cbtinfo.block_count is the block count truncated to u32; changes_number is the previous snap number."),
        SimQuirk(id: "cbtmapReturnsZero", specSection: "§1.4, §10.1", handling: .reproduced,
                 summary: "cbtmap returns 0, not a byte count; length 0 is accepted; it checks the corrupted flag before optlen."),
        SimQuirk(id: "cbtmapWrappedOffset", specSection: "§1.4", handling: .diverged,
                 summary: "offset > block_count wraps the range check in v5 and reads past the map; the simulator returns ENODATA."),
        SimQuirk(id: "cbtdirtyFirstRangeOnly", specSection: "§1.4", handling: .reproduced,
                 summary: "cbtdirty re-reads dirty_sectors[0] count times (the pointer is never advanced)."),
        SimQuirk(id: "markZeroLength", specSection: "§3.4", handling: .reproduced,
                 summary: "A zero-length mark computes last = (offset-1)>>k: offset 0 marks the whole write map then fails EINVAL; an aligned offset marks nothing; an unaligned one marks one block."),
        SimQuirk(id: "setBothDoesNotCorrupt", specSection: "§3.4", handling: .reproduced,
                 summary: "An out-of-range 'set both' mark returns EINVAL after marking earlier blocks of the write map but never sets the corrupted flag."),
        SimQuirk(id: "cbtWraparound", specSection: "§3.3", handling: .reproduced,
                 summary: "At the 255th take: changes_number 255, new generation, write map zeroed, read map left stale; the 256th reports 1."),
        SimQuirk(id: "cbtCorruptionDisablesCOW", specSection: "§2.1, §3.5", handling: .reproduced,
                 summary: "A write past the CBT's end corrupts the map; from then on writes pass without CBT or COW, silently; cbtmap EFAULT, cbtdirty EINVAL."),
        SimQuirk(id: "resizeDetectedAtTake", specSection: "§3.5", handling: .reproduced,
                 summary: "A resize is only noticed at take: the map is reset (changes_number 1, all-zero read map, new generation)."),
        SimQuirk(id: "snapshotaddAfterTake", specSection: "§2.2", handling: .reproduced,
                 summary: "snapshotadd after take is accepted but gives no diff area, image or COW; the device stays busy until destroy."),
        SimQuirk(id: "snapshotinfoImageEcho", specSection: "§1.4, §10.3", handling: .reproduced,
                 summary: "snapshotinfo leaves the caller's image bytes unchanged when there is no image."),
        SimQuirk(id: "errorCodeClearedAtDestroy", specSection: "§1.4, §10.4", handling: .reproduced,
                 summary: "snapshotinfo.error_code reads 0 again after destroy (the diff area is gone)."),
        SimQuirk(id: "brokenSnapshot", specSection: "§2.3 step 10", handling: .reproduced,
                 summary: "A take failing after the CBT switch leaves the snapshot BROKEN: is_taken stays set (TAKE → EALREADY), the CBT number was consumed."),
        SimQuirk(id: "imageNameCollision", specSection: "§2.1, §2.3 step 9", handling: .reproduced,
                 summary: "A device detached and re-attached into a second snapshot has the same image name as in the first: the second take fails EEXIST at add_disk (derived) and that snapshot is BROKEN."),
        SimQuirk(id: "takeChunkShiftLeak", specSection: "§2.3 step 2", handling: .diverged,
                 summary: "v5 leaks the original's device handle when the chunk would exceed chunk_maximum_shift; the simulator has no handle to leak."),
        SimQuirk(id: "takeResetFailureLeavesQueueFrozen", specSection: "§2.3 step 4", handling: .diverged,
                 summary: "A CBT reset allocation failure leaves the device's queue frozen in v5 and earlier members with snapshot_is_taken set but no diff area (a later write would crash); the simulator unfreezes the queue and lets such writes pass."),
        SimQuirk(id: "imageWritesMarkCBT", specSection: "§3.4, §4.4", handling: .reproduced,
                 summary: "Image writes mark the original's CBT 'set both' (result ignored) and never reach the original."),
        SimQuirk(id: "imageIOAfterDestroy", specSection: "§2.4", handling: .reproduced,
                 summary: "An image is deleted at the final release regardless of openers; I/O on a still-open image then fails (EIO), size ioctls report 0."),
        SimQuirk(id: "imageDevtNeverReused", specSection: "§1.1", handling: .diverged,
                 summary: "Image minors under major 259 increase and are never reused (the kernel's allocator reuses the lowest free minor)."),
        SimQuirk(id: "removedStorageStaysWritable", specSection: "§2.4, §5.1", handling: .diverged,
                 summary: "A removed device that backs difference storage keeps accepting the storage's writes in the simulator (v5 would fail them with an I/O error and corrupt the diff areas)."),
        SimQuirk(id: "wholeDiskFilterVsPartitions", specSection: "§2.1", handling: .diverged,
                 summary: "Partitions are not simulated; every simulated device is a whole disk."),
        // VAL-7.0 (dialect val7; sections of veeam-field-modules.md).
        SimQuirk(id: "val7FullNumberDispatch", specSection: "§2.3, §2.4 (VAL-7.0)", handling: .reproduced,
                 summary: "/dev/veeamblksnap and /dev/bdevfilter dispatch on the full request number: wrong direction or size bits give ENOTTY."),
        SimQuirk(id: "val7RequestedTwice", specSection: "§2.7.3 (VAL-7.0; the real module differs from the text)", handling: .reproduced,
                 summary: "Range mode adds each low_free_space portion to `requested` twice (diff_storage_calculate_requested, then diff_storage_event_low); the event carries the portion once. Seen on the real module; the spec says once."),
        SimQuirk(id: "val7DroppedRangeTails", specSection: "§2.7.3 (VAL-7.0)", handling: .reproduced,
                 summary: "A leading range too small for a chunk is dropped without counting as filled (v5 counts it); allocation never passes `requested`, whatever was appended."),
        SimQuirk(id: "val7StorageDeviceIgnored", specSection: "§2.3 (VAL-7.0)", handling: .reproduced,
                 summary: "snapshotadd of the block device that is the storage answers 0 and adds nothing; in range mode the storage's device becomes an ordinary member."),
        SimQuirk(id: "val7TakeFailureRemovesMembers", specSection: "§2.8.3 (VAL-7.0)", handling: .reproduced,
                 summary: "A take failing while creating diff areas, or BROKEN after it, removes every member from the snapshot (v5 keeps them)."),
        SimQuirk(id: "val7NowaitAlwaysFails", specSection: "§2.8.1 (VAL-7.0)", handling: .reproduced,
                 summary: "While a snapshot is taken every REQ_NOWAIT write to a member fails EAGAIN (v5: only when the chunk needs work)."),
        SimQuirk(id: "val7FileStorageNotSimulated", specSection: "§2.7.2 (VAL-7.0)", handling: .diverged,
                 summary: "File and directory storage need a filesystem, which the simulator's namespace lacks: a path that is not a simulated device gives ENOENT at CREATE."),
        SimQuirk(id: "val7SetlogWritesNoFile", specSection: "§2.4.7 (VAL-7.0)", handling: .diverged,
                 summary: "SETLOG keeps the path and level (EALREADY for the same ones) but writes no log file."),
        // VAL-6.3.1 (dialect val6; sections of veeam-field-modules.md).
        SimQuirk(id: "val6ControlNumberTwelve", specSection: "§1.3 (VAL-6.3.1)", handling: .diverged,
                 summary: "nr 12 passes the range check (nr > 12) and reads one slot past the 12-entry table in the module (undefined, likely an oops); the simulator returns ENOTTY as for nr 13-31."),
        SimQuirk(id: "val6CreateOrphansOlder", specSection: "§1.8.4 (VAL-6.3.1)", handling: .reproduced,
                 summary: "CREATE inserts with list_add_tail's arguments swapped: the list then holds only the new snapshot. Older ones are orphaned: ESRCH for TAKE/APPEND/WAIT/COLLECT_IMAGES, ENODEV for DESTROY, absent from COLLECT, never torn down (images and COW stay, their devices EALREADY at any CREATE, forever)."),
        SimQuirk(id: "val6TrackersSurviveDestroy", specSection: "§1.8.3 (VAL-6.3.1)", handling: .reproduced,
                 summary: "CREATE attaches (or takes over) a tracker per device; DESTROY and a failed CREATE only clear the owner: the trackers keep tracking and stay listed by TRACKER_COLLECT until TRACKER_REMOVE."),
        SimQuirk(id: "val6TakeFailureDestroys", specSection: "§1.4.9 (VAL-6.3.1)", handling: .reproduced,
                 summary: "A TAKE failing in diff_area_new (no storage: EFAULT), the CBT switch or the corruption check destroys the snapshot (its id is gone); an image failure returns the error and leaves it TAKEN."),
        SimQuirk(id: "val6TakeResetFailureHangs", specSection: "§1.4.9 (VAL-6.3.1)", handling: .diverged,
                 summary: "A CBT reset allocation failure at take breaks out with the global tracker lock held and hangs the rollback in the module; the simulator fails the take (ENOMEM) and destroys the snapshot."),
        SimQuirk(id: "val6ReadCBTMapByteCount", specSection: "§1.4.4 (VAL-6.3.1)", handling: .reproduced,
                 summary: "READ_CBT_MAP works only while the device's snapshot is taken (EPERM), clamps the length at the map's end, returns the bytes copied, and a fault returns the bytes copied before it (possibly 0)."),
        SimQuirk(id: "val6MarkImageEmptySlot", specSection: "§1.4.5 (VAL-6.3.1)", handling: .diverged,
                 summary: "MARK_DIRTY_BLOCKS of an image dev_t dereferences every image slot of the listed snapshot; an empty one (not taken, or an image failed) oopses the module. The simulator answers EFAULT."),
        SimQuirk(id: "val6ImageAsMember", specSection: "§1.4.6 (VAL-6.3.1)", handling: .diverged,
                 summary: "CREATE naming an image's dev_t would track the image and snapshot it (nested COW, unverified); the simulator refuses it with EOPNOTSUPP."),
        SimQuirk(id: "val6MisalignedRangeCorrupts", specSection: "§1.4.8 (VAL-6.3.1)", handling: .reproduced,
                 summary: "APPEND_STORAGE accepts any range; a chunk stored at a start sector that is not a multiple of 8 fails EINVAL in diff_io_do and corrupts the device (event err_code 22); image I/O then fails ENOSPC."),
        SimQuirk(id: "val6StoresEachChunk", specSection: "§1.7.2 (VAL-6.3.1)", handling: .reproduced,
                 summary: "Each COW-copied chunk is stored at once, before the write lands (no batching): allocation, low_free_space and corrupted events follow each write."),
        SimQuirk(id: "val6ImageErrors", specSection: "§1.7.3 (VAL-6.3.1)", handling: .reproduced,
                 summary: "Images are veeamblksnapimg<minor> (own block major, lowest free minor from 0, 512-byte blocks); once corrupted every image read and write fails ENOSPC; an image write whose CBT mark fails gets EIO."),
        SimQuirk(id: "val6ReadMapRefreshedAtWrap", specSection: "§1.6.3 (VAL-6.3.1)", handling: .reproduced,
                 summary: "The CBT switch copies the write map to the read map first, so at the 255th take the read map is fresh (v5 keeps it stale); generation and numbers wrap as in v5."),
        SimQuirk(id: "val6ConcurrentWaiters", specSection: "§1.5 (VAL-6.3.1)", handling: .diverged,
                 summary: "Two WAIT_EVENT callers woken by one event make the module list_del the list head (corruption, oops); the simulator re-checks the queue as v5 does, so the second waiter keeps waiting. The library refuses a second waiter."),
        SimQuirk(id: "val6SetlogWritesNoFile", specSection: "§1.4.14 (VAL-6.3.1)", handling: .diverged,
                 summary: "SETLOG keeps the path and level (EALREADY for the same ones; a level >= 2^31 for the same path changes nothing) but writes no log file."),
    ]
}
