// Batchnorm compiles (issue 21): its Moments are in-out state of the
// compiled ABI (two leaves in, their final values after the results), the
// training flag may be a run-time bool (one batchnorm per mode under an
// scf.if), and in the forward function an inference-mode batchnorm of a
// convolution is folded into it (knet-fold-batchnorm); the adjoint keeps
// the two ops.
// RUN: %knetc --emit=cpp --no-fuse %s | FileCheck %s
// RUN: %knetc --explain %s | FileCheck %s --check-prefix=EXPLAIN
#include <knet/knet.h>
using namespace knet;

struct Net {
  Param c1, bn1;
  Moments m1;
  Tensor last;
};

// EXPLAIN: batchnorm-state.cpp:[[@LINE+14]]: either: compiled statically
// CHECK-LABEL: knet_either_forward(
// CHECK: knet::Moments m_m1{in[2], in[3]};
// CHECK: if (train) {
// CHECK: knet::conv2d(x, m_c1, {.padding = 1});
// CHECK-NEXT: knet::batchnorm(v{{[0-9]+}}, m_m1, m_bn1, {.training = true});
// CHECK: } else {
// CHECK: knet::conv2d_batchnorm(x, m_c1, m_m1, m_bn1, 1e-05, {.padding = 1});
// CHECK: return {v{{[0-9]+}}, m_m1.mean, m_m1.var};
// CHECK-LABEL: knet_either_grad(
// CHECK-NOT: conv2d_batchnorm
// CHECK: knet::batchnorm_back(
// CHECK: return {v{{[0-9]+}}, m_m1.mean, m_m1.var};
// CHECK: "either", knet_either_forward, knet_either_grad, 2};
KNET_COMPILE Tensor either(Net &m, const Tensor &x, bool train) {
  return sum(relu(batchnorm(conv2d(x, m.c1, {.padding = 1}), m.m1, m.bn1,
                            {.training = train})));
}

// Writing a field through the non-const reference is refused: only the
// Moments are written back.
// EXPLAIN: batchnorm-state.cpp:[[@LINE+1]]: writes: stays on the tape: {{.*}}batchnorm-state.cpp:[[@LINE+3]]: assignment through 'm', a non-const reference whose only state written back to the caller is its Moments (which batchnorm updates)
KNET_COMPILE Tensor writes(Net &m, const Tensor &x) {
  Tensor y = batchnorm(x, m.m1, m.bn1);
  m.last = y;
  return sum(y);
}
