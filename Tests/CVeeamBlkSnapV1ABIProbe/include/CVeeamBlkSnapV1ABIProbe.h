#ifndef CVEEAMBLKSNAPV1ABIPROBE_H
#define CVEEAMBLKSNAPV1ABIPROBE_H
/*
 * The VAL-6.3.1 ("blk_snap" v1) ABI, as the C compiler sees it through
 * CVeeamBlkSnapV1UAPI.h, for the Swift tests.
 * probe.c also checks every value with _Static_assert, so a drift breaks the build.
 * Names are prefixed veeam_v1_abi_ so that every probe links into the one test binary.
 */

/* sizeof/_Alignof of `struct <type>` (type without "struct "), or -1 if unknown. */
long veeam_v1_abi_sizeof(const char *type);
long veeam_v1_abi_alignof(const char *type);
/* offsetof/sizeof of a field of `struct <type>`, or -1 if unknown. */
long veeam_v1_abi_offsetof(const char *type, const char *field);
long veeam_v1_abi_fieldsize(const char *type, const char *field);
/* A request number by its kernel macro name (IOCTL_BLK_SNAP_*), or 0. */
unsigned long veeam_v1_abi_request(const char *name);
/* An enum value or numeric constant by name, or -1. */
long veeam_v1_abi_constant(const char *name);
/* Row counts of the tables above. */
int veeam_v1_abi_type_count(void);
int veeam_v1_abi_field_count(void);
int veeam_v1_abi_request_count(void);
int veeam_v1_abi_constant_count(void);

#endif
