// The NVRTC options that specialize the CUDA source of a fused kernel
// (knetc's codegen/EmitKernels), and the CUDA C every such kernel (and the
// runtime's copy kernels) starts with: one place for the runtime's JIT, for
// the emitter and for `knetc --check-cuda`. Header-only, standard library
// only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace knet::jit {

// f16 through PTX's cvt, bf16 by its bits (round to nearest even, NaN kept
// quiet): no CUDA headers needed. Storage is unsigned short.
// Guarded: a program may hold several kernels (knetc --check-cuda).
constexpr const char *kHalfConversions = R"(#ifndef KNET_HALF_CONVERSIONS
#define KNET_HALF_CONVERSIONS
__device__ __forceinline__ float knet_h2f(unsigned short h) {
  float f;
  asm("{ .reg .b16 t; mov.b16 t, %1; cvt.f32.f16 %0, t; }" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ unsigned short knet_f2h(float f) {
  unsigned short h;
  asm("{ .reg .b16 t; cvt.rn.f16.f32 t, %1; mov.b16 %0, t; }" : "=h"(h) : "f"(f));
  return h;
}
__device__ __forceinline__ float knet_b2f(unsigned short b) {
  return __uint_as_float(((unsigned)b) << 16);
}
__device__ __forceinline__ unsigned short knet_f2b(float f) {
  unsigned u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (unsigned short)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (unsigned short)(u >> 16);
}
#endif
)";

// How a fused kernel stores its float operands, after `typedef KNET_T T;`:
// S is the storage type, KNET_LD(v) turns a stored S into T and KNET_ST(v)
// a T into S. KNET_HALF (default 0) selects it: 0 stores T itself, 1 f16,
// 2 bf16 (then T is float: f16/bf16 storage, f32 arithmetic).
constexpr const char *kStoragePrelude = R"(#ifndef KNET_HALF
#define KNET_HALF 0
#endif
#if KNET_HALF == 1
typedef unsigned short S;
#define KNET_LD(v) ((T)knet_h2f(v))
#define KNET_ST(v) knet_f2h((float)(v))
#elif KNET_HALF == 2
typedef unsigned short S;
#define KNET_LD(v) ((T)knet_b2f(v))
#define KNET_ST(v) knet_f2b((float)(v))
#else
typedef T S;
#define KNET_LD(v) (v)
#define KNET_ST(v) (v)
#endif
)";

// f64: double elements (else float); rank: dims of the (kept) iteration
// space; reduced_rank: dims folded by a reduction; dense_mask: bit k set when
// operand k (results first, then inputs) is dense over the iteration space,
// so that its offset is the element index (no strides, no broadcast);
// half: 0, or 1/2 for f16/bf16 storage with float arithmetic (f64 false).
// Accumulators are double.
inline std::vector<std::string> fused_kernel_options(bool f64, int rank,
                                                     int reduced_rank,
                                                     uint64_t dense_mask,
                                                     int half = 0) {
  return {f64 ? "-DKNET_T=double" : "-DKNET_T=float",
          "-DKNET_ACC=double",
          "-DKNET_RANK=" + std::to_string(std::max(rank, 1)),
          "-DKNET_RRANK=" + std::to_string(std::max(reduced_rank, 1)),
          "-DKNET_DENSE=" + std::to_string(dense_mask) + "ull",
          "-DKNET_HALF=" + std::to_string(half)};
}

} // namespace knet::jit
