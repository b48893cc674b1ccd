#include "CBlksnapABIProbe.h"
#include <CBlksnapUAPI.h>
int blksnap_abi_probe_placeholder(void) { return (int)sizeof(struct blksnap_cbtinfo); }
