// The optimizers' update loops, compiled for avx512 (runtime/CMakeLists.txt).
#define KNET_UPDATE_TABLE update_avx512_table
#include "train/update_isa.inc"
