// Vector math over arrays: the transcendental functions of every CPU
// elementwise path (the runtime's ops and backward kernels, knetc's fused
// kernels, the log-sum-exp and softmax rows).
//
// The float functions run on SLEEF's vectorized functions (its 1.0-ulp
// variants; for tanh its 3.5-ulp one) in the widest instruction set the CPU
// has, chosen when the library loads: AVX-512, AVX2+FMA, SSE4.1, or libm's
// scalar functions on any other CPU. KNET_SIMD=avx512|avx2|sse4|scalar picks
// one (never one the CPU lacks). The double functions stay on libm.
// docs/ops.md, "Vector math", states the accuracy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

// On the blocked bodies' functions: GCC if-converts (and so vectorizes) a
// select between two divisions only when it may assume that floating-point
// operations do not trap, which knet never makes them do. Values do not
// change. Clang vectorizes them as they are.
#if defined(__GNUC__) && !defined(__clang__)
#define KNET_VECTOR_LOOPS __attribute__((optimize("no-trapping-math")))
#else
#define KNET_VECTOR_LOOPS
#endif

namespace knet::detail::vm {

// Elements per block of the blocked elementwise bodies (knet/fused.h and
// the runtime's op bodies): a body's intermediates live in arrays of this
// many elements between calls of these functions.
constexpr int64_t kBlock = 256;

// The one-argument functions, X(name) each: y[i] = name(x[i]) for i < n
// (y may be x).
#define KNET_VM_UNARY_FUNCTIONS(X)                                             \
  X(exp) X(expm1) X(log) X(log1p) X(tanh) X(sin) X(cos) X(erf) X(sqrt)

#define KNET_VM_DECLARE(fn)                                                    \
  void fn(const float *x, float *y, int64_t n);                                \
  void fn(const double *x, double *y, int64_t n);
KNET_VM_UNARY_FUNCTIONS(KNET_VM_DECLARE)
#undef KNET_VM_DECLARE
// z[i] = pow(x[i], y[i]).
void pow(const float *x, const float *y, float *z, int64_t n);
void pow(const double *x, const double *y, double *z, int64_t n);

// A sum in double in the order of the runtime's row sums (its reductions
// and sum_to): kSumLanes partial sums, lane l adding the elements
// j = l mod kSumLanes of the row, then the last piece's tail in order, the
// lanes added up once at the end. Rows may be given in pieces with
// row_sum_add, each piece but the last a multiple of kSumLanes long; knetc's
// fused reductions sum this way, so that they give the runtime's bits.
constexpr int kSumLanes = 16;
struct RowSum {
  double part[kSumLanes + 1] = {}; // the lanes, then the tail
};
void row_sum_add(RowSum &s, const float *x, int64_t n);
void row_sum_add(RowSum &s, const double *x, int64_t n);
double row_sum_total(const RowSum &s);

// The instruction set the float functions use now.
const char *isa();
// The instruction sets this CPU runs, widest first ("scalar" last).
std::vector<std::string> supported_isas();
// Switches the float functions to `name` (tests and benchmarks; not while
// other threads run kernels); false, changing nothing, when the CPU lacks it.
bool set_isa(const std::string &name);

} // namespace knet::detail::vm
