// The runtime's loops compiled once per x86 instruction set
// (core/isa_<name>.cpp, from core/isa.inc): the optimizers' updates
// (train/update_isa.inc), the blocked bodies of the elementwise ops
// (ops/op_bodies.inc) and the dense float rows of the reductions
// (core/rows.h). They run in the vector math's instruction set (vm::isa()),
// base for sse4 and scalar. None contracts a*b+c into an FMA, so every
// instruction set computes the same values (the vector math aside).
//
// A file compiled for an instruction set defines KNET_ISA to its name
// before including this header: the bodies and rows it compiles then live in
// the inline namespace of that name, apart from the other sets' copies.
#pragma once

#ifndef KNET_ISA
#define KNET_ISA base
#endif

#include "ops/op_bodies.inc"

#include <cstdint>

namespace knet::detail {

enum class Isa { avx512, avx2, base };

// The instruction set of the loops that run now.
Isa loops_isa();

// One instruction set's blocked bodies and rows.
struct KernelTable {
#define KNET_KERNEL_BODY_1(op) void (*op)(float *, const float *);
#define KNET_KERNEL_BODY_2(op)                                                 \
  void (*op)(float *, const float *, const float *);
#define KNET_KERNEL_BODY(op, n) KNET_KERNEL_BODY_##n(op)
  KNET_BLOCKED_BODIES(KNET_KERNEL_BODY)
#undef KNET_KERNEL_BODY
#undef KNET_KERNEL_BODY_2
#undef KNET_KERNEL_BODY_1
  // row_extremum, row_sum<double> and sum_exp_shifted of core/rows.h on
  // unit-stride float rows.
  float (*row_max)(const float *x, int64_t n);
  float (*row_min)(const float *x, int64_t n);
  double (*row_sum)(const float *x, int64_t n);
  double (*sum_exp_shifted)(const float *x, int64_t n, float m,
                            const float *next);
  // LaneSum<double, float>::add on the state LaneSum::store keeps.
  void (*row_sum_add)(double *state, const float *x, int64_t n);
};

// The table of loops_isa().
const KernelTable &kernels();

// Of one object per instruction set, the one for loops_isa().
template <class T>
const T &for_isa(const T &avx512, const T &avx2, const T &base) {
  switch (loops_isa()) {
  case Isa::avx512:
    return avx512;
  case Isa::avx2:
    return avx2;
  default:
    return base;
  }
}

} // namespace knet::detail
