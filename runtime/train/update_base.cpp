// The optimizers' update loops, compiled for base (runtime/CMakeLists.txt).
#define KNET_UPDATE_TABLE update_base_table
#include "train/update_isa.inc"
