// A fused float body that calls vector math gets a blocked form: its ops as
// loops over kBlock elements split at each knet::detail::vm call, values
// crossing a call in arrays (bools as 1/0 of T), the call's result written
// straight into the output when it is only returned; f32 rows run it block
// by block (partial and strided blocks through padded copies). A body
// without such a call keeps the element loop only.
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
// CHECK: static void row(
// CHECK: if constexpr (sizeof(T) == sizeof(float)) {
// CHECK: if (unit && m == K) {
// CHECK: b0[j] = j < m ?
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
// CHECK-NOT: static void block(
// CHECK: static void row(
// CHECK-NOT: knet::detail::vm::
// CHECK: const knet::detail::FusedKernel knet_k{{[0-9]+}}_kernel
KNET_COMPILE Tensor layer(const Tensor &x, const Tensor &b) {
  return relu(x + b);
}
