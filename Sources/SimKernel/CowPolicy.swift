#if canImport(Glibc)
import Glibc
#endif

/// Where the one COW engine (DiffArea, DiffStorage, CBTMap, SnapshotImage) must behave
/// differently for the module a ``SimDialect`` simulates. Each field names the
/// behaviour and the module whose choice it is; the engine reads the policy, it is never
/// forked per dialect.
///
/// v5 and VAL-7.0 share one policy; VAL-6.3.1 (`veeam-field-modules.md` §1.4.8, §1.6,
/// §1.7) differs in every field.
struct CowPolicy: Sendable, Equatable {
    /// Each COW-copied chunk is stored at once, by the writer, before its write lands
    /// (VAL-6.3.1 §1.7.2: `chunk_notify_load` → `chunk_schedule_storing`); otherwise
    /// stores wait for a queue of more than `chunk_maximum_in_queue` (v5, VAL-7.0:
    /// Quirk.storeBatching). Observable: storage counters, low_free_space and corrupted
    /// events follow each write.
    var storesEachChunkAtOnce: Bool
    /// A region whose start sector is not a multiple of this fails its store with
    /// `EINVAL` (VAL-6.3.1 `diff_io.c:diff_io_do`, 8 sectors = one page, §1.4.8); nil:
    /// the store's byte offset must be a multiple of the storage's logical block size,
    /// else `EIO` (v5, VAL-7.0: Quirk.misalignedRegionEIO).
    var regionAlignmentSectors: UInt64?
    /// Region allocation refuses a storage device whose logical block size exceeds the
    /// original's (`ENOTBLK`, v5 Quirk.enotblkLazy); VAL-6.3.1 has no such check (§1.7.1).
    var checksStorageLogicalBlockSize: Bool
    /// The errno of every image request once the diff area is corrupted: `EIO` (v5,
    /// VAL-7.0) or `ENOSPC` (VAL-6.3.1 `snapimage.c`: `BLK_STS_NOSPC`, §1.7.3).
    var corruptedImageErrno: Int32
    /// An image write whose "set both" CBT mark fails is refused with `EIO` (VAL-6.3.1
    /// `snapimage_queue_rq`, §1.6.5); otherwise the mark's result is ignored (v5,
    /// VAL-7.0: Quirk.imageWritesMarkCBT).
    var imageWriteFailsOnCBTError: Bool
    /// Image writes can meet v5's bio-advance bug (Quirk.multichunkImageWrite); VAL-6.3.1
    /// serves image requests from whole-chunk buffers through blk-mq and has no such path.
    var imageWriteOverrunPossible: Bool
    /// The CBT switch at take copies the write map into the read map before the numbers
    /// change, so the 255th take refreshes the read map too (VAL-6.3.1
    /// `cbt_map.c:cbt_map_switch`, §1.6.3); otherwise the copy is skipped at the
    /// wraparound and the read map stays stale (v5, VAL-7.0: Quirk.cbtWraparound).
    var cbtSwitchCopiesReadMapFirst: Bool
    /// Chunks an image write loaded stay in memory, unstored, up to this many; beyond it
    /// the oldest is queued for storing, and a COW touching one queues it (VAL-6.3.1's
    /// per-device write cache of `chunk_maximum_in_cache` chunks, 32 by default,
    /// `diff_area.c:diff_area_cache_release_work`, §1.7.3). nil: an image write queues a
    /// chunk it loads as a COW does (v5, VAL-7.0).
    var imageWriteCacheChunks: Int?
    /// Image logical and physical block size: nil copies the original's (v5, VAL-7.0);
    /// VAL-6.3.1 sets none, so the block layer's default 512 applies (§1.7.3).
    var imageBlockSize: UInt32?

    /// The policy of `dialect`'s module.
    static func of(_ dialect: SimDialect) -> CowPolicy {
        switch dialect {
        case .v5, .val7:
            return CowPolicy(storesEachChunkAtOnce: false, regionAlignmentSectors: nil,
                             checksStorageLogicalBlockSize: true, corruptedImageErrno: EIO,
                             imageWriteFailsOnCBTError: false, imageWriteOverrunPossible: true,
                             cbtSwitchCopiesReadMapFirst: false, imageWriteCacheChunks: nil, imageBlockSize: nil)
        case .val6:
            return CowPolicy(storesEachChunkAtOnce: true, regionAlignmentSectors: 8,
                             checksStorageLogicalBlockSize: false, corruptedImageErrno: ENOSPC,
                             imageWriteFailsOnCBTError: true, imageWriteOverrunPossible: false,
                             cbtSwitchCopiesReadMapFirst: true, imageWriteCacheChunks: 32, imageBlockSize: 512)
        }
    }
}
