// Float vector math with SSE4.1 (compiled with -msse4.1).
#define KNET_VM_TABLE sse4_table
#define KNET_VM_NAME "sse4"
#define KNET_VM_W 4
#define KNET_VM_V __m128
#define KNET_VM_LOAD _mm_loadu_ps
#define KNET_VM_STORE _mm_storeu_ps
#define KNET_VM_SLEEF(f, u) Sleef_##f##4##u##sse4
#define KNET_VM_GT_SELECT(x, c, a, b)                                          \
  _mm_blendv_ps(a, b, _mm_cmpgt_ps(x, _mm_set1_ps(c)))
#include "core/vmath_isa.inc"
