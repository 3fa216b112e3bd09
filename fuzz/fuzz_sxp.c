/* libFuzzer harness: the sxp VM config parser (see vmd_harness.h). */
#include "config.h"
#define VMD_FUZZ_FORMAT VMD_FMT_SXP
#include "fuzz/vmd_harness.h"
