// Float vector math with AVX-512 (compiled with -mavx512f -mfma).
#define KNET_VM_TABLE avx512_table
#define KNET_VM_NAME "avx512"
#define KNET_VM_W 16
#define KNET_VM_V __m512
#define KNET_VM_LOAD _mm512_loadu_ps
#define KNET_VM_STORE _mm512_storeu_ps
#define KNET_VM_SLEEF(f, u) Sleef_##f##16##u##avx512f
#define KNET_VM_GT_SELECT(x, c, a, b)                                          \
  _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(c), _CMP_GT_OQ),   \
                       a, b)
#include "core/vmath_isa.inc"
