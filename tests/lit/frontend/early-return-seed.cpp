// The adjoint of a function with an early return seeds its cotangent from
// its own forward sweep, in each branch where the returned value is ready:
// no second run of the forward (issue 21, item 6).
// RUN: %knetc --emit=cpp --no-fuse %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: knet_feat_loss_grad(
// CHECK-NOT: knet_feat_loss_forward(in)
// CHECK: knet::relu(
// CHECK: knet::Tensor [[LOSS:v[0-9]+]] = knet::sum(
// CHECK-NEXT: if (!dy.defined())
// CHECK-NEXT: dy = knet::ones_like([[LOSS]]); // the seed
// CHECK: } else {
// CHECK-NEXT: if (!dy.defined())
// CHECK-NEXT: dy = knet::ones_like(v{{[0-9]+}}); // the seed
// CHECK-NOT: knet_feat_loss_forward(in)
// CHECK: static const knet::detail::CompiledFunction knet_feat_loss_compiled
KNET_COMPILE Tensor feat_loss(const Tensor &w, const Tensor &x, int k) {
  Tensor h = tanh(matmul(x, w));
  if (k > 2)
    return sum(h * h);
  Tensor g = relu(h) * 2.0;
  return sum(g);
}

// A return from inside a loop: the returned value comes out of the loop,
// which uses the cotangent in its reverse; the seed still comes from the
// forward sweep when the value is ready, else from a run of the forward.
// CHECK-LABEL: knet_first_big_grad(
// CHECK-NOT: knet_first_big_forward(in)
// CHECK: while (true) {
// CHECK: knet::Tensor [[R:v[0-9]+]] = v{{[0-9]+}} ? v{{[0-9]+}} : v{{[0-9]+}};
// CHECK-NEXT: if (!dy.defined())
// CHECK-NEXT: dy = knet::ones_like([[R]]); // the seed
// CHECK-NOT: knet_first_big_forward(in)
// CHECK: return {[[R]]};
KNET_COMPILE Tensor first_big(Tensor x, int n) {
  for (int i = 0; i < n; ++i) {
    if (sum(x).item<double>() > 10.0)
      return x * 2.0;
    x = x * 1.5;
  }
  return x;
}
