// The runtime's per-instruction-set loops (core/isa.h), compiled for avx512
// (runtime/CMakeLists.txt).
#define KNET_ISA avx512
#define KNET_UPDATE_TABLE update_avx512_table
#define KNET_KERNEL_TABLE kernel_avx512_table
#include "core/isa.inc"
