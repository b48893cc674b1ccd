/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * CVeeamBlksnapUAPI.h - the user API of Veeam's field modules of the
 * VAL-7.0 generation: the "veeamblksnap" control device of veeamblksnap.ko
 * and the misc device of bdevfilter.ko.
 *
 * Self-contained: a C program including this header and nothing else
 * compiles. Struct, field, enum and macro names are the modules' own
 * (struct blksnap_*, struct bdevfilter_*, BLKFILTER_CTL_BLKSNAP_*,
 * BLKSNAP_IOCTL_*, IOCTL_BLKSNAP_*, BDEVFILTER_*).
 *
 * Many of these names are also those of the v5 upstream API (CBlksnapUAPI)
 * with other values or layouts: the request numbers, the event codes, the
 * enumerator spellings, struct blksnap_snapshot_append_storage. Never
 * include both headers in one C translation unit; each ABI is its own C
 * module. For Swift modules that load both, see the renaming block below;
 * the string macros BLKSNAP_CTL and BLKSNAP_IMAGE_NAME also exist in both
 * with other values, and one Swift module cannot use both spellings
 * (their imported getters get one symbol name): use the spelled-out
 * VEEAMBLKSNAP_CTL_PATH there.
 *
 * The shipped modules (and Veeam's own tools) are built with
 * BLKSNAP_MODIFICATION, so everything behind that define is declared here
 * unconditionally: MOD, SETLOG, the range APPEND_STORAGE at nr 34, the
 * low_free_space event and the compatibility flags. That build also
 * decides the event codes: corrupted = 0, low_free_space = 1.
 *
 * User pointers are carried as __u64. The sizes here are those of x86_64;
 * on i386 a __u64 is only 4-aligned, so a struct with a __u64 after a
 * __u32 is smaller there. Neither module has a compat_ioctl.
 *
 * Swift cannot import function-like macros (_IOR and friends), so each
 * request number is also a `static const unsigned long`:
 * VEEAMBLKSNAP_REQ_* for the control device and BDEVFILTER_REQ_* for the
 * filter device (prefixes chosen not to be confused with the v5
 * BLKSNAP_REQ_*). Both devices dispatch with a switch on the full 32-bit
 * number: a number with other direction or size bits is ENOTTY.
 */
#ifndef CVEEAM_BLKSNAP_UAPI_H
#define CVEEAM_BLKSNAP_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Four of the kernel's names below are defined differently in v5's header
 * (CBlksnapUAPI). A Swift module that imports BlksnapKit (built on the v5
 * header) and this header loads both Clang modules, and Clang refuses two
 * different definitions of one tag. So these four are declared under
 * distinct names; the kernel's names stay usable in C as macros:
 *   enum blksnap_ioctl                    -> enum veeamblksnap_ioctl
 *   enum blkfilter_ctl_blksnap            -> enum veeamblksnap_filter_ctl
 *   enum blksnap_event_codes              -> enum veeamblksnap_event_codes
 *   (blksnap_event_code_corrupted, blksnap_event_code_low_free_space ->
 *    veeamblksnap_event_code_corrupted, veeamblksnap_event_code_low_free_space)
 *   struct blksnap_snapshot_append_storage -> struct veeamblksnap_snapshot_append_storage
 * The identical definitions (blksnap_uuid, blksnap_cbtinfo, ...) merge.
 */
#define blksnap_ioctl veeamblksnap_ioctl
#define blkfilter_ctl_blksnap veeamblksnap_filter_ctl
#define blksnap_event_codes veeamblksnap_event_codes
#define blksnap_event_code_corrupted veeamblksnap_event_code_corrupted
#define blksnap_event_code_low_free_space veeamblksnap_event_code_low_free_space
#define blksnap_snapshot_append_storage veeamblksnap_snapshot_append_storage

/* ------------------------------------------------------------------------ */
/* bdevfilter.ko: /dev/bdevfilter                                            */
/* ------------------------------------------------------------------------ */

/* Name of the filter manager's misc device. */
#define BDEVFILTER "bdevfilter"
#define BDEVFILTER_NAME_LENGTH 32

/*
 * Argument of BDEVFILTER_ATTACH and BDEVFILTER_DETACH: a user pointer to
 * the NUL-terminated path of the block device, and the filter's name.
 */
struct bdevfilter_name {
	__u64 devpath;
	__u8 name[BDEVFILTER_NAME_LENGTH];
};

/*
 * Argument of BDEVFILTER_CTL: device path and filter name as above, the
 * filter's sub-command, the size of its argument and a user pointer to it.
 * The struct is only read: optlen never comes back.
 */
struct bdevfilter_ctl {
	__u64 devpath;
	__u8 name[BDEVFILTER_NAME_LENGTH];
	__u32 cmd;
	__u32 optlen;
	__u64 opt;
};

/* Type 'F', nrs 140..142 (the v5 filter's nrs, on another type byte). */
#define BDEVFILTER_ATTACH _IOWR('F', 140, struct bdevfilter_name)
#define BDEVFILTER_DETACH _IOWR('F', 141, struct bdevfilter_name)
#define BDEVFILTER_CTL    _IOWR('F', 142, struct bdevfilter_ctl)

/* ------------------------------------------------------------------------ */
/* veeamblksnap.ko as a filter: BDEVFILTER_CTL sub-commands                  */
/* ------------------------------------------------------------------------ */

/* Values of bdevfilter_ctl.cmd for the "blksnap" filter. */
enum blkfilter_ctl_blksnap {
	BLKFILTER_CTL_BLKSNAP_CBTINFO = 0,
	BLKFILTER_CTL_BLKSNAP_CBTMAP = 1,
	BLKFILTER_CTL_BLKSNAP_CBTDIRTY = 2,
	BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD = 3,
	BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO = 4,
};

/* A snapshot id or a CBT generation id: 16 raw bytes. */
struct blksnap_uuid {
	__u8 b[16];
};

/*
 * CBTINFO result.
 * device_capacity: in bytes.
 * block_size:      CBT block size in bytes.
 * block_count:     number of CBT blocks (bytes of the map).
 * generation_id:   changes whenever the map restarts.
 * changes_number:  current change number; 7 bytes of tail padding follow
 *                  (not initialised by the module).
 */
struct blksnap_cbtinfo {
	__u64 device_capacity;
	__u32 block_size;
	__u32 block_count;
	struct blksnap_uuid generation_id;
	__u8 changes_number;
};

/* CBTMAP: copy `length` bytes of the map from byte `offset` to `buffer`. */
struct blksnap_cbtmap {
	__u32 offset;
	__u32 length;
	__u64 buffer;
};

/* A run of 512-byte sectors. */
struct blksnap_sectors {
	__u64 offset;
	__u64 count;
};

/* CBTDIRTY: mark `count` ranges (struct blksnap_sectors) as changed. */
struct blksnap_cbtdirty {
	__u32 count;
	__u64 dirty_sectors;
};

/* SNAPSHOTADD: make the device a member of this snapshot. */
struct blksnap_snapshotadd {
	struct blksnap_uuid id;
};

#define IMAGE_DISK_NAME_LEN 32

/*
 * SNAPSHOTINFO: error_code is 0 or the negative errno of the device's
 * failed difference area; image is the image disk's name (without
 * "/dev/") once the snapshot is taken, otherwise left as the caller sent it.
 */
struct blksnap_snapshotinfo {
	__s32 error_code;
	__u8 image[IMAGE_DISK_NAME_LEN];
};

/* ------------------------------------------------------------------------ */
/* veeamblksnap.ko: /dev/veeamblksnap                                        */
/* ------------------------------------------------------------------------ */

/* Name of the control misc device. */
#define BLKSNAP_CTL "veeamblksnap"
/* Prefix of image disk names: "veeamblksnapimg_<major>:<minor>" of the original. */
#define BLKSNAP_IMAGE_NAME "veeamblksnapimg"
/* ioctl type byte of the control device. */
#define BLKSNAP 'V'

/* nr of every control request. */
enum blksnap_ioctl {
	BLKSNAP_IOCTL_VERSION = 0,
	BLKSNAP_IOCTL_SNAPSHOT_CREATE = 1,
	BLKSNAP_IOCTL_SNAPSHOT_DESTROY = 2,
	BLKSNAP_IOCTL_SNAPSHOT_TAKE = 3,
	BLKSNAP_IOCTL_SNAPSHOT_COLLECT = 4,
	BLKSNAP_IOCTL_SNAPSHOT_WAIT_EVENT = 5,
	BLKSNAP_IOCTL_MOD = 32,
	BLKSNAP_IOCTL_SETLOG,
	BLKSNAP_IOCTL_SNAPSHOT_APPEND_STORAGE,
};

/* VERSION: filled in by the module (7.0.0.0). */
struct blksnap_version {
	__u16 major;
	__u16 minor;
	__u16 revision;
	__u16 build;
};

#define IOCTL_BLKSNAP_VERSION \
	_IOR(BLKSNAP, BLKSNAP_IOCTL_VERSION, struct blksnap_version)

/*
 * SNAPSHOT_CREATE: the difference storage is chosen here.
 * diff_storage_limit_sect: the most sectors the storage may grow to.
 * diff_storage_filename:   user pointer to the path of a file, directory or
 *                          block device; 0 selects range mode (storage
 *                          given later with SNAPSHOT_APPEND_STORAGE).
 * id:                      written by the module: the new snapshot's id.
 */
struct blksnap_snapshot_create {
	__u64 diff_storage_limit_sect;
	__u64 diff_storage_filename;
	struct blksnap_uuid id;
};

#define IOCTL_BLKSNAP_SNAPSHOT_CREATE \
	_IOWR(BLKSNAP, BLKSNAP_IOCTL_SNAPSHOT_CREATE, \
	      struct blksnap_snapshot_create)

/* DESTROY and TAKE take the snapshot's id itself. */
#define IOCTL_BLKSNAP_SNAPSHOT_DESTROY \
	_IOW(BLKSNAP, BLKSNAP_IOCTL_SNAPSHOT_DESTROY, struct blksnap_uuid)

#define IOCTL_BLKSNAP_SNAPSHOT_TAKE \
	_IOW(BLKSNAP, BLKSNAP_IOCTL_SNAPSHOT_TAKE, struct blksnap_uuid)

/*
 * SNAPSHOT_COLLECT: with ids == 0, count := number of snapshots; otherwise
 * up to `count` ids (struct blksnap_uuid) are written to the user array.
 */
struct blksnap_snapshot_collect {
	__u32 count;
	__u64 ids;
};

#define IOCTL_BLKSNAP_SNAPSHOT_COLLECT \
	_IOR(BLKSNAP, BLKSNAP_IOCTL_SNAPSHOT_COLLECT, \
	     struct blksnap_snapshot_collect)

/*
 * WAIT_EVENT codes as the shipped modules are built (BLKSNAP_MODIFICATION):
 * corrupted = 0, low_free_space = 1 - the reverse of v5 and of VAL-6.x.
 * Without that define only corrupted = 0 would exist.
 */
enum blksnap_event_codes {
	blksnap_event_code_corrupted,
	blksnap_event_code_low_free_space,
};

/*
 * SNAPSHOT_WAIT_EVENT: the module reads id and timeout_ms (20 bytes;
 * the timeout counts jiffies) and writes the whole page back: code,
 * time_label (CLOCK_MONOTONIC ns) and the payload in data.
 */
struct blksnap_snapshot_event {
	struct blksnap_uuid id;
	__u32 timeout_ms;
	__u32 code;
	__s64 time_label;
	__u8 data[4096 - 32];
};

#define IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT \
	_IOR(BLKSNAP, BLKSNAP_IOCTL_SNAPSHOT_WAIT_EVENT, \
	     struct blksnap_snapshot_event)

/* Payload of blksnap_event_code_corrupted; err_code is a positive errno. */
struct blksnap_event_corrupted {
	__u32 dev_id_mj;
	__u32 dev_id_mn;
	__s32 err_code;
};

/* Payload of blksnap_event_code_low_free_space (range mode only). */
struct blksnap_event_low_free_space {
	__u64 requested_nr_sect;
};

/* Bit numbers of blksnap_mod.compatibility_flags. */
enum blksnap_compat_flags {
	blksnap_compat_flag_debug_sector_state,
	blksnap_compat_flag_setlog,
	blksnap_compat_flags_end
};

#define BLKSNAP_MOD_NAME_LIMIT 32

/*
 * MOD: filled in by the module: the compatibility bits (1 << flag) and the
 * NUL-padded name of the build ("standalone" for the shipped modules).
 */
struct blksnap_mod {
	__u64 compatibility_flags;
	__u8 name[BLKSNAP_MOD_NAME_LIMIT];
};

#define IOCTL_BLKSNAP_MOD \
	_IOR(BLKSNAP, BLKSNAP_IOCTL_MOD, struct blksnap_mod)

/*
 * SETLOG: the module's own log file. level is signed here (negative
 * disables, as does LOGLEVEL_DISABLE); filepath is a user pointer to
 * filepath_size bytes.
 */
struct blksnap_setlog {
	__s32 tz_minuteswest;
	__s32 level;
	__u32 filepath_size;
	__u64 filepath;
};

#define LOGLEVEL_DISABLE 0
#define LOGLEVEL_ERR 3
#define LOGLEVEL_WARN 4
#define LOGLEVEL_DEBUG 7

#define IOCTL_BLKSNAP_SETLOG \
	_IOW(BLKSNAP, BLKSNAP_IOCTL_SETLOG, struct blksnap_setlog)

/*
 * SNAPSHOT_APPEND_STORAGE (range mode): `count` ranges (struct
 * blksnap_sectors at user pointer `ranges`) of the block device whose path
 * is at user pointer `devpath` become difference storage of snapshot `id`.
 */
struct blksnap_snapshot_append_storage {
	struct blksnap_uuid id;
	__u64 devpath;
	__u32 count;
	__u64 ranges;
};

#define IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE \
	_IOW(BLKSNAP, BLKSNAP_IOCTL_SNAPSHOT_APPEND_STORAGE, \
	     struct blksnap_snapshot_append_storage)

/* ------------------------------------------------------------------------ */
/* Swift-visible additions (not in the module headers)                       */
/* ------------------------------------------------------------------------ */

/*
 * Paths of the two misc devices ("/dev/" BLKSNAP_CTL and "/dev/" BDEVFILTER,
 * spelled out: Swift imports only plain string literals).
 */
#define VEEAMBLKSNAP_CTL_PATH "/dev/veeamblksnap"
#define BDEVFILTER_PATH "/dev/bdevfilter"

/* Name under which veeamblksnap registers its filter with bdevfilter. */
#define VEEAMBLKSNAP_FILTER_NAME "blksnap"

/* Version reported by VAL-7.0. */
#define VEEAMBLKSNAP_VERSION_MAJOR 7
#define VEEAMBLKSNAP_VERSION_MINOR 0
#define VEEAMBLKSNAP_VERSION_REVISION 0
#define VEEAMBLKSNAP_VERSION_BUILD 0

/* blksnap_mod of the shipped builds: name and compatibility bits. */
#define VEEAMBLKSNAP_MOD_NAME_STANDALONE "standalone"
#define VEEAMBLKSNAP_MOD_COMPAT_FLAGS_STANDALONE 0x2

/* Bytes of blksnap_snapshot_event the module copies in (id + timeout_ms). */
#define VEEAMBLKSNAP_EVENT_COPY_IN_SIZE 20
/* Capacity of blksnap_snapshot_event.data. */
#define VEEAMBLKSNAP_EVENT_DATA_CAPACITY (4096 - 32)

/* Request numbers, computed with the kernel's own macros. */
static const unsigned long VEEAMBLKSNAP_REQ_VERSION = IOCTL_BLKSNAP_VERSION;
static const unsigned long VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE = IOCTL_BLKSNAP_SNAPSHOT_CREATE;
static const unsigned long VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY = IOCTL_BLKSNAP_SNAPSHOT_DESTROY;
static const unsigned long VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE = IOCTL_BLKSNAP_SNAPSHOT_TAKE;
static const unsigned long VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT = IOCTL_BLKSNAP_SNAPSHOT_COLLECT;
static const unsigned long VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT = IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT;
static const unsigned long VEEAMBLKSNAP_REQ_MOD = IOCTL_BLKSNAP_MOD;
static const unsigned long VEEAMBLKSNAP_REQ_SETLOG = IOCTL_BLKSNAP_SETLOG;
static const unsigned long VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE = IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE;
static const unsigned long BDEVFILTER_REQ_ATTACH = BDEVFILTER_ATTACH;
static const unsigned long BDEVFILTER_REQ_DETACH = BDEVFILTER_DETACH;
static const unsigned long BDEVFILTER_REQ_CTL = BDEVFILTER_CTL;

#ifdef __cplusplus
}
#endif

#endif /* CVEEAM_BLKSNAP_UAPI_H */
