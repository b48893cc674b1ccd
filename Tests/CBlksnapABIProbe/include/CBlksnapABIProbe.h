#ifndef CBLKSNAP_ABI_PROBE_H
#define CBLKSNAP_ABI_PROBE_H
/* Filled in by the ABI test work. */
int blksnap_abi_probe_placeholder(void);
#endif
