// A fused float body that calls vector math gets a blocked form: its ops as
// loops over kBlock elements split at each knet::detail::vm call, values
// crossing a call in arrays (bools as 1/0 of T), the call's result written
// straight into the output when it is only returned; f32 chunks run it
// (a partial chunk through padded copies). A body without such a call keeps
// the element loop only. Every row runs in chunks of unit-stride arrays:
// operands of unit stride in place, an input broadcast along the row
// (stride 0, a [1,C,1,1] bias) through an array filled once per row, others
// through copies. A sum folding the row sums in the runtime's order
// (vm::RowSum); a row of accumulators is added to element by element.
// RUN: %knetc --emit=cpp %s -- -std=c++20 | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: // knet_k{{[0-9]+}}: sigm, mul{{$}}
// CHECK: KNET_VECTOR_LOOPS static void block(T *__restrict y0, const T *__restrict x0, const T *__restrict x1) {
// CHECK: alignas(64) T m{{[0-9]+}}[knet::detail::vm::kBlock];
// CHECK: for (int64_t j = 0; j < knet::detail::vm::kBlock; ++j) {
// CHECK: m[[MASK:[0-9]+]][j] = v{{[0-9]+}} ? T(1) : T(0);
// CHECK: knet::detail::vm::exp(m{{[0-9]+}}, m{{[0-9]+}}, knet::detail::vm::kBlock);
// CHECK: (m[[MASK]][j] != T(0))
// CHECK: y0[j] =
// CHECK: static void step(int64_t m, T *__restrict y0, const T *__restrict x0, const T *__restrict x1) {
// CHECK-NEXT: if constexpr (sizeof(T) == sizeof(float)) {
// CHECK: if (m == K) {
// CHECK-NEXT: block(y0, x0, x1);
// CHECK: b0[j] = j < m ? x0[j] : T(0);
// CHECK: block(c0, b0, b1);
// CHECK: body(x0[j], x1[j], y0[j]);
// CHECK: static void row(
KNET_COMPILE Tensor gate(const Tensor &x, const Tensor &c) {
  return sigm(x) * c;
}

// CHECK-LABEL: // knet_k{{[0-9]+}}: add, tanh{{$}}
// CHECK: static void block(T *__restrict y0, const T *__restrict x0, const T *__restrict x1) {
// CHECK: m[[SUM:[0-9]+]][j] = v{{[0-9]+}};
// CHECK-NEXT: }
// CHECK-NEXT: knet::detail::vm::tanh(m[[SUM]], y0, knet::detail::vm::kBlock);
// CHECK-NEXT: }
KNET_COMPILE Tensor squash(const Tensor &x, const Tensor &b) {
  return tanh(x + b);
}

// CHECK-LABEL: // knet_k{{[0-9]+}}: add, relu{{$}}
// CHECK-NOT: block(
// CHECK: static void step(int64_t m, T *__restrict y0, const T *__restrict x0, const T *__restrict x1) {
// CHECK-NEXT: for (int64_t j = 0; j < m; ++j)
// CHECK-NEXT: body(x0[j], x1[j], y0[j]);
// CHECK: static void row(
// CHECK: const bool u1 = s[2] == sizeof(T), w1 = s[2] == 0;
// CHECK-NEXT: alignas(64) T b1[K];
// CHECK-NEXT: if (w1)
// CHECK-NEXT: std::fill_n(b1, fill, *reinterpret_cast<const T *>(p[2]));
// CHECK: const T *a1 = b1;
// CHECK-NEXT: if (u1)
// CHECK-NEXT: a1 = reinterpret_cast<const T *>(p[2]) + j0;
// CHECK-NEXT: else if (!w1)
// CHECK: T *d0 = v0 ? reinterpret_cast<T *>(p[0]) + j0 : c0;
// CHECK-NEXT: step(m, d0, a0, a1);
// CHECK-NOT: block(
// CHECK: const knet::detail::FusedKernel knet_k{{[0-9]+}}_kernel
KNET_COMPILE Tensor layer(const Tensor &x, const Tensor &b) {
  return relu(x + b);
}

// CHECK-LABEL: // knet_k{{[0-9]+}}: add, relu; reduce sum{{$}}
// CHECK: static void row(
// CHECK: knet::detail::vm::RowSum sum;
// CHECK: step(m, c0, a0, a1);
// CHECK-NEXT: if (s[0] == 0) {
// CHECK-NEXT: knet::detail::vm::row_sum_add(sum, c0, m);
// CHECK-NEXT: } else if (s[0] == sizeof(double)) {
// CHECK-NEXT: double *acc = reinterpret_cast<double *>(p[0]) + j0;
// CHECK-NEXT: for (int64_t j = 0; j < m; ++j)
// CHECK-NEXT: acc[j] += static_cast<double>(c0[j]);
// CHECK: if (s[0] == 0)
// CHECK-NEXT: *reinterpret_cast<double *>(p[0]) += knet::detail::vm::row_sum_total(sum);
// CHECK: static void map(
// CHECK: const knet::detail::FusedKernel knet_k{{[0-9]+}}_kernel
KNET_COMPILE Tensor total(const Tensor &x, const Tensor &b) {
  return sum(relu(x + b), {1});
}
