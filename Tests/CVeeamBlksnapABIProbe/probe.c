/*
 * probe.c - the VAL-7.0 ("veeamblksnap" + bdevfilter) ABI, checked by the C
 * compiler and reported to Swift.
 *
 * Every size, alignment, field offset, field size, request number (with its
 * dir/type/nr/size fields) and enum value below is the x86_64 value given by
 * /work/shared/spec/veeam-field-modules-abi.txt (compiled from the module
 * headers with gcc 12.2). The _Static_asserts make a layout drift a compile
 * error of the test build; the lookup functions let the Swift tests compare
 * the same values with what Swift imports from the header.
 */
#include "CVeeamBlksnapABIProbe.h"
#include <CVeeamBlksnapUAPI.h>
#include <stddef.h>
#include <string.h>

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

_Static_assert(sizeof(void *) == 8 && sizeof(unsigned long) == 8, "the expected values are those of an LP64 target (x86_64)");

/* ---- sizes and alignments ---- */
_Static_assert(sizeof(struct bdevfilter_name) == 40, "sizeof bdevfilter_name");
_Static_assert(_Alignof(struct bdevfilter_name) == 8, "alignof bdevfilter_name");
_Static_assert(sizeof(struct bdevfilter_ctl) == 56, "sizeof bdevfilter_ctl");
_Static_assert(_Alignof(struct bdevfilter_ctl) == 8, "alignof bdevfilter_ctl");
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
_Static_assert(sizeof(struct blksnap_snapshot_create) == 32, "sizeof blksnap_snapshot_create");
_Static_assert(_Alignof(struct blksnap_snapshot_create) == 8, "alignof blksnap_snapshot_create");
_Static_assert(sizeof(struct blksnap_snapshot_collect) == 16, "sizeof blksnap_snapshot_collect");
_Static_assert(_Alignof(struct blksnap_snapshot_collect) == 8, "alignof blksnap_snapshot_collect");
_Static_assert(sizeof(struct blksnap_snapshot_event) == 4096, "sizeof blksnap_snapshot_event");
_Static_assert(_Alignof(struct blksnap_snapshot_event) == 8, "alignof blksnap_snapshot_event");
_Static_assert(sizeof(struct blksnap_event_corrupted) == 12, "sizeof blksnap_event_corrupted");
_Static_assert(_Alignof(struct blksnap_event_corrupted) == 4, "alignof blksnap_event_corrupted");
_Static_assert(sizeof(struct blksnap_event_low_free_space) == 8, "sizeof blksnap_event_low_free_space");
_Static_assert(_Alignof(struct blksnap_event_low_free_space) == 8, "alignof blksnap_event_low_free_space");
_Static_assert(sizeof(struct blksnap_mod) == 40, "sizeof blksnap_mod");
_Static_assert(_Alignof(struct blksnap_mod) == 8, "alignof blksnap_mod");
_Static_assert(sizeof(struct blksnap_setlog) == 24, "sizeof blksnap_setlog");
_Static_assert(_Alignof(struct blksnap_setlog) == 8, "alignof blksnap_setlog");
_Static_assert(sizeof(struct blksnap_snapshot_append_storage) == 40, "sizeof blksnap_snapshot_append_storage");
_Static_assert(_Alignof(struct blksnap_snapshot_append_storage) == 8, "alignof blksnap_snapshot_append_storage");

/* ---- field offsets and sizes ---- */
_Static_assert(offsetof(struct bdevfilter_name, devpath) == 0, "offsetof bdevfilter_name.devpath");
_Static_assert(FIELD_SIZE(struct bdevfilter_name, devpath) == 8, "fieldsize bdevfilter_name.devpath");
_Static_assert(offsetof(struct bdevfilter_name, name) == 8, "offsetof bdevfilter_name.name");
_Static_assert(FIELD_SIZE(struct bdevfilter_name, name) == 32, "fieldsize bdevfilter_name.name");
_Static_assert(offsetof(struct bdevfilter_ctl, devpath) == 0, "offsetof bdevfilter_ctl.devpath");
_Static_assert(FIELD_SIZE(struct bdevfilter_ctl, devpath) == 8, "fieldsize bdevfilter_ctl.devpath");
_Static_assert(offsetof(struct bdevfilter_ctl, name) == 8, "offsetof bdevfilter_ctl.name");
_Static_assert(FIELD_SIZE(struct bdevfilter_ctl, name) == 32, "fieldsize bdevfilter_ctl.name");
_Static_assert(offsetof(struct bdevfilter_ctl, cmd) == 40, "offsetof bdevfilter_ctl.cmd");
_Static_assert(FIELD_SIZE(struct bdevfilter_ctl, cmd) == 4, "fieldsize bdevfilter_ctl.cmd");
_Static_assert(offsetof(struct bdevfilter_ctl, optlen) == 44, "offsetof bdevfilter_ctl.optlen");
_Static_assert(FIELD_SIZE(struct bdevfilter_ctl, optlen) == 4, "fieldsize bdevfilter_ctl.optlen");
_Static_assert(offsetof(struct bdevfilter_ctl, opt) == 48, "offsetof bdevfilter_ctl.opt");
_Static_assert(FIELD_SIZE(struct bdevfilter_ctl, opt) == 8, "fieldsize bdevfilter_ctl.opt");
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
_Static_assert(offsetof(struct blksnap_snapshot_create, diff_storage_limit_sect) == 0, "offsetof blksnap_snapshot_create.diff_storage_limit_sect");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_create, diff_storage_limit_sect) == 8, "fieldsize blksnap_snapshot_create.diff_storage_limit_sect");
_Static_assert(offsetof(struct blksnap_snapshot_create, diff_storage_filename) == 8, "offsetof blksnap_snapshot_create.diff_storage_filename");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_create, diff_storage_filename) == 8, "fieldsize blksnap_snapshot_create.diff_storage_filename");
_Static_assert(offsetof(struct blksnap_snapshot_create, id) == 16, "offsetof blksnap_snapshot_create.id");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_create, id) == 16, "fieldsize blksnap_snapshot_create.id");
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
_Static_assert(offsetof(struct blksnap_event_corrupted, dev_id_mj) == 0, "offsetof blksnap_event_corrupted.dev_id_mj");
_Static_assert(FIELD_SIZE(struct blksnap_event_corrupted, dev_id_mj) == 4, "fieldsize blksnap_event_corrupted.dev_id_mj");
_Static_assert(offsetof(struct blksnap_event_corrupted, dev_id_mn) == 4, "offsetof blksnap_event_corrupted.dev_id_mn");
_Static_assert(FIELD_SIZE(struct blksnap_event_corrupted, dev_id_mn) == 4, "fieldsize blksnap_event_corrupted.dev_id_mn");
_Static_assert(offsetof(struct blksnap_event_corrupted, err_code) == 8, "offsetof blksnap_event_corrupted.err_code");
_Static_assert(FIELD_SIZE(struct blksnap_event_corrupted, err_code) == 4, "fieldsize blksnap_event_corrupted.err_code");
_Static_assert(offsetof(struct blksnap_event_low_free_space, requested_nr_sect) == 0, "offsetof blksnap_event_low_free_space.requested_nr_sect");
_Static_assert(FIELD_SIZE(struct blksnap_event_low_free_space, requested_nr_sect) == 8, "fieldsize blksnap_event_low_free_space.requested_nr_sect");
_Static_assert(offsetof(struct blksnap_mod, compatibility_flags) == 0, "offsetof blksnap_mod.compatibility_flags");
_Static_assert(FIELD_SIZE(struct blksnap_mod, compatibility_flags) == 8, "fieldsize blksnap_mod.compatibility_flags");
_Static_assert(offsetof(struct blksnap_mod, name) == 8, "offsetof blksnap_mod.name");
_Static_assert(FIELD_SIZE(struct blksnap_mod, name) == 32, "fieldsize blksnap_mod.name");
_Static_assert(offsetof(struct blksnap_setlog, tz_minuteswest) == 0, "offsetof blksnap_setlog.tz_minuteswest");
_Static_assert(FIELD_SIZE(struct blksnap_setlog, tz_minuteswest) == 4, "fieldsize blksnap_setlog.tz_minuteswest");
_Static_assert(offsetof(struct blksnap_setlog, level) == 4, "offsetof blksnap_setlog.level");
_Static_assert(FIELD_SIZE(struct blksnap_setlog, level) == 4, "fieldsize blksnap_setlog.level");
_Static_assert(offsetof(struct blksnap_setlog, filepath_size) == 8, "offsetof blksnap_setlog.filepath_size");
_Static_assert(FIELD_SIZE(struct blksnap_setlog, filepath_size) == 4, "fieldsize blksnap_setlog.filepath_size");
_Static_assert(offsetof(struct blksnap_setlog, filepath) == 16, "offsetof blksnap_setlog.filepath");
_Static_assert(FIELD_SIZE(struct blksnap_setlog, filepath) == 8, "fieldsize blksnap_setlog.filepath");
_Static_assert(offsetof(struct blksnap_snapshot_append_storage, id) == 0, "offsetof blksnap_snapshot_append_storage.id");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_append_storage, id) == 16, "fieldsize blksnap_snapshot_append_storage.id");
_Static_assert(offsetof(struct blksnap_snapshot_append_storage, devpath) == 16, "offsetof blksnap_snapshot_append_storage.devpath");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_append_storage, devpath) == 8, "fieldsize blksnap_snapshot_append_storage.devpath");
_Static_assert(offsetof(struct blksnap_snapshot_append_storage, count) == 24, "offsetof blksnap_snapshot_append_storage.count");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_append_storage, count) == 4, "fieldsize blksnap_snapshot_append_storage.count");
_Static_assert(offsetof(struct blksnap_snapshot_append_storage, ranges) == 32, "offsetof blksnap_snapshot_append_storage.ranges");
_Static_assert(FIELD_SIZE(struct blksnap_snapshot_append_storage, ranges) == 8, "fieldsize blksnap_snapshot_append_storage.ranges");

/* ---- request numbers, and their dir/type/nr/size fields ---- */
_Static_assert(IOCTL_BLKSNAP_VERSION == 0x80085600UL, "IOCTL_BLKSNAP_VERSION");
_Static_assert(_IOC_DIR(IOCTL_BLKSNAP_VERSION) == 2 && _IOC_TYPE(IOCTL_BLKSNAP_VERSION) == 0x56 && _IOC_NR(IOCTL_BLKSNAP_VERSION) == 0 && _IOC_SIZE(IOCTL_BLKSNAP_VERSION) == 8, "IOCTL_BLKSNAP_VERSION fields");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_CREATE == 0xc0205601UL, "IOCTL_BLKSNAP_SNAPSHOT_CREATE");
_Static_assert(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_CREATE) == 3 && _IOC_TYPE(IOCTL_BLKSNAP_SNAPSHOT_CREATE) == 0x56 && _IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_CREATE) == 1 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_CREATE) == 32, "IOCTL_BLKSNAP_SNAPSHOT_CREATE fields");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_DESTROY == 0x40105602UL, "IOCTL_BLKSNAP_SNAPSHOT_DESTROY");
_Static_assert(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_DESTROY) == 1 && _IOC_TYPE(IOCTL_BLKSNAP_SNAPSHOT_DESTROY) == 0x56 && _IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_DESTROY) == 2 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_DESTROY) == 16, "IOCTL_BLKSNAP_SNAPSHOT_DESTROY fields");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_TAKE == 0x40105603UL, "IOCTL_BLKSNAP_SNAPSHOT_TAKE");
_Static_assert(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_TAKE) == 1 && _IOC_TYPE(IOCTL_BLKSNAP_SNAPSHOT_TAKE) == 0x56 && _IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_TAKE) == 3 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_TAKE) == 16, "IOCTL_BLKSNAP_SNAPSHOT_TAKE fields");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_COLLECT == 0x80105604UL, "IOCTL_BLKSNAP_SNAPSHOT_COLLECT");
_Static_assert(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_COLLECT) == 2 && _IOC_TYPE(IOCTL_BLKSNAP_SNAPSHOT_COLLECT) == 0x56 && _IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_COLLECT) == 4 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_COLLECT) == 16, "IOCTL_BLKSNAP_SNAPSHOT_COLLECT fields");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT == 0x90005605UL, "IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT");
_Static_assert(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT) == 2 && _IOC_TYPE(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT) == 0x56 && _IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT) == 5 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT) == 4096, "IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT fields");
_Static_assert(IOCTL_BLKSNAP_MOD == 0x80285620UL, "IOCTL_BLKSNAP_MOD");
_Static_assert(_IOC_DIR(IOCTL_BLKSNAP_MOD) == 2 && _IOC_TYPE(IOCTL_BLKSNAP_MOD) == 0x56 && _IOC_NR(IOCTL_BLKSNAP_MOD) == 32 && _IOC_SIZE(IOCTL_BLKSNAP_MOD) == 40, "IOCTL_BLKSNAP_MOD fields");
_Static_assert(IOCTL_BLKSNAP_SETLOG == 0x40185621UL, "IOCTL_BLKSNAP_SETLOG");
_Static_assert(_IOC_DIR(IOCTL_BLKSNAP_SETLOG) == 1 && _IOC_TYPE(IOCTL_BLKSNAP_SETLOG) == 0x56 && _IOC_NR(IOCTL_BLKSNAP_SETLOG) == 33 && _IOC_SIZE(IOCTL_BLKSNAP_SETLOG) == 24, "IOCTL_BLKSNAP_SETLOG fields");
_Static_assert(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE == 0x40285622UL, "IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE");
_Static_assert(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE) == 1 && _IOC_TYPE(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE) == 0x56 && _IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE) == 34 && _IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE) == 40, "IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE fields");
_Static_assert(BDEVFILTER_ATTACH == 0xc028468cUL, "BDEVFILTER_ATTACH");
_Static_assert(_IOC_DIR(BDEVFILTER_ATTACH) == 3 && _IOC_TYPE(BDEVFILTER_ATTACH) == 0x46 && _IOC_NR(BDEVFILTER_ATTACH) == 140 && _IOC_SIZE(BDEVFILTER_ATTACH) == 40, "BDEVFILTER_ATTACH fields");
_Static_assert(BDEVFILTER_DETACH == 0xc028468dUL, "BDEVFILTER_DETACH");
_Static_assert(_IOC_DIR(BDEVFILTER_DETACH) == 3 && _IOC_TYPE(BDEVFILTER_DETACH) == 0x46 && _IOC_NR(BDEVFILTER_DETACH) == 141 && _IOC_SIZE(BDEVFILTER_DETACH) == 40, "BDEVFILTER_DETACH fields");
_Static_assert(BDEVFILTER_CTL == 0xc038468eUL, "BDEVFILTER_CTL");
_Static_assert(_IOC_DIR(BDEVFILTER_CTL) == 3 && _IOC_TYPE(BDEVFILTER_CTL) == 0x46 && _IOC_NR(BDEVFILTER_CTL) == 142 && _IOC_SIZE(BDEVFILTER_CTL) == 56, "BDEVFILTER_CTL fields");

/* ---- enum values ---- */
_Static_assert(BLKFILTER_CTL_BLKSNAP_CBTINFO == 0, "BLKFILTER_CTL_BLKSNAP_CBTINFO");
_Static_assert(BLKFILTER_CTL_BLKSNAP_CBTMAP == 1, "BLKFILTER_CTL_BLKSNAP_CBTMAP");
_Static_assert(BLKFILTER_CTL_BLKSNAP_CBTDIRTY == 2, "BLKFILTER_CTL_BLKSNAP_CBTDIRTY");
_Static_assert(BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD == 3, "BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD");
_Static_assert(BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO == 4, "BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO");
_Static_assert(BLKSNAP_IOCTL_VERSION == 0, "BLKSNAP_IOCTL_VERSION");
_Static_assert(BLKSNAP_IOCTL_SNAPSHOT_CREATE == 1, "BLKSNAP_IOCTL_SNAPSHOT_CREATE");
_Static_assert(BLKSNAP_IOCTL_SNAPSHOT_DESTROY == 2, "BLKSNAP_IOCTL_SNAPSHOT_DESTROY");
_Static_assert(BLKSNAP_IOCTL_SNAPSHOT_TAKE == 3, "BLKSNAP_IOCTL_SNAPSHOT_TAKE");
_Static_assert(BLKSNAP_IOCTL_SNAPSHOT_COLLECT == 4, "BLKSNAP_IOCTL_SNAPSHOT_COLLECT");
_Static_assert(BLKSNAP_IOCTL_SNAPSHOT_WAIT_EVENT == 5, "BLKSNAP_IOCTL_SNAPSHOT_WAIT_EVENT");
_Static_assert(BLKSNAP_IOCTL_MOD == 32, "BLKSNAP_IOCTL_MOD");
_Static_assert(BLKSNAP_IOCTL_SETLOG == 33, "BLKSNAP_IOCTL_SETLOG");
_Static_assert(BLKSNAP_IOCTL_SNAPSHOT_APPEND_STORAGE == 34, "BLKSNAP_IOCTL_SNAPSHOT_APPEND_STORAGE");
_Static_assert(blksnap_event_code_corrupted == 0, "blksnap_event_code_corrupted");
_Static_assert(blksnap_event_code_low_free_space == 1, "blksnap_event_code_low_free_space");
_Static_assert(blksnap_compat_flag_debug_sector_state == 0, "blksnap_compat_flag_debug_sector_state");
_Static_assert(blksnap_compat_flag_setlog == 1, "blksnap_compat_flag_setlog");

/* ---- numeric constants ---- */
_Static_assert(BLKSNAP == 0x56, "BLKSNAP");
_Static_assert(IMAGE_DISK_NAME_LEN == 32, "IMAGE_DISK_NAME_LEN");
_Static_assert(BLKSNAP_MOD_NAME_LIMIT == 32, "BLKSNAP_MOD_NAME_LIMIT");
_Static_assert(BDEVFILTER_NAME_LENGTH == 32, "BDEVFILTER_NAME_LENGTH");
_Static_assert(LOGLEVEL_DISABLE == 0, "LOGLEVEL_DISABLE");
_Static_assert(LOGLEVEL_ERR == 3, "LOGLEVEL_ERR");
_Static_assert(LOGLEVEL_WARN == 4, "LOGLEVEL_WARN");
_Static_assert(LOGLEVEL_DEBUG == 7, "LOGLEVEL_DEBUG");
_Static_assert(VEEAMBLKSNAP_EVENT_COPY_IN_SIZE == 20, "VEEAMBLKSNAP_EVENT_COPY_IN_SIZE");
_Static_assert(VEEAMBLKSNAP_EVENT_DATA_CAPACITY == 4064, "VEEAMBLKSNAP_EVENT_DATA_CAPACITY");
_Static_assert(VEEAMBLKSNAP_MOD_COMPAT_FLAGS_STANDALONE == 0x2, "VEEAMBLKSNAP_MOD_COMPAT_FLAGS_STANDALONE");

/* ---- lookup tables ---- */
struct type_row { const char *name; long size; long align; };
static const struct type_row types[] = {
	{ "bdevfilter_name", (long)sizeof(struct bdevfilter_name), (long)_Alignof(struct bdevfilter_name) },
	{ "bdevfilter_ctl", (long)sizeof(struct bdevfilter_ctl), (long)_Alignof(struct bdevfilter_ctl) },
	{ "blksnap_uuid", (long)sizeof(struct blksnap_uuid), (long)_Alignof(struct blksnap_uuid) },
	{ "blksnap_cbtinfo", (long)sizeof(struct blksnap_cbtinfo), (long)_Alignof(struct blksnap_cbtinfo) },
	{ "blksnap_cbtmap", (long)sizeof(struct blksnap_cbtmap), (long)_Alignof(struct blksnap_cbtmap) },
	{ "blksnap_sectors", (long)sizeof(struct blksnap_sectors), (long)_Alignof(struct blksnap_sectors) },
	{ "blksnap_cbtdirty", (long)sizeof(struct blksnap_cbtdirty), (long)_Alignof(struct blksnap_cbtdirty) },
	{ "blksnap_snapshotadd", (long)sizeof(struct blksnap_snapshotadd), (long)_Alignof(struct blksnap_snapshotadd) },
	{ "blksnap_snapshotinfo", (long)sizeof(struct blksnap_snapshotinfo), (long)_Alignof(struct blksnap_snapshotinfo) },
	{ "blksnap_version", (long)sizeof(struct blksnap_version), (long)_Alignof(struct blksnap_version) },
	{ "blksnap_snapshot_create", (long)sizeof(struct blksnap_snapshot_create), (long)_Alignof(struct blksnap_snapshot_create) },
	{ "blksnap_snapshot_collect", (long)sizeof(struct blksnap_snapshot_collect), (long)_Alignof(struct blksnap_snapshot_collect) },
	{ "blksnap_snapshot_event", (long)sizeof(struct blksnap_snapshot_event), (long)_Alignof(struct blksnap_snapshot_event) },
	{ "blksnap_event_corrupted", (long)sizeof(struct blksnap_event_corrupted), (long)_Alignof(struct blksnap_event_corrupted) },
	{ "blksnap_event_low_free_space", (long)sizeof(struct blksnap_event_low_free_space), (long)_Alignof(struct blksnap_event_low_free_space) },
	{ "blksnap_mod", (long)sizeof(struct blksnap_mod), (long)_Alignof(struct blksnap_mod) },
	{ "blksnap_setlog", (long)sizeof(struct blksnap_setlog), (long)_Alignof(struct blksnap_setlog) },
	{ "blksnap_snapshot_append_storage", (long)sizeof(struct blksnap_snapshot_append_storage), (long)_Alignof(struct blksnap_snapshot_append_storage) },
};

struct field_row { const char *type; const char *field; long offset; long size; };
static const struct field_row fields[] = {
	{ "bdevfilter_name", "devpath", (long)offsetof(struct bdevfilter_name, devpath), (long)FIELD_SIZE(struct bdevfilter_name, devpath) },
	{ "bdevfilter_name", "name", (long)offsetof(struct bdevfilter_name, name), (long)FIELD_SIZE(struct bdevfilter_name, name) },
	{ "bdevfilter_ctl", "devpath", (long)offsetof(struct bdevfilter_ctl, devpath), (long)FIELD_SIZE(struct bdevfilter_ctl, devpath) },
	{ "bdevfilter_ctl", "name", (long)offsetof(struct bdevfilter_ctl, name), (long)FIELD_SIZE(struct bdevfilter_ctl, name) },
	{ "bdevfilter_ctl", "cmd", (long)offsetof(struct bdevfilter_ctl, cmd), (long)FIELD_SIZE(struct bdevfilter_ctl, cmd) },
	{ "bdevfilter_ctl", "optlen", (long)offsetof(struct bdevfilter_ctl, optlen), (long)FIELD_SIZE(struct bdevfilter_ctl, optlen) },
	{ "bdevfilter_ctl", "opt", (long)offsetof(struct bdevfilter_ctl, opt), (long)FIELD_SIZE(struct bdevfilter_ctl, opt) },
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
	{ "blksnap_snapshot_create", "diff_storage_limit_sect", (long)offsetof(struct blksnap_snapshot_create, diff_storage_limit_sect), (long)FIELD_SIZE(struct blksnap_snapshot_create, diff_storage_limit_sect) },
	{ "blksnap_snapshot_create", "diff_storage_filename", (long)offsetof(struct blksnap_snapshot_create, diff_storage_filename), (long)FIELD_SIZE(struct blksnap_snapshot_create, diff_storage_filename) },
	{ "blksnap_snapshot_create", "id", (long)offsetof(struct blksnap_snapshot_create, id), (long)FIELD_SIZE(struct blksnap_snapshot_create, id) },
	{ "blksnap_snapshot_collect", "count", (long)offsetof(struct blksnap_snapshot_collect, count), (long)FIELD_SIZE(struct blksnap_snapshot_collect, count) },
	{ "blksnap_snapshot_collect", "ids", (long)offsetof(struct blksnap_snapshot_collect, ids), (long)FIELD_SIZE(struct blksnap_snapshot_collect, ids) },
	{ "blksnap_snapshot_event", "id", (long)offsetof(struct blksnap_snapshot_event, id), (long)FIELD_SIZE(struct blksnap_snapshot_event, id) },
	{ "blksnap_snapshot_event", "timeout_ms", (long)offsetof(struct blksnap_snapshot_event, timeout_ms), (long)FIELD_SIZE(struct blksnap_snapshot_event, timeout_ms) },
	{ "blksnap_snapshot_event", "code", (long)offsetof(struct blksnap_snapshot_event, code), (long)FIELD_SIZE(struct blksnap_snapshot_event, code) },
	{ "blksnap_snapshot_event", "time_label", (long)offsetof(struct blksnap_snapshot_event, time_label), (long)FIELD_SIZE(struct blksnap_snapshot_event, time_label) },
	{ "blksnap_snapshot_event", "data", (long)offsetof(struct blksnap_snapshot_event, data), (long)FIELD_SIZE(struct blksnap_snapshot_event, data) },
	{ "blksnap_event_corrupted", "dev_id_mj", (long)offsetof(struct blksnap_event_corrupted, dev_id_mj), (long)FIELD_SIZE(struct blksnap_event_corrupted, dev_id_mj) },
	{ "blksnap_event_corrupted", "dev_id_mn", (long)offsetof(struct blksnap_event_corrupted, dev_id_mn), (long)FIELD_SIZE(struct blksnap_event_corrupted, dev_id_mn) },
	{ "blksnap_event_corrupted", "err_code", (long)offsetof(struct blksnap_event_corrupted, err_code), (long)FIELD_SIZE(struct blksnap_event_corrupted, err_code) },
	{ "blksnap_event_low_free_space", "requested_nr_sect", (long)offsetof(struct blksnap_event_low_free_space, requested_nr_sect), (long)FIELD_SIZE(struct blksnap_event_low_free_space, requested_nr_sect) },
	{ "blksnap_mod", "compatibility_flags", (long)offsetof(struct blksnap_mod, compatibility_flags), (long)FIELD_SIZE(struct blksnap_mod, compatibility_flags) },
	{ "blksnap_mod", "name", (long)offsetof(struct blksnap_mod, name), (long)FIELD_SIZE(struct blksnap_mod, name) },
	{ "blksnap_setlog", "tz_minuteswest", (long)offsetof(struct blksnap_setlog, tz_minuteswest), (long)FIELD_SIZE(struct blksnap_setlog, tz_minuteswest) },
	{ "blksnap_setlog", "level", (long)offsetof(struct blksnap_setlog, level), (long)FIELD_SIZE(struct blksnap_setlog, level) },
	{ "blksnap_setlog", "filepath_size", (long)offsetof(struct blksnap_setlog, filepath_size), (long)FIELD_SIZE(struct blksnap_setlog, filepath_size) },
	{ "blksnap_setlog", "filepath", (long)offsetof(struct blksnap_setlog, filepath), (long)FIELD_SIZE(struct blksnap_setlog, filepath) },
	{ "blksnap_snapshot_append_storage", "id", (long)offsetof(struct blksnap_snapshot_append_storage, id), (long)FIELD_SIZE(struct blksnap_snapshot_append_storage, id) },
	{ "blksnap_snapshot_append_storage", "devpath", (long)offsetof(struct blksnap_snapshot_append_storage, devpath), (long)FIELD_SIZE(struct blksnap_snapshot_append_storage, devpath) },
	{ "blksnap_snapshot_append_storage", "count", (long)offsetof(struct blksnap_snapshot_append_storage, count), (long)FIELD_SIZE(struct blksnap_snapshot_append_storage, count) },
	{ "blksnap_snapshot_append_storage", "ranges", (long)offsetof(struct blksnap_snapshot_append_storage, ranges), (long)FIELD_SIZE(struct blksnap_snapshot_append_storage, ranges) },
};

struct request_row { const char *name; unsigned long value; };
static const struct request_row requests[] = {
	{ "IOCTL_BLKSNAP_VERSION", IOCTL_BLKSNAP_VERSION },
	{ "IOCTL_BLKSNAP_SNAPSHOT_CREATE", IOCTL_BLKSNAP_SNAPSHOT_CREATE },
	{ "IOCTL_BLKSNAP_SNAPSHOT_DESTROY", IOCTL_BLKSNAP_SNAPSHOT_DESTROY },
	{ "IOCTL_BLKSNAP_SNAPSHOT_TAKE", IOCTL_BLKSNAP_SNAPSHOT_TAKE },
	{ "IOCTL_BLKSNAP_SNAPSHOT_COLLECT", IOCTL_BLKSNAP_SNAPSHOT_COLLECT },
	{ "IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT", IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT },
	{ "IOCTL_BLKSNAP_MOD", IOCTL_BLKSNAP_MOD },
	{ "IOCTL_BLKSNAP_SETLOG", IOCTL_BLKSNAP_SETLOG },
	{ "IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE", IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE },
	{ "BDEVFILTER_ATTACH", BDEVFILTER_ATTACH },
	{ "BDEVFILTER_DETACH", BDEVFILTER_DETACH },
	{ "BDEVFILTER_CTL", BDEVFILTER_CTL },
};

struct constant_row { const char *name; long value; };
static const struct constant_row constants[] = {
	{ "BLKFILTER_CTL_BLKSNAP_CBTINFO", (long)BLKFILTER_CTL_BLKSNAP_CBTINFO },
	{ "BLKFILTER_CTL_BLKSNAP_CBTMAP", (long)BLKFILTER_CTL_BLKSNAP_CBTMAP },
	{ "BLKFILTER_CTL_BLKSNAP_CBTDIRTY", (long)BLKFILTER_CTL_BLKSNAP_CBTDIRTY },
	{ "BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD", (long)BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD },
	{ "BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO", (long)BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO },
	{ "BLKSNAP_IOCTL_VERSION", (long)BLKSNAP_IOCTL_VERSION },
	{ "BLKSNAP_IOCTL_SNAPSHOT_CREATE", (long)BLKSNAP_IOCTL_SNAPSHOT_CREATE },
	{ "BLKSNAP_IOCTL_SNAPSHOT_DESTROY", (long)BLKSNAP_IOCTL_SNAPSHOT_DESTROY },
	{ "BLKSNAP_IOCTL_SNAPSHOT_TAKE", (long)BLKSNAP_IOCTL_SNAPSHOT_TAKE },
	{ "BLKSNAP_IOCTL_SNAPSHOT_COLLECT", (long)BLKSNAP_IOCTL_SNAPSHOT_COLLECT },
	{ "BLKSNAP_IOCTL_SNAPSHOT_WAIT_EVENT", (long)BLKSNAP_IOCTL_SNAPSHOT_WAIT_EVENT },
	{ "BLKSNAP_IOCTL_MOD", (long)BLKSNAP_IOCTL_MOD },
	{ "BLKSNAP_IOCTL_SETLOG", (long)BLKSNAP_IOCTL_SETLOG },
	{ "BLKSNAP_IOCTL_SNAPSHOT_APPEND_STORAGE", (long)BLKSNAP_IOCTL_SNAPSHOT_APPEND_STORAGE },
	{ "blksnap_event_code_corrupted", (long)blksnap_event_code_corrupted },
	{ "blksnap_event_code_low_free_space", (long)blksnap_event_code_low_free_space },
	{ "blksnap_compat_flag_debug_sector_state", (long)blksnap_compat_flag_debug_sector_state },
	{ "blksnap_compat_flag_setlog", (long)blksnap_compat_flag_setlog },
	{ "BLKSNAP", (long)BLKSNAP },
	{ "IMAGE_DISK_NAME_LEN", (long)IMAGE_DISK_NAME_LEN },
	{ "BLKSNAP_MOD_NAME_LIMIT", (long)BLKSNAP_MOD_NAME_LIMIT },
	{ "BDEVFILTER_NAME_LENGTH", (long)BDEVFILTER_NAME_LENGTH },
	{ "LOGLEVEL_DISABLE", (long)LOGLEVEL_DISABLE },
	{ "LOGLEVEL_ERR", (long)LOGLEVEL_ERR },
	{ "LOGLEVEL_WARN", (long)LOGLEVEL_WARN },
	{ "LOGLEVEL_DEBUG", (long)LOGLEVEL_DEBUG },
	{ "VEEAMBLKSNAP_EVENT_COPY_IN_SIZE", (long)VEEAMBLKSNAP_EVENT_COPY_IN_SIZE },
	{ "VEEAMBLKSNAP_EVENT_DATA_CAPACITY", (long)VEEAMBLKSNAP_EVENT_DATA_CAPACITY },
	{ "VEEAMBLKSNAP_MOD_COMPAT_FLAGS_STANDALONE", (long)VEEAMBLKSNAP_MOD_COMPAT_FLAGS_STANDALONE },
};
#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

long veeam_v7_abi_sizeof(const char *type)
{
	for (size_t i = 0; i < COUNT(types); i++)
		if (strcmp(types[i].name, type) == 0)
			return types[i].size;
	return -1;
}

long veeam_v7_abi_alignof(const char *type)
{
	for (size_t i = 0; i < COUNT(types); i++)
		if (strcmp(types[i].name, type) == 0)
			return types[i].align;
	return -1;
}

long veeam_v7_abi_offsetof(const char *type, const char *field)
{
	for (size_t i = 0; i < COUNT(fields); i++)
		if (strcmp(fields[i].type, type) == 0 && strcmp(fields[i].field, field) == 0)
			return fields[i].offset;
	return -1;
}

long veeam_v7_abi_fieldsize(const char *type, const char *field)
{
	for (size_t i = 0; i < COUNT(fields); i++)
		if (strcmp(fields[i].type, type) == 0 && strcmp(fields[i].field, field) == 0)
			return fields[i].size;
	return -1;
}

unsigned long veeam_v7_abi_request(const char *name)
{
	for (size_t i = 0; i < COUNT(requests); i++)
		if (strcmp(requests[i].name, name) == 0)
			return requests[i].value;
	return 0;
}

long veeam_v7_abi_constant(const char *name)
{
	for (size_t i = 0; i < COUNT(constants); i++)
		if (strcmp(constants[i].name, name) == 0)
			return constants[i].value;
	return -1;
}

int veeam_v7_abi_type_count(void) { return (int)COUNT(types); }
int veeam_v7_abi_field_count(void) { return (int)COUNT(fields); }
int veeam_v7_abi_request_count(void) { return (int)COUNT(requests); }
int veeam_v7_abi_constant_count(void) { return (int)COUNT(constants); }
