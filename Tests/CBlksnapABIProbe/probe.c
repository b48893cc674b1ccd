/*
 * probe.c - the blksnap v5 ABI, checked by the C compiler and reported to Swift.
 *
 * Every size, alignment, field offset, field size, request number and enum value
 * below is the x86_64 value of the v5 UAPI (the package's ABI reference). The
 * _Static_asserts make a layout drift a compile error of the test build; the
 * lookup functions let the Swift tests compare the same values with what Swift
 * imports from CBlksnapUAPI.
 */
#include "CBlksnapABIProbe.h"
#include <CBlksnapUAPI.h>
#include <stddef.h>
#include <string.h>

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/* ---- sizes and alignments ---- */
_Static_assert(sizeof(struct blkfilter_name) == 32, "sizeof blkfilter_name");
_Static_assert(_Alignof(struct blkfilter_name) == 1, "alignof blkfilter_name");
_Static_assert(sizeof(struct blkfilter_ctl) == 48, "sizeof blkfilter_ctl");
_Static_assert(_Alignof(struct blkfilter_ctl) == 8, "alignof blkfilter_ctl");
_Static_assert(sizeof(struct blksnap_uuid) == 16, "sizeof blksnap_uuid");
_Static_assert(_Alignof(struct blksnap_uuid) == 1, "alignof blksnap_uuid");
_Static_assert(sizeof(struct blksnap_cbtinfo) == 40, "sizeof blksnap_cbtinfo");
_Static_assert(_Alignof(struct blksnap_cbtinfo) == 8, "alignof blksnap_cbtinfo");
_Static_assert(sizeof(struct blksnap_cbtmap) == 16, "sizeof blksnap_cbtmap");
_Static_assert(_Alignof(struct blksnap_cbtmap) == 8, "alignof blksnap_cbtmap");
_Static_assert(sizeof(struct blksnap_sectors) == 16, "sizeof blksnap_sectors");
_Static_assert(_Alignof(struct blksnap_sectors) == 8, "alignof blksnap_sectors");
_Static_assert(sizeof(struct blksnap_cbtdirty) == 16, "sizeof blksnap_cbtdirty");
_Static_assert(_Alignof(struct blksnap_cbtdirty) == 8, "alignof blksnap_cbtdirty");
_Static_assert(sizeof(struct blksnap_snapshotadd) == 16, "sizeof blksnap_snapshotadd");
_Static_assert(_Alignof(struct blksnap_snapshotadd) == 1, "alignof blksnap_snapshotadd");
_Static_assert(sizeof(struct blksnap_snapshotinfo) == 36, "sizeof blksnap_snapshotinfo");
_Static_assert(_Alignof(struct blksnap_snapshotinfo) == 4, "alignof blksnap_snapshotinfo");
_Static_assert(sizeof(struct blksnap_version) == 8, "sizeof blksnap_version");
_Static_assert(_Alignof(struct blksnap_version) == 2, "alignof blksnap_version");
_Static_assert(sizeof(struct blksnap_snapshot_append_storage) == 40, "sizeof blksnap_snapshot_append_storage");
_Static_assert(_Alignof(struct blksnap_snapshot_append_storage) == 8, "alignof blksnap_snapshot_append_storage");
_Static_assert(sizeof(struct blksnap_snapshot_collect) == 16, "sizeof blksnap_snapshot_collect");
_Static_assert(_Alignof(struct blksnap_snapshot_collect) == 8, "alignof blksnap_snapshot_collect");
_Static_assert(sizeof(struct blksnap_snapshot_event) == 4096, "sizeof blksnap_snapshot_event");
_Static_assert(_Alignof(struct blksnap_snapshot_event) == 8, "alignof blksnap_snapshot_event");
_Static_assert(sizeof(struct blksnap_event_low_free_space) == 8, "sizeof blksnap_event_low_free_space");
_Static_assert(_Alignof(struct blksnap_event_low_free_space) == 8, "alignof blksnap_event_low_free_space");
_Static_assert(sizeof(struct blksnap_event_corrupted) == 12, "sizeof blksnap_event_corrupted");
_Static_assert(_Alignof(struct blksnap_event_corrupted) == 4, "alignof blksnap_event_corrupted");

/* ---- field offsets and sizes ---- */
_Static_assert(offsetof(struct blkfilter_name, name) == 0, "offsetof blkfilter_name.name");
_Static_assert(FIELD_SIZE(struct blkfilter_name, name) == 32, "fieldsize blkfilter_name.name");
_Static_assert(offsetof(struct blkfilter_ctl, name) == 0, "offsetof blkfilter_ctl.name");
_Static_assert(FIELD_SIZE(struct blkfilter_ctl, name) == 32, "fieldsize blkfilter_ctl.name");
_Static_assert(offsetof(struct blkfilter_ctl, cmd) == 32, "offsetof blkfilter_ctl.cmd");
_Static_assert(FIELD_SIZE(struct blkfilter_ctl, cmd) == 4, "fieldsize blkfilter_ctl.cmd");
_Static_assert(offsetof(struct blkfilter_ctl, optlen) == 36, "offsetof blkfilter_ctl.optlen");
_Static_assert(FIELD_SIZE(struct blkfilter_ctl, optlen) == 4, "fieldsize blkfilter_ctl.optlen");
_Static_assert(offsetof(struct blkfilter_ctl, opt) == 40, "offsetof blkfilter_ctl.opt");
_Static_assert(FIELD_SIZE(struct blkfilter_ctl, opt) == 8, "fieldsize blkfilter_ctl.opt");
_Static_assert(offsetof(struct blksnap_uuid, b) == 0, "offsetof blksnap_uuid.b");
_Static_assert(FIELD_SIZE(struct blksnap_uuid, b) == 16, "fieldsize blksnap_uuid.b");
_Static_assert(offsetof(struct blksnap_cbtinfo, device_capacity) == 0, "offsetof blksnap_cbtinfo.device_capacity");
_Static_assert(FIELD_SIZE(struct blksnap_cbtinfo, device_capacity) == 8, "fieldsize blksnap_cbtinfo.device_capacity");
_Static_assert(offsetof(struct blksnap_cbtinfo, block_size) == 8, "offsetof blksnap_cbtinfo.block_size");
_Static_assert(FIELD_SIZE(struct blksnap_cbtinfo, block_size) == 4, "fieldsize blksnap_cbtinfo.block_size");
_Static_assert(offsetof(struct blksnap_cbtinfo, block_count) == 12, "offsetof blksnap_cbtinfo.block_count");
_Static_assert(FIELD_SIZE(struct blksnap_cbtinfo, block_count) == 4, "fieldsize blksnap_cbtinfo.block_count");
_Static_assert(offsetof(struct blksnap_cbtinfo, generation_id) == 16, "offsetof blksnap_cbtinfo.generation_id");
_Static_assert(FIELD_SIZE(struct blksnap_cbtinfo, generation_id) == 16, "fieldsize blksnap_cbtinfo.generation_id");
_Static_assert(offsetof(struct blksnap_cbtinfo, changes_number) == 32, "offsetof blksnap_cbtinfo.changes_number");
_Static_assert(FIELD_SIZE(struct blksnap_cbtinfo, changes_number) == 1, "fieldsize blksnap_cbtinfo.changes_number");
_Static_assert(offsetof(struct blksnap_cbtmap, offset) == 0, "offsetof blksnap_cbtmap.offset");
_Static_assert(FIELD_SIZE(struct blksnap_cbtmap, offset) == 4, "fieldsize blksnap_cbtmap.offset");
_Static_assert(offsetof(struct blksnap_cbtmap, length) == 4, "offsetof blksnap_cbtmap.length");
_Static_assert(FIELD_SIZE(struct blksnap_cbtmap, length) == 4, "fieldsize blksnap_cbtmap.length");
_Static_assert(offsetof(struct blksnap_cbtmap, buffer) == 8, "offsetof blksnap_cbtmap.buffer");
_Static_assert(FIELD_SIZE(struct blksnap_cbtmap, buffer) == 8, "fieldsize blksnap_cbtmap.buffer");
_Static_assert(offsetof(struct blksnap_sectors, offset) == 0, "offsetof blksnap_sectors.offset");
_Static_assert(FIELD_SIZE(struct blksnap_sectors, offset) == 8, "fieldsize blksnap_sectors.offset");
_Static_assert(offsetof(struct blksnap_sectors, count) == 8, "offsetof blksnap_sectors.count");
_Static_assert(FIELD_SIZE(struct blksnap_sectors, count) == 8, "fieldsize blksnap_sectors.count");
_Static_assert(offsetof(struct blksnap_cbtdirty, count) == 0, "offsetof blksnap_cbtdirty.count");
_Static_assert(FIELD_SIZE(struct blksnap_cbtdirty, count) == 4, "fieldsize blksnap_cbtdirty.count");
_Static_assert(offsetof(struct blksnap_cbtdirty, dirty_sectors) == 8, "offsetof blksnap_cbtdirty.dirty_sectors");
_Static_assert(FIELD_SIZE(struct blksnap_cbtdirty, dirty_sectors) == 8, "fieldsize blksnap_cbtdirty.dirty_sectors");
_Static_assert(offsetof(struct blksnap_snapshotadd, id) == 0, "offsetof blksnap_snapshotadd.id");
_Static_assert(FIELD_SIZE(struct blksnap_snapshotadd, id) == 16, "fieldsize blksnap_snapshotadd.id");
_Static_assert(offsetof(struct blksnap_snapshotinfo, error_code) == 0, "offsetof blksnap_snapshotinfo.error_code");
_Static_assert(FIELD_SIZE(struct blksnap_snapshotinfo, error_code) == 4, "fieldsize blksnap_snapshotinfo.error_code");
_Static_assert(offsetof(struct blksnap_snapshotinfo, image) == 4, "offsetof blksnap_snapshotinfo.image");
_Static_assert(FIELD_SIZE(struct blksnap_snapshotinfo, image) == 32, "fieldsize blksnap_snapshotinfo.image");
_Static_assert(offsetof(struct blksnap_version, major) == 0, "offsetof blksnap_version.major");
_Static_assert(FIELD_SIZE(struct blksnap_version, major) == 2, "fieldsize blksnap_version.major");
_Static_assert(offsetof(struct blksnap_version, minor) == 2, "offsetof blksnap_version.minor");
_Static_assert(FIELD_SIZE(struct blksnap_version, minor) == 2, "fieldsize blksnap_version.minor");
_Static_assert(offsetof(struct blksnap_version, revision) == 4, "offsetof blksnap_version.revision");
_Static_assert(FIELD_SIZE(struct blksnap_version, revision) == 2, "fieldsize blksnap_version.revision");
_Static_assert(offsetof(struct blksnap_version, build) == 6, "offsetof blksnap_version.build");
_Static_assert(FIELD_SIZE(struct blksnap_version, build) == 2, "fieldsize blksnap_version.build");
_Static_assert(offsetof(struct blksnap_snapshot_append_storage, id) == 0, "offsetof blksnap_snapshot_append_storage.id");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_append_storage, id) == 16, "fieldsize blksnap_snapshot_append_storage.id");
_Static_assert(offsetof(struct blksnap_snapshot_append_storage, bdev_path) == 16, "offsetof blksnap_snapshot_append_storage.bdev_path");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_append_storage, bdev_path) == 8, "fieldsize blksnap_snapshot_append_storage.bdev_path");
_Static_assert(offsetof(struct blksnap_snapshot_append_storage, bdev_path_size) == 24, "offsetof blksnap_snapshot_append_storage.bdev_path_size");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_append_storage, bdev_path_size) == 4, "fieldsize blksnap_snapshot_append_storage.bdev_path_size");
_Static_assert(offsetof(struct blksnap_snapshot_append_storage, count) == 28, "offsetof blksnap_snapshot_append_storage.count");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_append_storage, count) == 4, "fieldsize blksnap_snapshot_append_storage.count");
_Static_assert(offsetof(struct blksnap_snapshot_append_storage, ranges) == 32, "offsetof blksnap_snapshot_append_storage.ranges");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_append_storage, ranges) == 8, "fieldsize blksnap_snapshot_append_storage.ranges");
_Static_assert(offsetof(struct blksnap_snapshot_collect, count) == 0, "offsetof blksnap_snapshot_collect.count");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_collect, count) == 4, "fieldsize blksnap_snapshot_collect.count");
_Static_assert(offsetof(struct blksnap_snapshot_collect, ids) == 8, "offsetof blksnap_snapshot_collect.ids");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_collect, ids) == 8, "fieldsize blksnap_snapshot_collect.ids");
_Static_assert(offsetof(struct blksnap_snapshot_event, id) == 0, "offsetof blksnap_snapshot_event.id");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_event, id) == 16, "fieldsize blksnap_snapshot_event.id");
_Static_assert(offsetof(struct blksnap_snapshot_event, timeout_ms) == 16, "offsetof blksnap_snapshot_event.timeout_ms");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_event, timeout_ms) == 4, "fieldsize blksnap_snapshot_event.timeout_ms");
_Static_assert(offsetof(struct blksnap_snapshot_event, code) == 20, "offsetof blksnap_snapshot_event.code");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_event, code) == 4, "fieldsize blksnap_snapshot_event.code");
_Static_assert(offsetof(struct blksnap_snapshot_event, time_label) == 24, "offsetof blksnap_snapshot_event.time_label");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_event, time_label) == 8, "fieldsize blksnap_snapshot_event.time_label");
_Static_assert(offsetof(struct blksnap_snapshot_event, data) == 32, "offsetof blksnap_snapshot_event.data");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_event, data) == 4064, "fieldsize blksnap_snapshot_event.data");
_Static_assert(offsetof(struct blksnap_event_low_free_space, requested_nr_sect) == 0, "offsetof blksnap_event_low_free_space.requested_nr_sect");
_Static_assert(FIELD_SIZE(struct blksnap_event_low_free_space, requested_nr_sect) == 8, "fieldsize blksnap_event_low_free_space.requested_nr_sect");
_Static_assert(offsetof(struct blksnap_event_corrupted, dev_id_mj) == 0, "offsetof blksnap_event_corrupted.dev_id_mj");
_Static_assert(FIELD_SIZE(struct blksnap_event_corrupted, dev_id_mj) == 4, "fieldsize blksnap_event_corrupted.dev_id_mj");
_Static_assert(offsetof(struct blksnap_event_corrupted, dev_id_mn) == 4, "offsetof blksnap_event_corrupted.dev_id_mn");
_Static_assert(FIELD_SIZE(struct blksnap_event_corrupted, dev_id_mn) == 4, "fieldsize blksnap_event_corrupted.dev_id_mn");
_Static_assert(offsetof(struct blksnap_event_corrupted, err_code) == 8, "offsetof blksnap_event_corrupted.err_code");
_Static_assert(FIELD_SIZE(struct blksnap_event_corrupted, err_code) == 4, "fieldsize blksnap_event_corrupted.err_code");

/* ---- request numbers: the kernel macros and the Swift-visible constants ---- */
_Static_assert(IOCTL_BLKSNAP_VERSION == 0x40085600UL, "IOCTL_BLKSNAP_VERSION");
_Static_assert(_IOC_NR(IOCTL_BLKSNAP_VERSION) == 0 && _IOC_SIZE(IOCTL_BLKSNAP_VERSION) == 8, "IOCTL_BLKSNAP_VERSION nr/size");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_CREATE == 0x40105601UL, "IOCTL_BLKSNAP_SNAPSHOT_CREATE");
_Static_assert(_IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_CREATE) == 1 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_CREATE) == 16, "IOCTL_BLKSNAP_SNAPSHOT_CREATE nr/size");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_DESTROY == 0x80105602UL, "IOCTL_BLKSNAP_SNAPSHOT_DESTROY");
_Static_assert(_IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_DESTROY) == 2 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_DESTROY) == 16, "IOCTL_BLKSNAP_SNAPSHOT_DESTROY nr/size");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE == 0x40285603UL, "IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE");
_Static_assert(_IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE) == 3 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE) == 40, "IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE nr/size");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_TAKE == 0x80105604UL, "IOCTL_BLKSNAP_SNAPSHOT_TAKE");
_Static_assert(_IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_TAKE) == 4 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_TAKE) == 16, "IOCTL_BLKSNAP_SNAPSHOT_TAKE nr/size");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_COLLECT == 0x40105605UL, "IOCTL_BLKSNAP_SNAPSHOT_COLLECT");
_Static_assert(_IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_COLLECT) == 5 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_COLLECT) == 16, "IOCTL_BLKSNAP_SNAPSHOT_COLLECT nr/size");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT == 0x50005606UL, "IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT");
_Static_assert(_IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT) == 6 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT) == 4096, "IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT nr/size");
_Static_assert(BLKFILTER_ATTACH == 0xc020128cUL, "BLKFILTER_ATTACH");
_Static_assert(_IOC_NR(BLKFILTER_ATTACH) == 140 && _IOC_SIZE(BLKFILTER_ATTACH) == 32, "BLKFILTER_ATTACH nr/size");
_Static_assert(BLKFILTER_DETACH == 0xc020128dUL, "BLKFILTER_DETACH");
_Static_assert(_IOC_NR(BLKFILTER_DETACH) == 141 && _IOC_SIZE(BLKFILTER_DETACH) == 32, "BLKFILTER_DETACH nr/size");
_Static_assert(BLKFILTER_CTL == 0xc030128eUL, "BLKFILTER_CTL");
_Static_assert(_IOC_NR(BLKFILTER_CTL) == 142 && _IOC_SIZE(BLKFILTER_CTL) == 48, "BLKFILTER_CTL nr/size");
_Static_assert(BLKSNAP == 0x56, "BLKSNAP magic");
_Static_assert(BLKFILTER_NAME_LENGTH == 32, "BLKFILTER_NAME_LENGTH");
_Static_assert(UUID_SIZE == 16, "UUID_SIZE");
_Static_assert(IMAGE_DISK_NAME_LEN == 32, "IMAGE_DISK_NAME_LEN");
_Static_assert(BLKSNAP_EVENT_COPY_IN_SIZE == 20, "copy_in blksnap_snapshot_event");
_Static_assert(BLKSNAP_EVENT_DATA_CAPACITY == 4064, "event_data_capacity");
_Static_assert(_IO(0x12, 104) == 0x1268, "BLKSSZGET");
_Static_assert(_IOR(0x12, 114, __u64) == 0x80081272UL, "BLKGETSIZE64");

/* ---- enum values ---- */
_Static_assert(blkfilter_ctl_blksnap_cbtinfo == 0, "blkfilter_ctl_blksnap_cbtinfo");
_Static_assert(blkfilter_ctl_blksnap_cbtmap == 1, "blkfilter_ctl_blksnap_cbtmap");
_Static_assert(blkfilter_ctl_blksnap_cbtdirty == 2, "blkfilter_ctl_blksnap_cbtdirty");
_Static_assert(blkfilter_ctl_blksnap_snapshotadd == 3, "blkfilter_ctl_blksnap_snapshotadd");
_Static_assert(blkfilter_ctl_blksnap_snapshotinfo == 4, "blkfilter_ctl_blksnap_snapshotinfo");
_Static_assert(blksnap_ioctl_version == 0, "blksnap_ioctl_version");
_Static_assert(blksnap_ioctl_snapshot_create == 1, "blksnap_ioctl_snapshot_create");
_Static_assert(blksnap_ioctl_snapshot_destroy == 2, "blksnap_ioctl_snapshot_destroy");
_Static_assert(blksnap_ioctl_snapshot_append_storage == 3, "blksnap_ioctl_snapshot_append_storage");
_Static_assert(blksnap_ioctl_snapshot_take == 4, "blksnap_ioctl_snapshot_take");
_Static_assert(blksnap_ioctl_snapshot_collect == 5, "blksnap_ioctl_snapshot_collect");
_Static_assert(blksnap_ioctl_snapshot_wait_event == 6, "blksnap_ioctl_snapshot_wait_event");
_Static_assert(blksnap_event_code_low_free_space == 0, "blksnap_event_code_low_free_space");
_Static_assert(blksnap_event_code_corrupted == 1, "blksnap_event_code_corrupted");

/* ---- lookup tables ---- */
struct type_row { const char *name; long size; long align; };
static const struct type_row types[] = {
	{ "blkfilter_name", (long)sizeof(struct blkfilter_name), (long)_Alignof(struct blkfilter_name) },
	{ "blkfilter_ctl", (long)sizeof(struct blkfilter_ctl), (long)_Alignof(struct blkfilter_ctl) },
	{ "blksnap_uuid", (long)sizeof(struct blksnap_uuid), (long)_Alignof(struct blksnap_uuid) },
	{ "blksnap_cbtinfo", (long)sizeof(struct blksnap_cbtinfo), (long)_Alignof(struct blksnap_cbtinfo) },
	{ "blksnap_cbtmap", (long)sizeof(struct blksnap_cbtmap), (long)_Alignof(struct blksnap_cbtmap) },
	{ "blksnap_sectors", (long)sizeof(struct blksnap_sectors), (long)_Alignof(struct blksnap_sectors) },
	{ "blksnap_cbtdirty", (long)sizeof(struct blksnap_cbtdirty), (long)_Alignof(struct blksnap_cbtdirty) },
	{ "blksnap_snapshotadd", (long)sizeof(struct blksnap_snapshotadd), (long)_Alignof(struct blksnap_snapshotadd) },
	{ "blksnap_snapshotinfo", (long)sizeof(struct blksnap_snapshotinfo), (long)_Alignof(struct blksnap_snapshotinfo) },
	{ "blksnap_version", (long)sizeof(struct blksnap_version), (long)_Alignof(struct blksnap_version) },
	{ "blksnap_snapshot_append_storage", (long)sizeof(struct blksnap_snapshot_append_storage), (long)_Alignof(struct blksnap_snapshot_append_storage) },
	{ "blksnap_snapshot_collect", (long)sizeof(struct blksnap_snapshot_collect), (long)_Alignof(struct blksnap_snapshot_collect) },
	{ "blksnap_snapshot_event", (long)sizeof(struct blksnap_snapshot_event), (long)_Alignof(struct blksnap_snapshot_event) },
	{ "blksnap_event_low_free_space", (long)sizeof(struct blksnap_event_low_free_space), (long)_Alignof(struct blksnap_event_low_free_space) },
	{ "blksnap_event_corrupted", (long)sizeof(struct blksnap_event_corrupted), (long)_Alignof(struct blksnap_event_corrupted) },
};

struct field_row { const char *type; const char *field; long offset; long size; };
static const struct field_row fields[] = {
	{ "blkfilter_name", "name", (long)offsetof(struct blkfilter_name, name), (long)FIELD_SIZE(struct blkfilter_name, name) },
	{ "blkfilter_ctl", "name", (long)offsetof(struct blkfilter_ctl, name), (long)FIELD_SIZE(struct blkfilter_ctl, name) },
	{ "blkfilter_ctl", "cmd", (long)offsetof(struct blkfilter_ctl, cmd), (long)FIELD_SIZE(struct blkfilter_ctl, cmd) },
	{ "blkfilter_ctl", "optlen", (long)offsetof(struct blkfilter_ctl, optlen), (long)FIELD_SIZE(struct blkfilter_ctl, optlen) },
	{ "blkfilter_ctl", "opt", (long)offsetof(struct blkfilter_ctl, opt), (long)FIELD_SIZE(struct blkfilter_ctl, opt) },
	{ "blksnap_uuid", "b", (long)offsetof(struct blksnap_uuid, b), (long)FIELD_SIZE(struct blksnap_uuid, b) },
	{ "blksnap_cbtinfo", "device_capacity", (long)offsetof(struct blksnap_cbtinfo, device_capacity), (long)FIELD_SIZE(struct blksnap_cbtinfo, device_capacity) },
	{ "blksnap_cbtinfo", "block_size", (long)offsetof(struct blksnap_cbtinfo, block_size), (long)FIELD_SIZE(struct blksnap_cbtinfo, block_size) },
	{ "blksnap_cbtinfo", "block_count", (long)offsetof(struct blksnap_cbtinfo, block_count), (long)FIELD_SIZE(struct blksnap_cbtinfo, block_count) },
	{ "blksnap_cbtinfo", "generation_id", (long)offsetof(struct blksnap_cbtinfo, generation_id), (long)FIELD_SIZE(struct blksnap_cbtinfo, generation_id) },
	{ "blksnap_cbtinfo", "changes_number", (long)offsetof(struct blksnap_cbtinfo, changes_number), (long)FIELD_SIZE(struct blksnap_cbtinfo, changes_number) },
	{ "blksnap_cbtmap", "offset", (long)offsetof(struct blksnap_cbtmap, offset), (long)FIELD_SIZE(struct blksnap_cbtmap, offset) },
	{ "blksnap_cbtmap", "length", (long)offsetof(struct blksnap_cbtmap, length), (long)FIELD_SIZE(struct blksnap_cbtmap, length) },
	{ "blksnap_cbtmap", "buffer", (long)offsetof(struct blksnap_cbtmap, buffer), (long)FIELD_SIZE(struct blksnap_cbtmap, buffer) },
	{ "blksnap_sectors", "offset", (long)offsetof(struct blksnap_sectors, offset), (long)FIELD_SIZE(struct blksnap_sectors, offset) },
	{ "blksnap_sectors", "count", (long)offsetof(struct blksnap_sectors, count), (long)FIELD_SIZE(struct blksnap_sectors, count) },
	{ "blksnap_cbtdirty", "count", (long)offsetof(struct blksnap_cbtdirty, count), (long)FIELD_SIZE(struct blksnap_cbtdirty, count) },
	{ "blksnap_cbtdirty", "dirty_sectors", (long)offsetof(struct blksnap_cbtdirty, dirty_sectors), (long)FIELD_SIZE(struct blksnap_cbtdirty, dirty_sectors) },
	{ "blksnap_snapshotadd", "id", (long)offsetof(struct blksnap_snapshotadd, id), (long)FIELD_SIZE(struct blksnap_snapshotadd, id) },
	{ "blksnap_snapshotinfo", "error_code", (long)offsetof(struct blksnap_snapshotinfo, error_code), (long)FIELD_SIZE(struct blksnap_snapshotinfo, error_code) },
	{ "blksnap_snapshotinfo", "image", (long)offsetof(struct blksnap_snapshotinfo, image), (long)FIELD_SIZE(struct blksnap_snapshotinfo, image) },
	{ "blksnap_version", "major", (long)offsetof(struct blksnap_version, major), (long)FIELD_SIZE(struct blksnap_version, major) },
	{ "blksnap_version", "minor", (long)offsetof(struct blksnap_version, minor), (long)FIELD_SIZE(struct blksnap_version, minor) },
	{ "blksnap_version", "revision", (long)offsetof(struct blksnap_version, revision), (long)FIELD_SIZE(struct blksnap_version, revision) },
	{ "blksnap_version", "build", (long)offsetof(struct blksnap_version, build), (long)FIELD_SIZE(struct blksnap_version, build) },
	{ "blksnap_snapshot_append_storage", "id", (long)offsetof(struct blksnap_snapshot_append_storage, id), (long)FIELD_SIZE(struct blksnap_snapshot_append_storage, id) },
	{ "blksnap_snapshot_append_storage", "bdev_path", (long)offsetof(struct blksnap_snapshot_append_storage, bdev_path), (long)FIELD_SIZE(struct blksnap_snapshot_append_storage, bdev_path) },
	{ "blksnap_snapshot_append_storage", "bdev_path_size", (long)offsetof(struct blksnap_snapshot_append_storage, bdev_path_size), (long)FIELD_SIZE(struct blksnap_snapshot_append_storage, bdev_path_size) },
	{ "blksnap_snapshot_append_storage", "count", (long)offsetof(struct blksnap_snapshot_append_storage, count), (long)FIELD_SIZE(struct blksnap_snapshot_append_storage, count) },
	{ "blksnap_snapshot_append_storage", "ranges", (long)offsetof(struct blksnap_snapshot_append_storage, ranges), (long)FIELD_SIZE(struct blksnap_snapshot_append_storage, ranges) },
	{ "blksnap_snapshot_collect", "count", (long)offsetof(struct blksnap_snapshot_collect, count), (long)FIELD_SIZE(struct blksnap_snapshot_collect, count) },
	{ "blksnap_snapshot_collect", "ids", (long)offsetof(struct blksnap_snapshot_collect, ids), (long)FIELD_SIZE(struct blksnap_snapshot_collect, ids) },
	{ "blksnap_snapshot_event", "id", (long)offsetof(struct blksnap_snapshot_event, id), (long)FIELD_SIZE(struct blksnap_snapshot_event, id) },
	{ "blksnap_snapshot_event", "timeout_ms", (long)offsetof(struct blksnap_snapshot_event, timeout_ms), (long)FIELD_SIZE(struct blksnap_snapshot_event, timeout_ms) },
	{ "blksnap_snapshot_event", "code", (long)offsetof(struct blksnap_snapshot_event, code), (long)FIELD_SIZE(struct blksnap_snapshot_event, code) },
	{ "blksnap_snapshot_event", "time_label", (long)offsetof(struct blksnap_snapshot_event, time_label), (long)FIELD_SIZE(struct blksnap_snapshot_event, time_label) },
	{ "blksnap_snapshot_event", "data", (long)offsetof(struct blksnap_snapshot_event, data), (long)FIELD_SIZE(struct blksnap_snapshot_event, data) },
	{ "blksnap_event_low_free_space", "requested_nr_sect", (long)offsetof(struct blksnap_event_low_free_space, requested_nr_sect), (long)FIELD_SIZE(struct blksnap_event_low_free_space, requested_nr_sect) },
	{ "blksnap_event_corrupted", "dev_id_mj", (long)offsetof(struct blksnap_event_corrupted, dev_id_mj), (long)FIELD_SIZE(struct blksnap_event_corrupted, dev_id_mj) },
	{ "blksnap_event_corrupted", "dev_id_mn", (long)offsetof(struct blksnap_event_corrupted, dev_id_mn), (long)FIELD_SIZE(struct blksnap_event_corrupted, dev_id_mn) },
	{ "blksnap_event_corrupted", "err_code", (long)offsetof(struct blksnap_event_corrupted, err_code), (long)FIELD_SIZE(struct blksnap_event_corrupted, err_code) },
};

struct request_row { const char *name; unsigned long value; };
static const struct request_row requests[] = {
	{ "IOCTL_BLKSNAP_VERSION", IOCTL_BLKSNAP_VERSION },
	{ "IOCTL_BLKSNAP_SNAPSHOT_CREATE", IOCTL_BLKSNAP_SNAPSHOT_CREATE },
	{ "IOCTL_BLKSNAP_SNAPSHOT_DESTROY", IOCTL_BLKSNAP_SNAPSHOT_DESTROY },
	{ "IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE", IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE },
	{ "IOCTL_BLKSNAP_SNAPSHOT_TAKE", IOCTL_BLKSNAP_SNAPSHOT_TAKE },
	{ "IOCTL_BLKSNAP_SNAPSHOT_COLLECT", IOCTL_BLKSNAP_SNAPSHOT_COLLECT },
	{ "IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT", IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT },
	{ "BLKFILTER_ATTACH", BLKFILTER_ATTACH },
	{ "BLKFILTER_DETACH", BLKFILTER_DETACH },
	{ "BLKFILTER_CTL", BLKFILTER_CTL },
	{ "BLKSSZGET", _IO(0x12, 104) },
	{ "BLKGETSIZE64", _IOR(0x12, 114, __u64) },
};

struct constant_row { const char *name; long value; };
static const struct constant_row constants[] = {
	{ "blkfilter_ctl_blksnap_cbtinfo", (long)blkfilter_ctl_blksnap_cbtinfo },
	{ "blkfilter_ctl_blksnap_cbtmap", (long)blkfilter_ctl_blksnap_cbtmap },
	{ "blkfilter_ctl_blksnap_cbtdirty", (long)blkfilter_ctl_blksnap_cbtdirty },
	{ "blkfilter_ctl_blksnap_snapshotadd", (long)blkfilter_ctl_blksnap_snapshotadd },
	{ "blkfilter_ctl_blksnap_snapshotinfo", (long)blkfilter_ctl_blksnap_snapshotinfo },
	{ "blksnap_ioctl_version", (long)blksnap_ioctl_version },
	{ "blksnap_ioctl_snapshot_create", (long)blksnap_ioctl_snapshot_create },
	{ "blksnap_ioctl_snapshot_destroy", (long)blksnap_ioctl_snapshot_destroy },
	{ "blksnap_ioctl_snapshot_append_storage", (long)blksnap_ioctl_snapshot_append_storage },
	{ "blksnap_ioctl_snapshot_take", (long)blksnap_ioctl_snapshot_take },
	{ "blksnap_ioctl_snapshot_collect", (long)blksnap_ioctl_snapshot_collect },
	{ "blksnap_ioctl_snapshot_wait_event", (long)blksnap_ioctl_snapshot_wait_event },
	{ "blksnap_event_code_low_free_space", (long)blksnap_event_code_low_free_space },
	{ "blksnap_event_code_corrupted", (long)blksnap_event_code_corrupted },
	{ "BLKSNAP", (long)BLKSNAP },
	{ "BLKFILTER_NAME_LENGTH", (long)BLKFILTER_NAME_LENGTH },
	{ "UUID_SIZE", (long)UUID_SIZE },
	{ "IMAGE_DISK_NAME_LEN", (long)IMAGE_DISK_NAME_LEN },
	{ "BLKSNAP_EVENT_COPY_IN_SIZE", (long)BLKSNAP_EVENT_COPY_IN_SIZE },
	{ "BLKSNAP_EVENT_DATA_CAPACITY", (long)BLKSNAP_EVENT_DATA_CAPACITY },
};

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

long blksnap_abi_sizeof(const char *type)
{
	for (size_t i = 0; i < COUNT(types); i++)
		if (strcmp(types[i].name, type) == 0)
			return types[i].size;
	return -1;
}

long blksnap_abi_alignof(const char *type)
{
	for (size_t i = 0; i < COUNT(types); i++)
		if (strcmp(types[i].name, type) == 0)
			return types[i].align;
	return -1;
}

long blksnap_abi_offsetof(const char *type, const char *field)
{
	for (size_t i = 0; i < COUNT(fields); i++)
		if (strcmp(fields[i].type, type) == 0 && strcmp(fields[i].field, field) == 0)
			return fields[i].offset;
	return -1;
}

long blksnap_abi_fieldsize(const char *type, const char *field)
{
	for (size_t i = 0; i < COUNT(fields); i++)
		if (strcmp(fields[i].type, type) == 0 && strcmp(fields[i].field, field) == 0)
			return fields[i].size;
	return -1;
}

unsigned long blksnap_abi_request(const char *name)
{
	for (size_t i = 0; i < COUNT(requests); i++)
		if (strcmp(requests[i].name, name) == 0)
			return requests[i].value;
	return 0;
}

long blksnap_abi_constant(const char *name)
{
	for (size_t i = 0; i < COUNT(constants); i++)
		if (strcmp(constants[i].name, name) == 0)
			return constants[i].value;
	return -1;
}

int blksnap_abi_type_count(void) { return (int)COUNT(types); }
int blksnap_abi_field_count(void) { return (int)COUNT(fields); }
int blksnap_abi_request_count(void) { return (int)COUNT(requests); }
