// Calls to functions with visible bodies are lowered inline: helpers,
// helpers with reference out-parameters, and methods of model structs.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

static Tensor dense(const Tensor &x, const Tensor &w) { return relu(matmul(x, w)); }

static void update(Tensor &h, const Tensor &x) { h = tanh(h + x); }

struct Layer {
  Param w;
  Tensor operator()(const Tensor &x) const { return dense(x, w); }
  Tensor apply(const Tensor &x) const { return sigm(matmul(x, w)); }
};

// CHECK-LABEL: func.func @net(
// CHECK-NOT: func.call
// CHECK: knet.matmul
// CHECK: knet.relu
// CHECK: knet.add
// CHECK: knet.tanh
// CHECK: knet.matmul
// CHECK: knet.sigm
// CHECK: knet.matmul
// CHECK: knet.relu
// CHECK: return
KNET_COMPILE Tensor net(const Layer &l, Tensor x, Tensor w) {
  Tensor h = dense(x, w);
  update(h, x);
  h = l.apply(h);
  return l(h);
}

// Helpers with early returns and loops inline too.
static Tensor repeat(Tensor x, int n) {
  if (n <= 0)
    return x;
  for (int i = 0; i < n; ++i)
    x = x * 2.0;
  return x;
}
// CHECK-LABEL: func.func @twice(
// CHECK: scf.if
// CHECK: scf.for
KNET_COMPILE Tensor twice(Tensor x) { return repeat(x, 2); }
