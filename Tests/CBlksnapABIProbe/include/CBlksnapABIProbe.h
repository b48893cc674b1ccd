#ifndef CBLKSNAP_ABI_PROBE_H
#define CBLKSNAP_ABI_PROBE_H
/*
 * The blksnap v5 ABI as the C compiler sees it, for the Swift tests.
 * probe.c also checks every value with _Static_assert, so a drift breaks the build.
 */

/* sizeof/_Alignof of `struct <type>` (type without "struct "), or -1 if unknown. */
long blksnap_abi_sizeof(const char *type);
long blksnap_abi_alignof(const char *type);
/* offsetof/sizeof of a field of `struct <type>`, or -1 if unknown. */
long blksnap_abi_offsetof(const char *type, const char *field);
long blksnap_abi_fieldsize(const char *type, const char *field);
/* A request number by its kernel name (IOCTL_BLKSNAP_*, BLKFILTER_*, BLKSSZGET, BLKGETSIZE64), or 0. */
unsigned long blksnap_abi_request(const char *name);
/* An enum value or numeric constant by name, or -1. */
long blksnap_abi_constant(const char *name);
/* Row counts of the tables above. */
int blksnap_abi_type_count(void);
int blksnap_abi_field_count(void);
int blksnap_abi_request_count(void);

#endif
