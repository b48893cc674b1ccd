#ifndef CVEEAMBLKSNAPABIPROBE_H
#define CVEEAMBLKSNAPABIPROBE_H
/*
 * The VAL-7.0 ("veeamblksnap" + bdevfilter) ABI, as the C compiler sees it
 * through CVeeamBlksnapUAPI.h, for the Swift tests.
 * probe.c also checks every value with _Static_assert, so a drift breaks the build.
 * Names are prefixed veeam_v7_abi_ so that every probe links into the one test binary.
 */

/* sizeof/_Alignof of `struct <type>` (type without "struct "), or -1 if unknown. */
long veeam_v7_abi_sizeof(const char *type);
long veeam_v7_abi_alignof(const char *type);
/* offsetof/sizeof of a field of `struct <type>`, or -1 if unknown. */
long veeam_v7_abi_offsetof(const char *type, const char *field);
long veeam_v7_abi_fieldsize(const char *type, const char *field);
/* A request number by its kernel macro name (IOCTL_BLKSNAP_*, BDEVFILTER_*), or 0. */
unsigned long veeam_v7_abi_request(const char *name);
/* An enum value or numeric constant by name, or -1. */
long veeam_v7_abi_constant(const char *name);
/* Row counts of the tables above. */
int veeam_v7_abi_type_count(void);
int veeam_v7_abi_field_count(void);
int veeam_v7_abi_request_count(void);
int veeam_v7_abi_constant_count(void);

#endif
