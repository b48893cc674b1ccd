/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * CVeeamBlkSnapV1UAPI.h - the user API of Veeam's field module of the
 * VAL-6.x generation: the "blk_snap" v1 interface of veeamblksnap.ko
 * (VAL-6.3.1; VAL-6.0 and stable-v1.0 have the same structs and numbers
 * under the names "blksnap" and "blksnap-image").
 *
 * Self-contained: a C program including this header and nothing else
 * compiles. Struct, field, enum and macro names are the module's own
 * (struct blk_snap_*, blk_snap_ioctl_*, IOCTL_BLK_SNAP_*), so code written
 * against the module header reads the same against this one.
 *
 * The shipped modules are built with BLK_SNAP_MODIFICATION, so the "mod"
 * part (MOD, SETLOG, GET_SECTOR_STATE, the compatibility flags) is always
 * declared here.
 *
 * Layout notes (x86_64):
 *  - user pointers are plain C pointers, not __u64: 8 bytes here, 4 on
 *    i386, where every struct holding one is smaller (the module has no
 *    compat_ioctl, so only a 64-bit caller matches a 64-bit kernel);
 *  - device ids are {major, minor} pairs (struct blk_snap_dev_t), not
 *    dev_t, not paths;
 *  - the module uses the kernel's uuid_t for ids; userspace has no such
 *    type (<linux/uuid.h> defines only guid_t), so this header declares
 *    struct blk_snap_uuid with the same 16-byte, 1-aligned layout.
 *
 * Swift cannot import function-like macros (_IOW and friends), so each
 * request number is also a `static const unsigned long` BLK_SNAP_REQ_*,
 * imported by Swift as a `UInt` constant.
 *
 * The control device dispatches on _IOC_NR alone; the direction bits
 * below are as declared by the module and often contradict the real data
 * flow (VERSION is _IOW but only written by the kernel, DESTROY is _IOR
 * but only read, ...). They are kept as declared.
 *
 * Do not include this header in a translation unit together with another
 * blksnap UAPI header of this package: each ABI is its own C module.
 */
#ifndef CVEEAM_BLK_SNAP_V1_UAPI_H
#define CVEEAM_BLK_SNAP_V1_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the control character device (/dev/veeamblksnap) and its class. */
#define BLK_SNAP_MODULE_NAME "veeamblksnap"
/* Prefix of image disk names: "veeamblksnapimg<image minor>". */
#define BLK_SNAP_IMAGE_NAME "veeamblksnapimg"
/* ioctl type byte of the control device. */
#define BLK_SNAP 'V'

/* First nr of the "modification" requests. */
#define IOCTL_MOD 32

/*
 * nr of every request. The module's main table covers nr 0..11; nr 12
 * (blk_snap_ioctl_end) is a bound, not a request. The modification table
 * starts at IOCTL_MOD.
 */
enum blk_snap_ioctl {
	blk_snap_ioctl_version,
	blk_snap_ioctl_tracker_remove,
	blk_snap_ioctl_tracker_collect,
	blk_snap_ioctl_tracker_read_cbt_map,
	blk_snap_ioctl_tracker_mark_dirty_blocks,
	blk_snap_ioctl_snapshot_create,
	blk_snap_ioctl_snapshot_destroy,
	blk_snap_ioctl_snapshot_append_storage,
	blk_snap_ioctl_snapshot_take,
	blk_snap_ioctl_snapshot_collect,
	blk_snap_ioctl_snapshot_collect_images,
	blk_snap_ioctl_snapshot_wait_event,
	blk_snap_ioctl_end,
	blk_snap_ioctl_mod = IOCTL_MOD,
	blk_snap_ioctl_setlog,
	blk_snap_ioctl_get_sector_state,
	blk_snap_ioctl_end_mod
};

/* A snapshot id: 16 raw bytes (the module's uuid_t). */
struct blk_snap_uuid {
	__u8 b[16];
};

/* ------------------------------------------------------------------------ */
/* Service requests                                                          */
/* ------------------------------------------------------------------------ */

/* VERSION: filled in by the module (1.0.0.0 on VAL-6.0 .. VAL-6.3.1). */
struct blk_snap_version {
	__u16 major;
	__u16 minor;
	__u16 revision;
	__u16 build;
};

#define IOCTL_BLK_SNAP_VERSION \
	_IOW(BLK_SNAP, blk_snap_ioctl_version, struct blk_snap_version)

/* Bit numbers of blk_snap_mod.compatibility_flags. */
enum blk_snap_compat_flags {
	blk_snap_compat_flag_debug_sector_state,
	blk_snap_compat_flag_setlog,
	blk_snap_compat_flags_end
};

#define BLK_SNAP_MOD_NAME_LIMIT 32

/*
 * MOD: filled in by the module: the compatibility bits (1 << flag) and the
 * NUL-padded name of the build ("standalone" for the shipped modules).
 */
struct blk_snap_mod {
	__u64 compatibility_flags;
	__u8 name[BLK_SNAP_MOD_NAME_LIMIT];
};

#define IOCTL_BLK_SNAP_MOD \
	_IOW(BLK_SNAP, blk_snap_ioctl_mod, struct blk_snap_mod)

/* ------------------------------------------------------------------------ */
/* Change tracking                                                           */
/* ------------------------------------------------------------------------ */

/* A block device as the kernel numbers it: MAJOR and MINOR of its dev_t. */
struct blk_snap_dev_t {
	__u32 mj;
	__u32 mn;
};

/* TRACKER_REMOVE: stop tracking the device. */
struct blk_snap_tracker_remove {
	struct blk_snap_dev_t dev_id;
};

#define IOCTL_BLK_SNAP_TRACKER_REMOVE \
	_IOW(BLK_SNAP, blk_snap_ioctl_tracker_remove, \
	     struct blk_snap_tracker_remove)

/*
 * One tracked device, as TRACKER_COLLECT reports it.
 * blk_size:        CBT block size in bytes; 4 bytes of padding follow.
 * device_capacity: in bytes.
 * blk_count:       number of CBT blocks (bytes of the map).
 * generation_id:   changes whenever the map restarts.
 * snap_number:     current change number; 3 bytes of tail padding follow.
 */
struct blk_snap_cbt_info {
	struct blk_snap_dev_t dev_id;
	__u32 blk_size;
	__u64 device_capacity;
	__u32 blk_count;
	struct blk_snap_uuid generation_id;
	__u8 snap_number;
};

/*
 * TRACKER_COLLECT: with a NULL array, count := number of tracked devices;
 * otherwise up to `count` entries are written to cbt_info_array.
 */
struct blk_snap_tracker_collect {
	__u32 count;
	struct blk_snap_cbt_info *cbt_info_array;
};

#define IOCTL_BLK_SNAP_TRACKER_COLLECT \
	_IOW(BLK_SNAP, blk_snap_ioctl_tracker_collect, \
	     struct blk_snap_tracker_collect)

/*
 * TRACKER_READ_CBT_MAP: copy `length` bytes of the device's CBT map from
 * byte `offset` into `buff`; the ioctl returns the number of bytes copied.
 */
struct blk_snap_tracker_read_cbt_bitmap {
	struct blk_snap_dev_t dev_id;
	__u32 offset;
	__u32 length;
	__u8 *buff;
};

#define IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP \
	_IOR(BLK_SNAP, blk_snap_ioctl_tracker_read_cbt_map, \
	     struct blk_snap_tracker_read_cbt_bitmap)

/* A run of 512-byte sectors. */
struct blk_snap_block_range {
	__u64 sector_offset;
	__u64 sector_count;
};

/* TRACKER_MARK_DIRTY_BLOCKS: mark `count` ranges of the device as changed. */
struct blk_snap_tracker_mark_dirty_blocks {
	struct blk_snap_dev_t dev_id;
	__u32 count;
	struct blk_snap_block_range *dirty_blocks_array;
};

#define IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS \
	_IOR(BLK_SNAP, blk_snap_ioctl_tracker_mark_dirty_blocks, \
	     struct blk_snap_tracker_mark_dirty_blocks)

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * SNAPSHOT_CREATE: the snapshot's member devices are fixed here (`count`
 * ids at dev_id_array); the module writes the new snapshot's id into `id`.
 */
struct blk_snap_snapshot_create {
	__u32 count;
	struct blk_snap_dev_t *dev_id_array;
	struct blk_snap_uuid id;
};

#define IOCTL_BLK_SNAP_SNAPSHOT_CREATE \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_create, \
	     struct blk_snap_snapshot_create)

/* SNAPSHOT_DESTROY: the snapshot to destroy. */
struct blk_snap_snapshot_destroy {
	struct blk_snap_uuid id;
};

#define IOCTL_BLK_SNAP_SNAPSHOT_DESTROY \
	_IOR(BLK_SNAP, blk_snap_ioctl_snapshot_destroy, \
	     struct blk_snap_snapshot_destroy)

/*
 * SNAPSHOT_APPEND_STORAGE: give the snapshot `count` sector ranges of the
 * block device dev_id as difference storage.
 */
struct blk_snap_snapshot_append_storage {
	struct blk_snap_uuid id;
	struct blk_snap_dev_t dev_id;
	__u32 count;
	struct blk_snap_block_range *ranges;
};

#define IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_append_storage, \
	     struct blk_snap_snapshot_append_storage)

/* SNAPSHOT_TAKE: the snapshot to take. */
struct blk_snap_snapshot_take {
	struct blk_snap_uuid id;
};

#define IOCTL_BLK_SNAP_SNAPSHOT_TAKE \
	_IOR(BLK_SNAP, blk_snap_ioctl_snapshot_take, \
	     struct blk_snap_snapshot_take)

/*
 * SNAPSHOT_COLLECT: with ids == NULL, count := number of snapshots;
 * otherwise up to `count` ids are written to `ids`.
 */
struct blk_snap_snapshot_collect {
	__u32 count;
	struct blk_snap_uuid *ids;
};

#define IOCTL_BLK_SNAP_SNAPSHOT_COLLECT \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_collect, \
	     struct blk_snap_snapshot_collect)

/* A member device of a taken snapshot and the image disk that shows it. */
struct blk_snap_image_info {
	struct blk_snap_dev_t orig_dev_id;
	struct blk_snap_dev_t image_dev_id;
};

/*
 * SNAPSHOT_COLLECT_IMAGES: up to `count` pairs of the snapshot `id` are
 * written to image_info_array (a NULL array asks for the count).
 */
struct blk_snap_snapshot_collect_images {
	struct blk_snap_uuid id;
	__u32 count;
	struct blk_snap_image_info *image_info_array;
};

#define IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_collect_images, \
	     struct blk_snap_snapshot_collect_images)

/* WAIT_EVENT codes (the same values as the v5 upstream API). */
enum blk_snap_event_codes {
	blk_snap_event_code_low_free_space,
	blk_snap_event_code_corrupted,
};

/*
 * SNAPSHOT_WAIT_EVENT: one page, copied in whole (id, timeout_ms) and out
 * whole (code, time_label in CLOCK_MONOTONIC ns, payload in data). The
 * module treats timeout_ms as a count of jiffies.
 */
struct blk_snap_snapshot_event {
	struct blk_snap_uuid id;
	__u32 timeout_ms;
	__u32 code;
	__s64 time_label;
	__u8 data[4096 - 32];
};

#define IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_wait_event, \
	     struct blk_snap_snapshot_event)

/* Payload of blk_snap_event_code_low_free_space. */
struct blk_snap_event_low_free_space {
	__u64 requested_nr_sect;
};

/* Payload of blk_snap_event_code_corrupted; err_code is a positive errno. */
struct blk_snap_event_corrupted {
	struct blk_snap_dev_t orig_dev_id;
	__s32 err_code;
};

/* ------------------------------------------------------------------------ */
/* Modification requests (BLK_SNAP_MODIFICATION)                             */
/* ------------------------------------------------------------------------ */

/*
 * SETLOG: the module's own log file. level 0 disables it; 3 errors,
 * 4 warnings, 6 info, 7 debug. filepath points to filepath_size bytes.
 */
struct blk_snap_setlog {
	__s32 tz_minuteswest;
	__u32 level;
	__u32 filepath_size;
	__u8 *filepath;
};

#define IOCTL_BLK_SNAP_SETLOG \
	_IOW(BLK_SNAP, blk_snap_ioctl_setlog, struct blk_snap_setlog)

/* Debug state of one sector of an image (2 bytes of padding after curr). */
struct blk_snap_sector_state {
	__u8 snap_number_prev;
	__u8 snap_number_curr;
	__u32 chunk_state;
};

/*
 * GET_SECTOR_STATE: declared, but the shipped modules are built without
 * the debug option behind it and answer ENOTTY.
 */
struct blk_snap_get_sector_state {
	struct blk_snap_dev_t image_dev_id;
	__u64 sector;
	struct blk_snap_sector_state state;
};

#define IOCTL_BLK_SNAP_GET_SECTOR_STATE \
	_IOW(BLK_SNAP, blk_snap_ioctl_get_sector_state, \
	     struct blk_snap_get_sector_state)

/* ------------------------------------------------------------------------ */
/* Swift-visible additions (not in the module header)                        */
/* ------------------------------------------------------------------------ */

/*
 * Path of the control device, and the sysfs file holding its dynamic char
 * major (spelled out: Swift imports only plain string literals).
 */
#define BLK_SNAP_CTL_PATH "/dev/veeamblksnap"
#define BLK_SNAP_MAJOR_SYSFS_PATH "/sys/class/veeamblksnap/major"

/* Version reported by VAL-6.0 .. VAL-6.3.1. */
#define BLK_SNAP_V1_VERSION_MAJOR 1
#define BLK_SNAP_V1_VERSION_MINOR 0
#define BLK_SNAP_V1_VERSION_REVISION 0
#define BLK_SNAP_V1_VERSION_BUILD 0

/* blk_snap_mod of the shipped builds: name and compatibility bits. */
#define BLK_SNAP_MOD_NAME_STANDALONE "standalone"
#define BLK_SNAP_MOD_COMPAT_FLAGS_STANDALONE 0x2

/* Bytes of blk_snap_snapshot_event the module copies in: the whole page. */
#define BLK_SNAP_EVENT_COPY_IN_SIZE 4096
/* Capacity of blk_snap_snapshot_event.data. */
#define BLK_SNAP_EVENT_DATA_CAPACITY (4096 - 32)

/* Request numbers, computed with the kernel's own macros. */
static const unsigned long BLK_SNAP_REQ_VERSION = IOCTL_BLK_SNAP_VERSION;
static const unsigned long BLK_SNAP_REQ_TRACKER_REMOVE = IOCTL_BLK_SNAP_TRACKER_REMOVE;
static const unsigned long BLK_SNAP_REQ_TRACKER_COLLECT = IOCTL_BLK_SNAP_TRACKER_COLLECT;
static const unsigned long BLK_SNAP_REQ_TRACKER_READ_CBT_MAP = IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP;
static const unsigned long BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS = IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS;
static const unsigned long BLK_SNAP_REQ_SNAPSHOT_CREATE = IOCTL_BLK_SNAP_SNAPSHOT_CREATE;
static const unsigned long BLK_SNAP_REQ_SNAPSHOT_DESTROY = IOCTL_BLK_SNAP_SNAPSHOT_DESTROY;
static const unsigned long BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE = IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE;
static const unsigned long BLK_SNAP_REQ_SNAPSHOT_TAKE = IOCTL_BLK_SNAP_SNAPSHOT_TAKE;
static const unsigned long BLK_SNAP_REQ_SNAPSHOT_COLLECT = IOCTL_BLK_SNAP_SNAPSHOT_COLLECT;
static const unsigned long BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES = IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES;
static const unsigned long BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT = IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT;
static const unsigned long BLK_SNAP_REQ_MOD = IOCTL_BLK_SNAP_MOD;
static const unsigned long BLK_SNAP_REQ_SETLOG = IOCTL_BLK_SNAP_SETLOG;
static const unsigned long BLK_SNAP_REQ_GET_SECTOR_STATE = IOCTL_BLK_SNAP_GET_SECTOR_STATE;

#ifdef __cplusplus
}
#endif

#endif /* CVEEAM_BLK_SNAP_V1_UAPI_H */
