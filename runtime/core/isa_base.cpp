// The runtime's per-instruction-set loops (core/isa.h), compiled for base
// (runtime/CMakeLists.txt).
#define KNET_ISA base
#define KNET_UPDATE_TABLE update_base_table
#define KNET_KERNEL_TABLE kernel_base_table
#include "core/isa.inc"
