// The runtime's per-instruction-set loops (core/isa.h), compiled for avx2
// (runtime/CMakeLists.txt).
#define KNET_ISA avx2
#define KNET_UPDATE_TABLE update_avx2_table
#define KNET_KERNEL_TABLE kernel_avx2_table
#include "core/isa.inc"
