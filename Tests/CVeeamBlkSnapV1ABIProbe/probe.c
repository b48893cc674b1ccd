/*
 * probe.c - the VAL-6.3.1 ("blk_snap" v1) ABI, checked by the C compiler
 * and reported to Swift.
 *
 * Every size, alignment, field offset, field size, request number (with its
 * dir/type/nr/size fields) and enum value below is the x86_64 value given by
 * /work/shared/spec/veeam-field-modules-abi.txt (compiled from the module
 * headers with gcc 12.2). The _Static_asserts make a layout drift a compile
 * error of the test build; the lookup functions let the Swift tests compare
 * the same values with what Swift imports from the header.
 */
#include "CVeeamBlkSnapV1ABIProbe.h"
#include <CVeeamBlkSnapV1UAPI.h>
#include <stddef.h>
#include <string.h>

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

_Static_assert(sizeof(void *) == 8 && sizeof(unsigned long) == 8, "the expected values are those of an LP64 target (x86_64)");

/* ---- sizes and alignments ---- */
/* The module's uuid_t (the .txt's header note: {__u8 b[16]}, 16 bytes, align 1). */
_Static_assert(sizeof(struct blk_snap_uuid) == 16, "sizeof blk_snap_uuid");
_Static_assert(_Alignof(struct blk_snap_uuid) == 1, "alignof blk_snap_uuid");
_Static_assert(sizeof(struct blk_snap_version) == 8, "sizeof blk_snap_version");
_Static_assert(_Alignof(struct blk_snap_version) == 2, "alignof blk_snap_version");
_Static_assert(sizeof(struct blk_snap_mod) == 40, "sizeof blk_snap_mod");
_Static_assert(_Alignof(struct blk_snap_mod) == 8, "alignof blk_snap_mod");
_Static_assert(sizeof(struct blk_snap_dev_t) == 8, "sizeof blk_snap_dev_t");
_Static_assert(_Alignof(struct blk_snap_dev_t) == 4, "alignof blk_snap_dev_t");
_Static_assert(sizeof(struct blk_snap_tracker_remove) == 8, "sizeof blk_snap_tracker_remove");
_Static_assert(_Alignof(struct blk_snap_tracker_remove) == 4, "alignof blk_snap_tracker_remove");
_Static_assert(sizeof(struct blk_snap_cbt_info) == 48, "sizeof blk_snap_cbt_info");
_Static_assert(_Alignof(struct blk_snap_cbt_info) == 8, "alignof blk_snap_cbt_info");
_Static_assert(sizeof(struct blk_snap_tracker_collect) == 16, "sizeof blk_snap_tracker_collect");
_Static_assert(_Alignof(struct blk_snap_tracker_collect) == 8, "alignof blk_snap_tracker_collect");
_Static_assert(sizeof(struct blk_snap_tracker_read_cbt_bitmap) == 24, "sizeof blk_snap_tracker_read_cbt_bitmap");
_Static_assert(_Alignof(struct blk_snap_tracker_read_cbt_bitmap) == 8, "alignof blk_snap_tracker_read_cbt_bitmap");
_Static_assert(sizeof(struct blk_snap_block_range) == 16, "sizeof blk_snap_block_range");
_Static_assert(_Alignof(struct blk_snap_block_range) == 8, "alignof blk_snap_block_range");
_Static_assert(sizeof(struct blk_snap_tracker_mark_dirty_blocks) == 24, "sizeof blk_snap_tracker_mark_dirty_blocks");
_Static_assert(_Alignof(struct blk_snap_tracker_mark_dirty_blocks) == 8, "alignof blk_snap_tracker_mark_dirty_blocks");
_Static_assert(sizeof(struct blk_snap_snapshot_create) == 32, "sizeof blk_snap_snapshot_create");
_Static_assert(_Alignof(struct blk_snap_snapshot_create) == 8, "alignof blk_snap_snapshot_create");
_Static_assert(sizeof(struct blk_snap_snapshot_destroy) == 16, "sizeof blk_snap_snapshot_destroy");
_Static_assert(_Alignof(struct blk_snap_snapshot_destroy) == 1, "alignof blk_snap_snapshot_destroy");
_Static_assert(sizeof(struct blk_snap_snapshot_append_storage) == 40, "sizeof blk_snap_snapshot_append_storage");
_Static_assert(_Alignof(struct blk_snap_snapshot_append_storage) == 8, "alignof blk_snap_snapshot_append_storage");
_Static_assert(sizeof(struct blk_snap_snapshot_take) == 16, "sizeof blk_snap_snapshot_take");
_Static_assert(_Alignof(struct blk_snap_snapshot_take) == 1, "alignof blk_snap_snapshot_take");
_Static_assert(sizeof(struct blk_snap_snapshot_collect) == 16, "sizeof blk_snap_snapshot_collect");
_Static_assert(_Alignof(struct blk_snap_snapshot_collect) == 8, "alignof blk_snap_snapshot_collect");
_Static_assert(sizeof(struct blk_snap_image_info) == 16, "sizeof blk_snap_image_info");
_Static_assert(_Alignof(struct blk_snap_image_info) == 4, "alignof blk_snap_image_info");
_Static_assert(sizeof(struct blk_snap_snapshot_collect_images) == 32, "sizeof blk_snap_snapshot_collect_images");
_Static_assert(_Alignof(struct blk_snap_snapshot_collect_images) == 8, "alignof blk_snap_snapshot_collect_images");
_Static_assert(sizeof(struct blk_snap_snapshot_event) == 4096, "sizeof blk_snap_snapshot_event");
_Static_assert(_Alignof(struct blk_snap_snapshot_event) == 8, "alignof blk_snap_snapshot_event");
_Static_assert(sizeof(struct blk_snap_event_low_free_space) == 8, "sizeof blk_snap_event_low_free_space");
_Static_assert(_Alignof(struct blk_snap_event_low_free_space) == 8, "alignof blk_snap_event_low_free_space");
_Static_assert(sizeof(struct blk_snap_event_corrupted) == 12, "sizeof blk_snap_event_corrupted");
_Static_assert(_Alignof(struct blk_snap_event_corrupted) == 4, "alignof blk_snap_event_corrupted");
_Static_assert(sizeof(struct blk_snap_setlog) == 24, "sizeof blk_snap_setlog");
_Static_assert(_Alignof(struct blk_snap_setlog) == 8, "alignof blk_snap_setlog");
_Static_assert(sizeof(struct blk_snap_sector_state) == 8, "sizeof blk_snap_sector_state");
_Static_assert(_Alignof(struct blk_snap_sector_state) == 4, "alignof blk_snap_sector_state");
_Static_assert(sizeof(struct blk_snap_get_sector_state) == 24, "sizeof blk_snap_get_sector_state");
_Static_assert(_Alignof(struct blk_snap_get_sector_state) == 8, "alignof blk_snap_get_sector_state");

/* ---- field offsets and sizes ---- */
_Static_assert(offsetof(struct blk_snap_uuid, b) == 0, "offsetof blk_snap_uuid.b");
_Static_assert(FIELD_SIZE(struct blk_snap_uuid, b) == 16, "fieldsize blk_snap_uuid.b");
_Static_assert(offsetof(struct blk_snap_version, major) == 0, "offsetof blk_snap_version.major");
_Static_assert(FIELD_SIZE(struct blk_snap_version, major) == 2, "fieldsize blk_snap_version.major");
_Static_assert(offsetof(struct blk_snap_version, minor) == 2, "offsetof blk_snap_version.minor");
_Static_assert(FIELD_SIZE(struct blk_snap_version, minor) == 2, "fieldsize blk_snap_version.minor");
_Static_assert(offsetof(struct blk_snap_version, revision) == 4, "offsetof blk_snap_version.revision");
_Static_assert(FIELD_SIZE(struct blk_snap_version, revision) == 2, "fieldsize blk_snap_version.revision");
_Static_assert(offsetof(struct blk_snap_version, build) == 6, "offsetof blk_snap_version.build");
_Static_assert(FIELD_SIZE(struct blk_snap_version, build) == 2, "fieldsize blk_snap_version.build");
_Static_assert(offsetof(struct blk_snap_mod, compatibility_flags) == 0, "offsetof blk_snap_mod.compatibility_flags");
_Static_assert(FIELD_SIZE(struct blk_snap_mod, compatibility_flags) == 8, "fieldsize blk_snap_mod.compatibility_flags");
_Static_assert(offsetof(struct blk_snap_mod, name) == 8, "offsetof blk_snap_mod.name");
_Static_assert(FIELD_SIZE(struct blk_snap_mod, name) == 32, "fieldsize blk_snap_mod.name");
_Static_assert(offsetof(struct blk_snap_dev_t, mj) == 0, "offsetof blk_snap_dev_t.mj");
_Static_assert(FIELD_SIZE(struct blk_snap_dev_t, mj) == 4, "fieldsize blk_snap_dev_t.mj");
_Static_assert(offsetof(struct blk_snap_dev_t, mn) == 4, "offsetof blk_snap_dev_t.mn");
_Static_assert(FIELD_SIZE(struct blk_snap_dev_t, mn) == 4, "fieldsize blk_snap_dev_t.mn");
_Static_assert(offsetof(struct blk_snap_tracker_remove, dev_id) == 0, "offsetof blk_snap_tracker_remove.dev_id");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_remove, dev_id) == 8, "fieldsize blk_snap_tracker_remove.dev_id");
_Static_assert(offsetof(struct blk_snap_cbt_info, dev_id) == 0, "offsetof blk_snap_cbt_info.dev_id");
_Static_assert(FIELD_SIZE(struct blk_snap_cbt_info, dev_id) == 8, "fieldsize blk_snap_cbt_info.dev_id");
_Static_assert(offsetof(struct blk_snap_cbt_info, blk_size) == 8, "offsetof blk_snap_cbt_info.blk_size");
_Static_assert(FIELD_SIZE(struct blk_snap_cbt_info, blk_size) == 4, "fieldsize blk_snap_cbt_info.blk_size");
_Static_assert(offsetof(struct blk_snap_cbt_info, device_capacity) == 16, "offsetof blk_snap_cbt_info.device_capacity");
_Static_assert(FIELD_SIZE(struct blk_snap_cbt_info, device_capacity) == 8, "fieldsize blk_snap_cbt_info.device_capacity");
_Static_assert(offsetof(struct blk_snap_cbt_info, blk_count) == 24, "offsetof blk_snap_cbt_info.blk_count");
_Static_assert(FIELD_SIZE(struct blk_snap_cbt_info, blk_count) == 4, "fieldsize blk_snap_cbt_info.blk_count");
_Static_assert(offsetof(struct blk_snap_cbt_info, generation_id) == 28, "offsetof blk_snap_cbt_info.generation_id");
_Static_assert(FIELD_SIZE(struct blk_snap_cbt_info, generation_id) == 16, "fieldsize blk_snap_cbt_info.generation_id");
_Static_assert(offsetof(struct blk_snap_cbt_info, snap_number) == 44, "offsetof blk_snap_cbt_info.snap_number");
_Static_assert(FIELD_SIZE(struct blk_snap_cbt_info, snap_number) == 1, "fieldsize blk_snap_cbt_info.snap_number");
_Static_assert(offsetof(struct blk_snap_tracker_collect, count) == 0, "offsetof blk_snap_tracker_collect.count");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_collect, count) == 4, "fieldsize blk_snap_tracker_collect.count");
_Static_assert(offsetof(struct blk_snap_tracker_collect, cbt_info_array) == 8, "offsetof blk_snap_tracker_collect.cbt_info_array");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_collect, cbt_info_array) == 8, "fieldsize blk_snap_tracker_collect.cbt_info_array");
_Static_assert(offsetof(struct blk_snap_tracker_read_cbt_bitmap, dev_id) == 0, "offsetof blk_snap_tracker_read_cbt_bitmap.dev_id");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_read_cbt_bitmap, dev_id) == 8, "fieldsize blk_snap_tracker_read_cbt_bitmap.dev_id");
_Static_assert(offsetof(struct blk_snap_tracker_read_cbt_bitmap, offset) == 8, "offsetof blk_snap_tracker_read_cbt_bitmap.offset");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_read_cbt_bitmap, offset) == 4, "fieldsize blk_snap_tracker_read_cbt_bitmap.offset");
_Static_assert(offsetof(struct blk_snap_tracker_read_cbt_bitmap, length) == 12, "offsetof blk_snap_tracker_read_cbt_bitmap.length");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_read_cbt_bitmap, length) == 4, "fieldsize blk_snap_tracker_read_cbt_bitmap.length");
_Static_assert(offsetof(struct blk_snap_tracker_read_cbt_bitmap, buff) == 16, "offsetof blk_snap_tracker_read_cbt_bitmap.buff");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_read_cbt_bitmap, buff) == 8, "fieldsize blk_snap_tracker_read_cbt_bitmap.buff");
_Static_assert(offsetof(struct blk_snap_block_range, sector_offset) == 0, "offsetof blk_snap_block_range.sector_offset");
_Static_assert(FIELD_SIZE(struct blk_snap_block_range, sector_offset) == 8, "fieldsize blk_snap_block_range.sector_offset");
_Static_assert(offsetof(struct blk_snap_block_range, sector_count) == 8, "offsetof blk_snap_block_range.sector_count");
_Static_assert(FIELD_SIZE(struct blk_snap_block_range, sector_count) == 8, "fieldsize blk_snap_block_range.sector_count");
_Static_assert(offsetof(struct blk_snap_tracker_mark_dirty_blocks, dev_id) == 0, "offsetof blk_snap_tracker_mark_dirty_blocks.dev_id");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_mark_dirty_blocks, dev_id) == 8, "fieldsize blk_snap_tracker_mark_dirty_blocks.dev_id");
_Static_assert(offsetof(struct blk_snap_tracker_mark_dirty_blocks, count) == 8, "offsetof blk_snap_tracker_mark_dirty_blocks.count");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_mark_dirty_blocks, count) == 4, "fieldsize blk_snap_tracker_mark_dirty_blocks.count");
_Static_assert(offsetof(struct blk_snap_tracker_mark_dirty_blocks, dirty_blocks_array) == 16, "offsetof blk_snap_tracker_mark_dirty_blocks.dirty_blocks_array");
_Static_assert(FIELD_SIZE(struct blk_snap_tracker_mark_dirty_blocks, dirty_blocks_array) == 8, "fieldsize blk_snap_tracker_mark_dirty_blocks.dirty_blocks_array");
_Static_assert(offsetof(struct blk_snap_snapshot_create, count) == 0, "offsetof blk_snap_snapshot_create.count");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_create, count) == 4, "fieldsize blk_snap_snapshot_create.count");
_Static_assert(offsetof(struct blk_snap_snapshot_create, dev_id_array) == 8, "offsetof blk_snap_snapshot_create.dev_id_array");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_create, dev_id_array) == 8, "fieldsize blk_snap_snapshot_create.dev_id_array");
_Static_assert(offsetof(struct blk_snap_snapshot_create, id) == 16, "offsetof blk_snap_snapshot_create.id");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_create, id) == 16, "fieldsize blk_snap_snapshot_create.id");
_Static_assert(offsetof(struct blk_snap_snapshot_destroy, id) == 0, "offsetof blk_snap_snapshot_destroy.id");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_destroy, id) == 16, "fieldsize blk_snap_snapshot_destroy.id");
_Static_assert(offsetof(struct blk_snap_snapshot_append_storage, id) == 0, "offsetof blk_snap_snapshot_append_storage.id");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_append_storage, id) == 16, "fieldsize blk_snap_snapshot_append_storage.id");
_Static_assert(offsetof(struct blk_snap_snapshot_append_storage, dev_id) == 16, "offsetof blk_snap_snapshot_append_storage.dev_id");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_append_storage, dev_id) == 8, "fieldsize blk_snap_snapshot_append_storage.dev_id");
_Static_assert(offsetof(struct blk_snap_snapshot_append_storage, count) == 24, "offsetof blk_snap_snapshot_append_storage.count");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_append_storage, count) == 4, "fieldsize blk_snap_snapshot_append_storage.count");
_Static_assert(offsetof(struct blk_snap_snapshot_append_storage, ranges) == 32, "offsetof blk_snap_snapshot_append_storage.ranges");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_append_storage, ranges) == 8, "fieldsize blk_snap_snapshot_append_storage.ranges");
_Static_assert(offsetof(struct blk_snap_snapshot_take, id) == 0, "offsetof blk_snap_snapshot_take.id");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_take, id) == 16, "fieldsize blk_snap_snapshot_take.id");
_Static_assert(offsetof(struct blk_snap_snapshot_collect, count) == 0, "offsetof blk_snap_snapshot_collect.count");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_collect, count) == 4, "fieldsize blk_snap_snapshot_collect.count");
_Static_assert(offsetof(struct blk_snap_snapshot_collect, ids) == 8, "offsetof blk_snap_snapshot_collect.ids");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_collect, ids) == 8, "fieldsize blk_snap_snapshot_collect.ids");
_Static_assert(offsetof(struct blk_snap_image_info, orig_dev_id) == 0, "offsetof blk_snap_image_info.orig_dev_id");
_Static_assert(FIELD_SIZE(struct blk_snap_image_info, orig_dev_id) == 8, "fieldsize blk_snap_image_info.orig_dev_id");
_Static_assert(offsetof(struct blk_snap_image_info, image_dev_id) == 8, "offsetof blk_snap_image_info.image_dev_id");
_Static_assert(FIELD_SIZE(struct blk_snap_image_info, image_dev_id) == 8, "fieldsize blk_snap_image_info.image_dev_id");
_Static_assert(offsetof(struct blk_snap_snapshot_collect_images, id) == 0, "offsetof blk_snap_snapshot_collect_images.id");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_collect_images, id) == 16, "fieldsize blk_snap_snapshot_collect_images.id");
_Static_assert(offsetof(struct blk_snap_snapshot_collect_images, count) == 16, "offsetof blk_snap_snapshot_collect_images.count");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_collect_images, count) == 4, "fieldsize blk_snap_snapshot_collect_images.count");
_Static_assert(offsetof(struct blk_snap_snapshot_collect_images, image_info_array) == 24, "offsetof blk_snap_snapshot_collect_images.image_info_array");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_collect_images, image_info_array) == 8, "fieldsize blk_snap_snapshot_collect_images.image_info_array");
_Static_assert(offsetof(struct blk_snap_snapshot_event, id) == 0, "offsetof blk_snap_snapshot_event.id");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_event, id) == 16, "fieldsize blk_snap_snapshot_event.id");
_Static_assert(offsetof(struct blk_snap_snapshot_event, timeout_ms) == 16, "offsetof blk_snap_snapshot_event.timeout_ms");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_event, timeout_ms) == 4, "fieldsize blk_snap_snapshot_event.timeout_ms");
_Static_assert(offsetof(struct blk_snap_snapshot_event, code) == 20, "offsetof blk_snap_snapshot_event.code");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_event, code) == 4, "fieldsize blk_snap_snapshot_event.code");
_Static_assert(offsetof(struct blk_snap_snapshot_event, time_label) == 24, "offsetof blk_snap_snapshot_event.time_label");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_event, time_label) == 8, "fieldsize blk_snap_snapshot_event.time_label");
_Static_assert(offsetof(struct blk_snap_snapshot_event, data) == 32, "offsetof blk_snap_snapshot_event.data");
_Static_assert(FIELD_SIZE(struct blk_snap_snapshot_event, data) == 4064, "fieldsize blk_snap_snapshot_event.data");
_Static_assert(offsetof(struct blk_snap_event_low_free_space, requested_nr_sect) == 0, "offsetof blk_snap_event_low_free_space.requested_nr_sect");
_Static_assert(FIELD_SIZE(struct blk_snap_event_low_free_space, requested_nr_sect) == 8, "fieldsize blk_snap_event_low_free_space.requested_nr_sect");
_Static_assert(offsetof(struct blk_snap_event_corrupted, orig_dev_id) == 0, "offsetof blk_snap_event_corrupted.orig_dev_id");
_Static_assert(FIELD_SIZE(struct blk_snap_event_corrupted, orig_dev_id) == 8, "fieldsize blk_snap_event_corrupted.orig_dev_id");
_Static_assert(offsetof(struct blk_snap_event_corrupted, err_code) == 8, "offsetof blk_snap_event_corrupted.err_code");
_Static_assert(FIELD_SIZE(struct blk_snap_event_corrupted, err_code) == 4, "fieldsize blk_snap_event_corrupted.err_code");
_Static_assert(offsetof(struct blk_snap_setlog, tz_minuteswest) == 0, "offsetof blk_snap_setlog.tz_minuteswest");
_Static_assert(FIELD_SIZE(struct blk_snap_setlog, tz_minuteswest) == 4, "fieldsize blk_snap_setlog.tz_minuteswest");
_Static_assert(offsetof(struct blk_snap_setlog, level) == 4, "offsetof blk_snap_setlog.level");
_Static_assert(FIELD_SIZE(struct blk_snap_setlog, level) == 4, "fieldsize blk_snap_setlog.level");
_Static_assert(offsetof(struct blk_snap_setlog, filepath_size) == 8, "offsetof blk_snap_setlog.filepath_size");
_Static_assert(FIELD_SIZE(struct blk_snap_setlog, filepath_size) == 4, "fieldsize blk_snap_setlog.filepath_size");
_Static_assert(offsetof(struct blk_snap_setlog, filepath) == 16, "offsetof blk_snap_setlog.filepath");
_Static_assert(FIELD_SIZE(struct blk_snap_setlog, filepath) == 8, "fieldsize blk_snap_setlog.filepath");
_Static_assert(offsetof(struct blk_snap_sector_state, snap_number_prev) == 0, "offsetof blk_snap_sector_state.snap_number_prev");
_Static_assert(FIELD_SIZE(struct blk_snap_sector_state, snap_number_prev) == 1, "fieldsize blk_snap_sector_state.snap_number_prev");
_Static_assert(offsetof(struct blk_snap_sector_state, snap_number_curr) == 1, "offsetof blk_snap_sector_state.snap_number_curr");
_Static_assert(FIELD_SIZE(struct blk_snap_sector_state, snap_number_curr) == 1, "fieldsize blk_snap_sector_state.snap_number_curr");
_Static_assert(offsetof(struct blk_snap_sector_state, chunk_state) == 4, "offsetof blk_snap_sector_state.chunk_state");
_Static_assert(FIELD_SIZE(struct blk_snap_sector_state, chunk_state) == 4, "fieldsize blk_snap_sector_state.chunk_state");
_Static_assert(offsetof(struct blk_snap_get_sector_state, image_dev_id) == 0, "offsetof blk_snap_get_sector_state.image_dev_id");
_Static_assert(FIELD_SIZE(struct blk_snap_get_sector_state, image_dev_id) == 8, "fieldsize blk_snap_get_sector_state.image_dev_id");
_Static_assert(offsetof(struct blk_snap_get_sector_state, sector) == 8, "offsetof blk_snap_get_sector_state.sector");
_Static_assert(FIELD_SIZE(struct blk_snap_get_sector_state, sector) == 8, "fieldsize blk_snap_get_sector_state.sector");
_Static_assert(offsetof(struct blk_snap_get_sector_state, state) == 16, "offsetof blk_snap_get_sector_state.state");
_Static_assert(FIELD_SIZE(struct blk_snap_get_sector_state, state) == 8, "fieldsize blk_snap_get_sector_state.state");

/* ---- request numbers, and their dir/type/nr/size fields ---- */
_Static_assert(IOCTL_BLK_SNAP_VERSION == 0x40085600UL, "IOCTL_BLK_SNAP_VERSION");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_VERSION) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_VERSION) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_VERSION) == 0 && _IOC_SIZE(IOCTL_BLK_SNAP_VERSION) == 8, "IOCTL_BLK_SNAP_VERSION fields");
_Static_assert(IOCTL_BLK_SNAP_TRACKER_REMOVE == 0x40085601UL, "IOCTL_BLK_SNAP_TRACKER_REMOVE");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_TRACKER_REMOVE) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_TRACKER_REMOVE) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_TRACKER_REMOVE) == 1 && _IOC_SIZE(IOCTL_BLK_SNAP_TRACKER_REMOVE) == 8, "IOCTL_BLK_SNAP_TRACKER_REMOVE fields");
_Static_assert(IOCTL_BLK_SNAP_TRACKER_COLLECT == 0x40105602UL, "IOCTL_BLK_SNAP_TRACKER_COLLECT");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_TRACKER_COLLECT) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_TRACKER_COLLECT) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_TRACKER_COLLECT) == 2 && _IOC_SIZE(IOCTL_BLK_SNAP_TRACKER_COLLECT) == 16, "IOCTL_BLK_SNAP_TRACKER_COLLECT fields");
_Static_assert(IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP == 0x80185603UL, "IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP) == 2 && _IOC_TYPE(IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP) == 3 && _IOC_SIZE(IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP) == 24, "IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP fields");
_Static_assert(IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS == 0x80185604UL, "IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS) == 2 && _IOC_TYPE(IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS) == 4 && _IOC_SIZE(IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS) == 24, "IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS fields");
_Static_assert(IOCTL_BLK_SNAP_SNAPSHOT_CREATE == 0x40205605UL, "IOCTL_BLK_SNAP_SNAPSHOT_CREATE");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_CREATE) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_SNAPSHOT_CREATE) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_SNAPSHOT_CREATE) == 5 && _IOC_SIZE(IOCTL_BLK_SNAP_SNAPSHOT_CREATE) == 32, "IOCTL_BLK_SNAP_SNAPSHOT_CREATE fields");
_Static_assert(IOCTL_BLK_SNAP_SNAPSHOT_DESTROY == 0x80105606UL, "IOCTL_BLK_SNAP_SNAPSHOT_DESTROY");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_DESTROY) == 2 && _IOC_TYPE(IOCTL_BLK_SNAP_SNAPSHOT_DESTROY) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_SNAPSHOT_DESTROY) == 6 && _IOC_SIZE(IOCTL_BLK_SNAP_SNAPSHOT_DESTROY) == 16, "IOCTL_BLK_SNAP_SNAPSHOT_DESTROY fields");
_Static_assert(IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE == 0x40285607UL, "IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE) == 7 && _IOC_SIZE(IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE) == 40, "IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE fields");
_Static_assert(IOCTL_BLK_SNAP_SNAPSHOT_TAKE == 0x80105608UL, "IOCTL_BLK_SNAP_SNAPSHOT_TAKE");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_TAKE) == 2 && _IOC_TYPE(IOCTL_BLK_SNAP_SNAPSHOT_TAKE) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_SNAPSHOT_TAKE) == 8 && _IOC_SIZE(IOCTL_BLK_SNAP_SNAPSHOT_TAKE) == 16, "IOCTL_BLK_SNAP_SNAPSHOT_TAKE fields");
_Static_assert(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT == 0x40105609UL, "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT) == 9 && _IOC_SIZE(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT) == 16, "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT fields");
_Static_assert(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES == 0x4020560aUL, "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES) == 10 && _IOC_SIZE(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES) == 32, "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES fields");
_Static_assert(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT == 0x5000560bUL, "IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT) == 11 && _IOC_SIZE(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT) == 4096, "IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT fields");
_Static_assert(IOCTL_BLK_SNAP_MOD == 0x40285620UL, "IOCTL_BLK_SNAP_MOD");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_MOD) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_MOD) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_MOD) == 32 && _IOC_SIZE(IOCTL_BLK_SNAP_MOD) == 40, "IOCTL_BLK_SNAP_MOD fields");
_Static_assert(IOCTL_BLK_SNAP_SETLOG == 0x40185621UL, "IOCTL_BLK_SNAP_SETLOG");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_SETLOG) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_SETLOG) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_SETLOG) == 33 && _IOC_SIZE(IOCTL_BLK_SNAP_SETLOG) == 24, "IOCTL_BLK_SNAP_SETLOG fields");
_Static_assert(IOCTL_BLK_SNAP_GET_SECTOR_STATE == 0x40185622UL, "IOCTL_BLK_SNAP_GET_SECTOR_STATE");
_Static_assert(_IOC_DIR(IOCTL_BLK_SNAP_GET_SECTOR_STATE) == 1 && _IOC_TYPE(IOCTL_BLK_SNAP_GET_SECTOR_STATE) == 0x56 && _IOC_NR(IOCTL_BLK_SNAP_GET_SECTOR_STATE) == 34 && _IOC_SIZE(IOCTL_BLK_SNAP_GET_SECTOR_STATE) == 24, "IOCTL_BLK_SNAP_GET_SECTOR_STATE fields");

/* ---- enum values ---- */
_Static_assert(blk_snap_ioctl_version == 0, "blk_snap_ioctl_version");
_Static_assert(blk_snap_ioctl_tracker_remove == 1, "blk_snap_ioctl_tracker_remove");
_Static_assert(blk_snap_ioctl_tracker_collect == 2, "blk_snap_ioctl_tracker_collect");
_Static_assert(blk_snap_ioctl_tracker_read_cbt_map == 3, "blk_snap_ioctl_tracker_read_cbt_map");
_Static_assert(blk_snap_ioctl_tracker_mark_dirty_blocks == 4, "blk_snap_ioctl_tracker_mark_dirty_blocks");
_Static_assert(blk_snap_ioctl_snapshot_create == 5, "blk_snap_ioctl_snapshot_create");
_Static_assert(blk_snap_ioctl_snapshot_destroy == 6, "blk_snap_ioctl_snapshot_destroy");
_Static_assert(blk_snap_ioctl_snapshot_append_storage == 7, "blk_snap_ioctl_snapshot_append_storage");
_Static_assert(blk_snap_ioctl_snapshot_take == 8, "blk_snap_ioctl_snapshot_take");
_Static_assert(blk_snap_ioctl_snapshot_collect == 9, "blk_snap_ioctl_snapshot_collect");
_Static_assert(blk_snap_ioctl_snapshot_collect_images == 10, "blk_snap_ioctl_snapshot_collect_images");
_Static_assert(blk_snap_ioctl_snapshot_wait_event == 11, "blk_snap_ioctl_snapshot_wait_event");
_Static_assert(blk_snap_ioctl_end == 12, "blk_snap_ioctl_end");
_Static_assert(blk_snap_ioctl_mod == 32, "blk_snap_ioctl_mod");
_Static_assert(blk_snap_ioctl_setlog == 33, "blk_snap_ioctl_setlog");
_Static_assert(blk_snap_ioctl_get_sector_state == 34, "blk_snap_ioctl_get_sector_state");
_Static_assert(blk_snap_ioctl_end_mod == 35, "blk_snap_ioctl_end_mod");
_Static_assert(blk_snap_event_code_low_free_space == 0, "blk_snap_event_code_low_free_space");
_Static_assert(blk_snap_event_code_corrupted == 1, "blk_snap_event_code_corrupted");
_Static_assert(blk_snap_compat_flag_debug_sector_state == 0, "blk_snap_compat_flag_debug_sector_state");
_Static_assert(blk_snap_compat_flag_setlog == 1, "blk_snap_compat_flag_setlog");

/* ---- numeric constants ---- */
_Static_assert(BLK_SNAP == 0x56, "BLK_SNAP");
_Static_assert(IOCTL_MOD == 32, "IOCTL_MOD");
_Static_assert(BLK_SNAP_MOD_NAME_LIMIT == 32, "BLK_SNAP_MOD_NAME_LIMIT");
_Static_assert(BLK_SNAP_EVENT_COPY_IN_SIZE == 4096, "BLK_SNAP_EVENT_COPY_IN_SIZE");
_Static_assert(BLK_SNAP_EVENT_DATA_CAPACITY == 4064, "BLK_SNAP_EVENT_DATA_CAPACITY");
_Static_assert(BLK_SNAP_MOD_COMPAT_FLAGS_STANDALONE == 0x2, "BLK_SNAP_MOD_COMPAT_FLAGS_STANDALONE");

/* ---- lookup tables ---- */
struct type_row { const char *name; long size; long align; };
static const struct type_row types[] = {
	{ "blk_snap_uuid", (long)sizeof(struct blk_snap_uuid), (long)_Alignof(struct blk_snap_uuid) },
	{ "blk_snap_version", (long)sizeof(struct blk_snap_version), (long)_Alignof(struct blk_snap_version) },
	{ "blk_snap_mod", (long)sizeof(struct blk_snap_mod), (long)_Alignof(struct blk_snap_mod) },
	{ "blk_snap_dev_t", (long)sizeof(struct blk_snap_dev_t), (long)_Alignof(struct blk_snap_dev_t) },
	{ "blk_snap_tracker_remove", (long)sizeof(struct blk_snap_tracker_remove), (long)_Alignof(struct blk_snap_tracker_remove) },
	{ "blk_snap_cbt_info", (long)sizeof(struct blk_snap_cbt_info), (long)_Alignof(struct blk_snap_cbt_info) },
	{ "blk_snap_tracker_collect", (long)sizeof(struct blk_snap_tracker_collect), (long)_Alignof(struct blk_snap_tracker_collect) },
	{ "blk_snap_tracker_read_cbt_bitmap", (long)sizeof(struct blk_snap_tracker_read_cbt_bitmap), (long)_Alignof(struct blk_snap_tracker_read_cbt_bitmap) },
	{ "blk_snap_block_range", (long)sizeof(struct blk_snap_block_range), (long)_Alignof(struct blk_snap_block_range) },
	{ "blk_snap_tracker_mark_dirty_blocks", (long)sizeof(struct blk_snap_tracker_mark_dirty_blocks), (long)_Alignof(struct blk_snap_tracker_mark_dirty_blocks) },
	{ "blk_snap_snapshot_create", (long)sizeof(struct blk_snap_snapshot_create), (long)_Alignof(struct blk_snap_snapshot_create) },
	{ "blk_snap_snapshot_destroy", (long)sizeof(struct blk_snap_snapshot_destroy), (long)_Alignof(struct blk_snap_snapshot_destroy) },
	{ "blk_snap_snapshot_append_storage", (long)sizeof(struct blk_snap_snapshot_append_storage), (long)_Alignof(struct blk_snap_snapshot_append_storage) },
	{ "blk_snap_snapshot_take", (long)sizeof(struct blk_snap_snapshot_take), (long)_Alignof(struct blk_snap_snapshot_take) },
	{ "blk_snap_snapshot_collect", (long)sizeof(struct blk_snap_snapshot_collect), (long)_Alignof(struct blk_snap_snapshot_collect) },
	{ "blk_snap_image_info", (long)sizeof(struct blk_snap_image_info), (long)_Alignof(struct blk_snap_image_info) },
	{ "blk_snap_snapshot_collect_images", (long)sizeof(struct blk_snap_snapshot_collect_images), (long)_Alignof(struct blk_snap_snapshot_collect_images) },
	{ "blk_snap_snapshot_event", (long)sizeof(struct blk_snap_snapshot_event), (long)_Alignof(struct blk_snap_snapshot_event) },
	{ "blk_snap_event_low_free_space", (long)sizeof(struct blk_snap_event_low_free_space), (long)_Alignof(struct blk_snap_event_low_free_space) },
	{ "blk_snap_event_corrupted", (long)sizeof(struct blk_snap_event_corrupted), (long)_Alignof(struct blk_snap_event_corrupted) },
	{ "blk_snap_setlog", (long)sizeof(struct blk_snap_setlog), (long)_Alignof(struct blk_snap_setlog) },
	{ "blk_snap_sector_state", (long)sizeof(struct blk_snap_sector_state), (long)_Alignof(struct blk_snap_sector_state) },
	{ "blk_snap_get_sector_state", (long)sizeof(struct blk_snap_get_sector_state), (long)_Alignof(struct blk_snap_get_sector_state) },
};

struct field_row { const char *type; const char *field; long offset; long size; };
static const struct field_row fields[] = {
	{ "blk_snap_uuid", "b", (long)offsetof(struct blk_snap_uuid, b), (long)FIELD_SIZE(struct blk_snap_uuid, b) },
	{ "blk_snap_version", "major", (long)offsetof(struct blk_snap_version, major), (long)FIELD_SIZE(struct blk_snap_version, major) },
	{ "blk_snap_version", "minor", (long)offsetof(struct blk_snap_version, minor), (long)FIELD_SIZE(struct blk_snap_version, minor) },
	{ "blk_snap_version", "revision", (long)offsetof(struct blk_snap_version, revision), (long)FIELD_SIZE(struct blk_snap_version, revision) },
	{ "blk_snap_version", "build", (long)offsetof(struct blk_snap_version, build), (long)FIELD_SIZE(struct blk_snap_version, build) },
	{ "blk_snap_mod", "compatibility_flags", (long)offsetof(struct blk_snap_mod, compatibility_flags), (long)FIELD_SIZE(struct blk_snap_mod, compatibility_flags) },
	{ "blk_snap_mod", "name", (long)offsetof(struct blk_snap_mod, name), (long)FIELD_SIZE(struct blk_snap_mod, name) },
	{ "blk_snap_dev_t", "mj", (long)offsetof(struct blk_snap_dev_t, mj), (long)FIELD_SIZE(struct blk_snap_dev_t, mj) },
	{ "blk_snap_dev_t", "mn", (long)offsetof(struct blk_snap_dev_t, mn), (long)FIELD_SIZE(struct blk_snap_dev_t, mn) },
	{ "blk_snap_tracker_remove", "dev_id", (long)offsetof(struct blk_snap_tracker_remove, dev_id), (long)FIELD_SIZE(struct blk_snap_tracker_remove, dev_id) },
	{ "blk_snap_cbt_info", "dev_id", (long)offsetof(struct blk_snap_cbt_info, dev_id), (long)FIELD_SIZE(struct blk_snap_cbt_info, dev_id) },
	{ "blk_snap_cbt_info", "blk_size", (long)offsetof(struct blk_snap_cbt_info, blk_size), (long)FIELD_SIZE(struct blk_snap_cbt_info, blk_size) },
	{ "blk_snap_cbt_info", "device_capacity", (long)offsetof(struct blk_snap_cbt_info, device_capacity), (long)FIELD_SIZE(struct blk_snap_cbt_info, device_capacity) },
	{ "blk_snap_cbt_info", "blk_count", (long)offsetof(struct blk_snap_cbt_info, blk_count), (long)FIELD_SIZE(struct blk_snap_cbt_info, blk_count) },
	{ "blk_snap_cbt_info", "generation_id", (long)offsetof(struct blk_snap_cbt_info, generation_id), (long)FIELD_SIZE(struct blk_snap_cbt_info, generation_id) },
	{ "blk_snap_cbt_info", "snap_number", (long)offsetof(struct blk_snap_cbt_info, snap_number), (long)FIELD_SIZE(struct blk_snap_cbt_info, snap_number) },
	{ "blk_snap_tracker_collect", "count", (long)offsetof(struct blk_snap_tracker_collect, count), (long)FIELD_SIZE(struct blk_snap_tracker_collect, count) },
	{ "blk_snap_tracker_collect", "cbt_info_array", (long)offsetof(struct blk_snap_tracker_collect, cbt_info_array), (long)FIELD_SIZE(struct blk_snap_tracker_collect, cbt_info_array) },
	{ "blk_snap_tracker_read_cbt_bitmap", "dev_id", (long)offsetof(struct blk_snap_tracker_read_cbt_bitmap, dev_id), (long)FIELD_SIZE(struct blk_snap_tracker_read_cbt_bitmap, dev_id) },
	{ "blk_snap_tracker_read_cbt_bitmap", "offset", (long)offsetof(struct blk_snap_tracker_read_cbt_bitmap, offset), (long)FIELD_SIZE(struct blk_snap_tracker_read_cbt_bitmap, offset) },
	{ "blk_snap_tracker_read_cbt_bitmap", "length", (long)offsetof(struct blk_snap_tracker_read_cbt_bitmap, length), (long)FIELD_SIZE(struct blk_snap_tracker_read_cbt_bitmap, length) },
	{ "blk_snap_tracker_read_cbt_bitmap", "buff", (long)offsetof(struct blk_snap_tracker_read_cbt_bitmap, buff), (long)FIELD_SIZE(struct blk_snap_tracker_read_cbt_bitmap, buff) },
	{ "blk_snap_block_range", "sector_offset", (long)offsetof(struct blk_snap_block_range, sector_offset), (long)FIELD_SIZE(struct blk_snap_block_range, sector_offset) },
	{ "blk_snap_block_range", "sector_count", (long)offsetof(struct blk_snap_block_range, sector_count), (long)FIELD_SIZE(struct blk_snap_block_range, sector_count) },
	{ "blk_snap_tracker_mark_dirty_blocks", "dev_id", (long)offsetof(struct blk_snap_tracker_mark_dirty_blocks, dev_id), (long)FIELD_SIZE(struct blk_snap_tracker_mark_dirty_blocks, dev_id) },
	{ "blk_snap_tracker_mark_dirty_blocks", "count", (long)offsetof(struct blk_snap_tracker_mark_dirty_blocks, count), (long)FIELD_SIZE(struct blk_snap_tracker_mark_dirty_blocks, count) },
	{ "blk_snap_tracker_mark_dirty_blocks", "dirty_blocks_array", (long)offsetof(struct blk_snap_tracker_mark_dirty_blocks, dirty_blocks_array), (long)FIELD_SIZE(struct blk_snap_tracker_mark_dirty_blocks, dirty_blocks_array) },
	{ "blk_snap_snapshot_create", "count", (long)offsetof(struct blk_snap_snapshot_create, count), (long)FIELD_SIZE(struct blk_snap_snapshot_create, count) },
	{ "blk_snap_snapshot_create", "dev_id_array", (long)offsetof(struct blk_snap_snapshot_create, dev_id_array), (long)FIELD_SIZE(struct blk_snap_snapshot_create, dev_id_array) },
	{ "blk_snap_snapshot_create", "id", (long)offsetof(struct blk_snap_snapshot_create, id), (long)FIELD_SIZE(struct blk_snap_snapshot_create, id) },
	{ "blk_snap_snapshot_destroy", "id", (long)offsetof(struct blk_snap_snapshot_destroy, id), (long)FIELD_SIZE(struct blk_snap_snapshot_destroy, id) },
	{ "blk_snap_snapshot_append_storage", "id", (long)offsetof(struct blk_snap_snapshot_append_storage, id), (long)FIELD_SIZE(struct blk_snap_snapshot_append_storage, id) },
	{ "blk_snap_snapshot_append_storage", "dev_id", (long)offsetof(struct blk_snap_snapshot_append_storage, dev_id), (long)FIELD_SIZE(struct blk_snap_snapshot_append_storage, dev_id) },
	{ "blk_snap_snapshot_append_storage", "count", (long)offsetof(struct blk_snap_snapshot_append_storage, count), (long)FIELD_SIZE(struct blk_snap_snapshot_append_storage, count) },
	{ "blk_snap_snapshot_append_storage", "ranges", (long)offsetof(struct blk_snap_snapshot_append_storage, ranges), (long)FIELD_SIZE(struct blk_snap_snapshot_append_storage, ranges) },
	{ "blk_snap_snapshot_take", "id", (long)offsetof(struct blk_snap_snapshot_take, id), (long)FIELD_SIZE(struct blk_snap_snapshot_take, id) },
	{ "blk_snap_snapshot_collect", "count", (long)offsetof(struct blk_snap_snapshot_collect, count), (long)FIELD_SIZE(struct blk_snap_snapshot_collect, count) },
	{ "blk_snap_snapshot_collect", "ids", (long)offsetof(struct blk_snap_snapshot_collect, ids), (long)FIELD_SIZE(struct blk_snap_snapshot_collect, ids) },
	{ "blk_snap_image_info", "orig_dev_id", (long)offsetof(struct blk_snap_image_info, orig_dev_id), (long)FIELD_SIZE(struct blk_snap_image_info, orig_dev_id) },
	{ "blk_snap_image_info", "image_dev_id", (long)offsetof(struct blk_snap_image_info, image_dev_id), (long)FIELD_SIZE(struct blk_snap_image_info, image_dev_id) },
	{ "blk_snap_snapshot_collect_images", "id", (long)offsetof(struct blk_snap_snapshot_collect_images, id), (long)FIELD_SIZE(struct blk_snap_snapshot_collect_images, id) },
	{ "blk_snap_snapshot_collect_images", "count", (long)offsetof(struct blk_snap_snapshot_collect_images, count), (long)FIELD_SIZE(struct blk_snap_snapshot_collect_images, count) },
	{ "blk_snap_snapshot_collect_images", "image_info_array", (long)offsetof(struct blk_snap_snapshot_collect_images, image_info_array), (long)FIELD_SIZE(struct blk_snap_snapshot_collect_images, image_info_array) },
	{ "blk_snap_snapshot_event", "id", (long)offsetof(struct blk_snap_snapshot_event, id), (long)FIELD_SIZE(struct blk_snap_snapshot_event, id) },
	{ "blk_snap_snapshot_event", "timeout_ms", (long)offsetof(struct blk_snap_snapshot_event, timeout_ms), (long)FIELD_SIZE(struct blk_snap_snapshot_event, timeout_ms) },
	{ "blk_snap_snapshot_event", "code", (long)offsetof(struct blk_snap_snapshot_event, code), (long)FIELD_SIZE(struct blk_snap_snapshot_event, code) },
	{ "blk_snap_snapshot_event", "time_label", (long)offsetof(struct blk_snap_snapshot_event, time_label), (long)FIELD_SIZE(struct blk_snap_snapshot_event, time_label) },
	{ "blk_snap_snapshot_event", "data", (long)offsetof(struct blk_snap_snapshot_event, data), (long)FIELD_SIZE(struct blk_snap_snapshot_event, data) },
	{ "blk_snap_event_low_free_space", "requested_nr_sect", (long)offsetof(struct blk_snap_event_low_free_space, requested_nr_sect), (long)FIELD_SIZE(struct blk_snap_event_low_free_space, requested_nr_sect) },
	{ "blk_snap_event_corrupted", "orig_dev_id", (long)offsetof(struct blk_snap_event_corrupted, orig_dev_id), (long)FIELD_SIZE(struct blk_snap_event_corrupted, orig_dev_id) },
	{ "blk_snap_event_corrupted", "err_code", (long)offsetof(struct blk_snap_event_corrupted, err_code), (long)FIELD_SIZE(struct blk_snap_event_corrupted, err_code) },
	{ "blk_snap_setlog", "tz_minuteswest", (long)offsetof(struct blk_snap_setlog, tz_minuteswest), (long)FIELD_SIZE(struct blk_snap_setlog, tz_minuteswest) },
	{ "blk_snap_setlog", "level", (long)offsetof(struct blk_snap_setlog, level), (long)FIELD_SIZE(struct blk_snap_setlog, level) },
	{ "blk_snap_setlog", "filepath_size", (long)offsetof(struct blk_snap_setlog, filepath_size), (long)FIELD_SIZE(struct blk_snap_setlog, filepath_size) },
	{ "blk_snap_setlog", "filepath", (long)offsetof(struct blk_snap_setlog, filepath), (long)FIELD_SIZE(struct blk_snap_setlog, filepath) },
	{ "blk_snap_sector_state", "snap_number_prev", (long)offsetof(struct blk_snap_sector_state, snap_number_prev), (long)FIELD_SIZE(struct blk_snap_sector_state, snap_number_prev) },
	{ "blk_snap_sector_state", "snap_number_curr", (long)offsetof(struct blk_snap_sector_state, snap_number_curr), (long)FIELD_SIZE(struct blk_snap_sector_state, snap_number_curr) },
	{ "blk_snap_sector_state", "chunk_state", (long)offsetof(struct blk_snap_sector_state, chunk_state), (long)FIELD_SIZE(struct blk_snap_sector_state, chunk_state) },
	{ "blk_snap_get_sector_state", "image_dev_id", (long)offsetof(struct blk_snap_get_sector_state, image_dev_id), (long)FIELD_SIZE(struct blk_snap_get_sector_state, image_dev_id) },
	{ "blk_snap_get_sector_state", "sector", (long)offsetof(struct blk_snap_get_sector_state, sector), (long)FIELD_SIZE(struct blk_snap_get_sector_state, sector) },
	{ "blk_snap_get_sector_state", "state", (long)offsetof(struct blk_snap_get_sector_state, state), (long)FIELD_SIZE(struct blk_snap_get_sector_state, state) },
};

struct request_row { const char *name; unsigned long value; };
static const struct request_row requests[] = {
	{ "IOCTL_BLK_SNAP_VERSION", IOCTL_BLK_SNAP_VERSION },
	{ "IOCTL_BLK_SNAP_TRACKER_REMOVE", IOCTL_BLK_SNAP_TRACKER_REMOVE },
	{ "IOCTL_BLK_SNAP_TRACKER_COLLECT", IOCTL_BLK_SNAP_TRACKER_COLLECT },
	{ "IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP", IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP },
	{ "IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS", IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS },
	{ "IOCTL_BLK_SNAP_SNAPSHOT_CREATE", IOCTL_BLK_SNAP_SNAPSHOT_CREATE },
	{ "IOCTL_BLK_SNAP_SNAPSHOT_DESTROY", IOCTL_BLK_SNAP_SNAPSHOT_DESTROY },
	{ "IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE", IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE },
	{ "IOCTL_BLK_SNAP_SNAPSHOT_TAKE", IOCTL_BLK_SNAP_SNAPSHOT_TAKE },
	{ "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT", IOCTL_BLK_SNAP_SNAPSHOT_COLLECT },
	{ "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES", IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES },
	{ "IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT", IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT },
	{ "IOCTL_BLK_SNAP_MOD", IOCTL_BLK_SNAP_MOD },
	{ "IOCTL_BLK_SNAP_SETLOG", IOCTL_BLK_SNAP_SETLOG },
	{ "IOCTL_BLK_SNAP_GET_SECTOR_STATE", IOCTL_BLK_SNAP_GET_SECTOR_STATE },
};

struct constant_row { const char *name; long value; };
static const struct constant_row constants[] = {
	{ "blk_snap_ioctl_version", (long)blk_snap_ioctl_version },
	{ "blk_snap_ioctl_tracker_remove", (long)blk_snap_ioctl_tracker_remove },
	{ "blk_snap_ioctl_tracker_collect", (long)blk_snap_ioctl_tracker_collect },
	{ "blk_snap_ioctl_tracker_read_cbt_map", (long)blk_snap_ioctl_tracker_read_cbt_map },
	{ "blk_snap_ioctl_tracker_mark_dirty_blocks", (long)blk_snap_ioctl_tracker_mark_dirty_blocks },
	{ "blk_snap_ioctl_snapshot_create", (long)blk_snap_ioctl_snapshot_create },
	{ "blk_snap_ioctl_snapshot_destroy", (long)blk_snap_ioctl_snapshot_destroy },
	{ "blk_snap_ioctl_snapshot_append_storage", (long)blk_snap_ioctl_snapshot_append_storage },
	{ "blk_snap_ioctl_snapshot_take", (long)blk_snap_ioctl_snapshot_take },
	{ "blk_snap_ioctl_snapshot_collect", (long)blk_snap_ioctl_snapshot_collect },
	{ "blk_snap_ioctl_snapshot_collect_images", (long)blk_snap_ioctl_snapshot_collect_images },
	{ "blk_snap_ioctl_snapshot_wait_event", (long)blk_snap_ioctl_snapshot_wait_event },
	{ "blk_snap_ioctl_end", (long)blk_snap_ioctl_end },
	{ "blk_snap_ioctl_mod", (long)blk_snap_ioctl_mod },
	{ "blk_snap_ioctl_setlog", (long)blk_snap_ioctl_setlog },
	{ "blk_snap_ioctl_get_sector_state", (long)blk_snap_ioctl_get_sector_state },
	{ "blk_snap_ioctl_end_mod", (long)blk_snap_ioctl_end_mod },
	{ "blk_snap_event_code_low_free_space", (long)blk_snap_event_code_low_free_space },
	{ "blk_snap_event_code_corrupted", (long)blk_snap_event_code_corrupted },
	{ "blk_snap_compat_flag_debug_sector_state", (long)blk_snap_compat_flag_debug_sector_state },
	{ "blk_snap_compat_flag_setlog", (long)blk_snap_compat_flag_setlog },
	{ "BLK_SNAP", (long)BLK_SNAP },
	{ "IOCTL_MOD", (long)IOCTL_MOD },
	{ "BLK_SNAP_MOD_NAME_LIMIT", (long)BLK_SNAP_MOD_NAME_LIMIT },
	{ "BLK_SNAP_EVENT_COPY_IN_SIZE", (long)BLK_SNAP_EVENT_COPY_IN_SIZE },
	{ "BLK_SNAP_EVENT_DATA_CAPACITY", (long)BLK_SNAP_EVENT_DATA_CAPACITY },
	{ "BLK_SNAP_MOD_COMPAT_FLAGS_STANDALONE", (long)BLK_SNAP_MOD_COMPAT_FLAGS_STANDALONE },
};
#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

long veeam_v1_abi_sizeof(const char *type)
{
	for (size_t i = 0; i < COUNT(types); i++)
		if (strcmp(types[i].name, type) == 0)
			return types[i].size;
	return -1;
}

long veeam_v1_abi_alignof(const char *type)
{
	for (size_t i = 0; i < COUNT(types); i++)
		if (strcmp(types[i].name, type) == 0)
			return types[i].align;
	return -1;
}

long veeam_v1_abi_offsetof(const char *type, const char *field)
{
	for (size_t i = 0; i < COUNT(fields); i++)
		if (strcmp(fields[i].type, type) == 0 && strcmp(fields[i].field, field) == 0)
			return fields[i].offset;
	return -1;
}

long veeam_v1_abi_fieldsize(const char *type, const char *field)
{
	for (size_t i = 0; i < COUNT(fields); i++)
		if (strcmp(fields[i].type, type) == 0 && strcmp(fields[i].field, field) == 0)
			return fields[i].size;
	return -1;
}

unsigned long veeam_v1_abi_request(const char *name)
{
	for (size_t i = 0; i < COUNT(requests); i++)
		if (strcmp(requests[i].name, name) == 0)
			return requests[i].value;
	return 0;
}

long veeam_v1_abi_constant(const char *name)
{
	for (size_t i = 0; i < COUNT(constants); i++)
		if (strcmp(constants[i].name, name) == 0)
			return constants[i].value;
	return -1;
}

int veeam_v1_abi_type_count(void) { return (int)COUNT(types); }
int veeam_v1_abi_field_count(void) { return (int)COUNT(fields); }
int veeam_v1_abi_request_count(void) { return (int)COUNT(requests); }
int veeam_v1_abi_constant_count(void) { return (int)COUNT(constants); }
