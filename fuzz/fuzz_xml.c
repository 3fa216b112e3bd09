/* libFuzzer harness: the xml VM config parser (see vmd_harness.h). */
#include "config.h"
#define VMD_FUZZ_FORMAT VMD_FMT_XML
#include "fuzz/vmd_harness.h"
