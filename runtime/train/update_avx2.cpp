// The optimizers' update loops, compiled for avx2 (runtime/CMakeLists.txt).
#define KNET_UPDATE_TABLE update_avx2_table
#include "train/update_isa.inc"
