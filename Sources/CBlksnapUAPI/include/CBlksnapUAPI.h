/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * CBlksnapUAPI.h - the user API of the Linux "blksnap" module and of the
 * block-device filter, exactly as posted in the v5 patch series (June 2023).
 *
 * This header is self-contained: a C program that includes it and nothing
 * else compiles. It keeps the kernel's own names (struct blksnap_*,
 * struct blkfilter_*, the enum constants and the IOCTL_BLKSNAP_* /
 * BLKFILTER_* macros) so code written against the v5 kernel headers
 * compiles against this one unchanged.
 *
 * Swift cannot import function-like macros (_IOW and friends), so every
 * request number is also exported as a `static const unsigned long` named
 * BLKSNAP_REQ_*; Swift sees those as `UInt` constants.
 *
 * The v5 request numbers carry odd direction bits (VERSION and CREATE are
 * declared _IOW although the kernel only writes; DESTROY and TAKE are _IOR
 * although it only reads; ...). They are the v5 ABI and are kept as posted.
 * Later upstream headers use different numbers: do not mix them.
 */
#ifndef CBLKSNAP_UAPI_H
#define CBLKSNAP_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* include/uapi/linux/blk-filter.h (v5 patch 0002)                           */
/* ------------------------------------------------------------------------ */

#define BLKFILTER_NAME_LENGTH 32

/* Argument of BLKFILTER_ATTACH and BLKFILTER_DETACH: the filter's name. */
struct blkfilter_name {
	__u8 name[BLKFILTER_NAME_LENGTH];
};

/*
 * Argument of BLKFILTER_CTL: the filter's name, the filter-specific command,
 * the length of the command's argument and a user pointer to it. The kernel
 * never copies this struct back: whatever the handler does to optlen is lost.
 */
struct blkfilter_ctl {
	__u8 name[BLKFILTER_NAME_LENGTH];
	__u32 cmd;
	__u32 optlen;
	__u64 opt;
};

/* Block-device ioctls (type 0x12), nrs 140..142 in v5. */
#define BLKFILTER_ATTACH _IOWR(0x12, 140, struct blkfilter_name)
#define BLKFILTER_DETACH _IOWR(0x12, 141, struct blkfilter_name)
#define BLKFILTER_CTL    _IOWR(0x12, 142, struct blkfilter_ctl)

/* ------------------------------------------------------------------------ */
/* include/uapi/linux/blksnap.h (v5 patch 0004)                              */
/* ------------------------------------------------------------------------ */

/* Name of the filter that blksnap registers with the block layer. */
#define BLKSNAP_FILTER_NAME "blksnap"

/* Sub-commands of BLKFILTER_CTL understood by blksnap (blkfilter_ctl.cmd). */
enum blkfilter_ctl_blksnap {
	blkfilter_ctl_blksnap_cbtinfo,
	blkfilter_ctl_blksnap_cbtmap,
	blkfilter_ctl_blksnap_cbtdirty,
	blkfilter_ctl_blksnap_snapshotadd,
	blkfilter_ctl_blksnap_snapshotinfo,
};

#ifndef UUID_SIZE
#define UUID_SIZE 16
#endif

/* A snapshot id or a CBT generation id: 16 raw bytes (a v4 UUID). */
struct blksnap_uuid {
	__u8 b[UUID_SIZE];
};

/*
 * cbtinfo: the change-tracking table of a device.
 * device_capacity: capacity covered by the table, in bytes.
 * block_size:      size of one CBT block, in bytes (a power of two).
 * block_count:     number of CBT blocks (bytes in the map).
 * generation_id:   changes whenever the map restarts (attach, reset, wrap).
 * changes_number:  number of the most recent take (the "previous" number).
 * Followed by 7 bytes of tail padding that carry no information.
 */
struct blksnap_cbtinfo {
	__u64 device_capacity;
	__u32 block_size;
	__u32 block_count;
	struct blksnap_uuid generation_id;
	__u8 changes_number;
};

/*
 * cbtmap: read `length` bytes of the read map starting at byte `offset`
 * into the user buffer `buffer` (a user pointer carried as __u64).
 */
struct blksnap_cbtmap {
	__u32 offset;
	__u32 length;
	__u64 buffer;
};

/* A range of 512-byte sectors. */
struct blksnap_sectors {
	__u64 offset;
	__u64 count;
};

/*
 * cbtdirty: mark `count` ranges, at user pointer `dirty_sectors` (an array of
 * struct blksnap_sectors), as changed in both CBT maps. v5 reads only the
 * first element, `count` times.
 */
struct blksnap_cbtdirty {
	__u32 count;
	__u64 dirty_sectors;
};

/* snapshotadd: add the device to the snapshot with this id. */
struct blksnap_snapshotadd {
	struct blksnap_uuid id;
};

#define IMAGE_DISK_NAME_LEN 32

/*
 * snapshotinfo: error_code is the negative errno of the device's corrupted
 * difference area (0 if none); image is the image disk's name without
 * "/dev/", or the caller's own bytes when there is no image.
 */
struct blksnap_snapshotinfo {
	__s32 error_code;
	__u8 image[IMAGE_DISK_NAME_LEN];
};

/* Name of the control device (a misc device: /dev/blksnap-control). */
#define BLKSNAP_CTL "blksnap-control"

/* Prefix of image disk names: "blksnap-image_<major>:<minor>". */
#define BLKSNAP_IMAGE_NAME "blksnap-image"

/* ioctl type byte of the control device. */
#define BLKSNAP 'V'

/* nr of each control ioctl; the v5 control device dispatches on nr only. */
enum blksnap_ioctl {
	blksnap_ioctl_version,
	blksnap_ioctl_snapshot_create,
	blksnap_ioctl_snapshot_destroy,
	blksnap_ioctl_snapshot_append_storage,
	blksnap_ioctl_snapshot_take,
	blksnap_ioctl_snapshot_collect,
	blksnap_ioctl_snapshot_wait_event,
};

/* VERSION: the module's version (2.0.0.0 in v5). */
struct blksnap_version {
	__u16 major;
	__u16 minor;
	__u16 revision;
	__u16 build;
};

#define IOCTL_BLKSNAP_VERSION \
	_IOW(BLKSNAP, blksnap_ioctl_version, struct blksnap_version)

/* CREATE writes the new snapshot's id. */
#define IOCTL_BLKSNAP_SNAPSHOT_CREATE \
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_create, struct blksnap_uuid)

/* DESTROY reads the id of the snapshot to destroy. */
#define IOCTL_BLKSNAP_SNAPSHOT_DESTROY \
	_IOR(BLKSNAP, blksnap_ioctl_snapshot_destroy, struct blksnap_uuid)

/*
 * APPEND_STORAGE: add `count` sector ranges (user pointer `ranges`) of the
 * block device at path `bdev_path` (user pointer to `bdev_path_size` bytes,
 * NUL included) to the snapshot's difference storage.
 */
struct blksnap_snapshot_append_storage {
	struct blksnap_uuid id;
	__u64 bdev_path;
	__u32 bdev_path_size;
	__u32 count;
	__u64 ranges;
};

#define IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE \
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_append_storage, \
	     struct blksnap_snapshot_append_storage)

/* TAKE reads the id of the snapshot to take. */
#define IOCTL_BLKSNAP_SNAPSHOT_TAKE \
	_IOR(BLKSNAP, blksnap_ioctl_snapshot_take, struct blksnap_uuid)

/*
 * COLLECT: with ids == 0, count := number of snapshots. Otherwise up to
 * `count` ids are written to the user array `ids` and count := number written.
 */
struct blksnap_snapshot_collect {
	__u32 count;
	__u64 ids;
};

#define IOCTL_BLKSNAP_SNAPSHOT_COLLECT \
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_collect, \
	     struct blksnap_snapshot_collect)

/* Event codes of WAIT_EVENT. */
enum blksnap_event_codes {
	blksnap_event_code_low_free_space,
	blksnap_event_code_corrupted,
};

/*
 * WAIT_EVENT: the kernel reads id and timeout_ms (20 bytes; the timeout is
 * counted in jiffies in v5) and, on success, writes the whole 4096 bytes:
 * code, time_label (CLOCK_MONOTONIC, ns) and the payload in data.
 */
struct blksnap_snapshot_event {
	struct blksnap_uuid id;
	__u32 timeout_ms;
	__u32 code;
	__s64 time_label;
	__u8 data[4096 - 32] __attribute__((aligned(8)));
};

#define IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT \
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_wait_event, \
	     struct blksnap_snapshot_event)

/* Payload of blksnap_event_code_low_free_space. */
struct blksnap_event_low_free_space {
	__u64 requested_nr_sect;
};

/* Payload of blksnap_event_code_corrupted; err_code is a positive errno. */
struct blksnap_event_corrupted {
	__u32 dev_id_mj;
	__u32 dev_id_mn;
	__s32 err_code;
};

/* ------------------------------------------------------------------------ */
/* Swift-visible additions (not in the kernel headers)                       */
/* ------------------------------------------------------------------------ */

/* Path of the control device. */
#define BLKSNAP_CTL_PATH "/dev/" BLKSNAP_CTL

/* Module version reported by v5. */
#define BLKSNAP_V5_VERSION_MAJOR 2
#define BLKSNAP_V5_VERSION_MINOR 0
#define BLKSNAP_V5_VERSION_REVISION 0
#define BLKSNAP_V5_VERSION_BUILD 0

/* Bytes of blksnap_snapshot_event the kernel copies in (id + timeout_ms). */
#define BLKSNAP_EVENT_COPY_IN_SIZE 20
/* Capacity of blksnap_snapshot_event.data. */
#define BLKSNAP_EVENT_DATA_CAPACITY (4096 - 32)

/* Request numbers, computed with the kernel's own macros. */
static const unsigned long BLKSNAP_REQ_VERSION = IOCTL_BLKSNAP_VERSION;
static const unsigned long BLKSNAP_REQ_SNAPSHOT_CREATE = IOCTL_BLKSNAP_SNAPSHOT_CREATE;
static const unsigned long BLKSNAP_REQ_SNAPSHOT_DESTROY = IOCTL_BLKSNAP_SNAPSHOT_DESTROY;
static const unsigned long BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE = IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE;
static const unsigned long BLKSNAP_REQ_SNAPSHOT_TAKE = IOCTL_BLKSNAP_SNAPSHOT_TAKE;
static const unsigned long BLKSNAP_REQ_SNAPSHOT_COLLECT = IOCTL_BLKSNAP_SNAPSHOT_COLLECT;
static const unsigned long BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT = IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT;
static const unsigned long BLKSNAP_REQ_BLKFILTER_ATTACH = BLKFILTER_ATTACH;
static const unsigned long BLKSNAP_REQ_BLKFILTER_DETACH = BLKFILTER_DETACH;
static const unsigned long BLKSNAP_REQ_BLKFILTER_CTL = BLKFILTER_CTL;

/*
 * Standard block-device ioctls this package also issues (and the simulator
 * answers on its devices). Values as in <linux/fs.h>; spelled out here so this
 * header stays self-contained.
 */
static const unsigned long BLKSNAP_REQ_BLKSSZGET = _IO(0x12, 104);
static const unsigned long BLKSNAP_REQ_BLKGETSIZE64 = _IOR(0x12, 114, __u64);
static const unsigned long BLKSNAP_REQ_BLKIOMIN = _IO(0x12, 120);
static const unsigned long BLKSNAP_REQ_BLKPBSZGET = _IO(0x12, 123);

/*
 * File and buffer ioctls used by the file difference-storage provider (real
 * kernel only): FIEMAP with its structs from <linux/fiemap.h>, the inode flags
 * (FS_IMMUTABLE_FL), and BLKFLSBUF. Values as in <linux/fs.h>.
 */
#include <linux/fiemap.h>
static const unsigned long BLKSNAP_REQ_FS_IOC_FIEMAP = _IOWR('f', 11, struct fiemap);
static const unsigned long BLKSNAP_REQ_FS_IOC_GETFLAGS = _IOR('f', 1, long);
static const unsigned long BLKSNAP_REQ_FS_IOC_SETFLAGS = _IOW('f', 2, long);
static const unsigned long BLKSNAP_REQ_BLKFLSBUF = _IO(0x12, 97);
static const unsigned int BLKSNAP_FS_IMMUTABLE_FL = 0x00000010;

/* ioctl number fields, as _IOC_NR/_IOC_TYPE/_IOC_SIZE/_IOC_DIR would decode them. */
static inline unsigned int blksnap_ioc_nr(unsigned long request) { return _IOC_NR(request); }
static inline unsigned int blksnap_ioc_type(unsigned long request) { return _IOC_TYPE(request); }
static inline unsigned int blksnap_ioc_size(unsigned long request) { return _IOC_SIZE(request); }
static inline unsigned int blksnap_ioc_dir(unsigned long request) { return _IOC_DIR(request); }

#ifdef __cplusplus
}
#endif

#endif /* CBLKSNAP_UAPI_H */
