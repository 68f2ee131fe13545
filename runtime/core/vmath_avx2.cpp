// Float vector math with AVX2 and FMA (compiled with -mavx2 -mfma).
#define KNET_VM_TABLE avx2_table
#define KNET_VM_NAME "avx2"
#define KNET_VM_W 8
#define KNET_VM_V __m256
#define KNET_VM_LOAD _mm256_loadu_ps
#define KNET_VM_STORE _mm256_storeu_ps
#define KNET_VM_SLEEF(f, u) Sleef_##f##8##u##avx2
#define KNET_VM_GT_SELECT(x, c, a, b)                                          \
  _mm256_blendv_ps(a, b, _mm256_cmp_ps(x, _mm256_set1_ps(c), _CMP_GT_OQ))
#include "core/vmath_isa.inc"
