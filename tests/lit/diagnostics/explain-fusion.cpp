// --explain says, per compiled function, how many ops fusion left and which
// kernels it formed. The MLP's bias+relu is one kernel, and its backward
// (relu_back) fuses with the bias gradient's reduction; the LSTM cell's
// forward is one kernel and its adjoint's elementwise work two. Each also
// has the split adjoint for taped callers (knet-split-adjoint): a forward
// that saves what the backward reads, and a backward that starts from it.
// RUN: %knetc --explain %s -- -std=c++20 | FileCheck %s
// RUN: %knetc --explain --no-fuse %s -- -std=c++20 | FileCheck %s --check-prefix=NOFUSE
#include <knet/knet.h>
using namespace knet;

// CHECK: explain-fusion.cpp:[[@LINE+12]]: mlp: compiled statically
// CHECK-NEXT: forward: 5 ops, 4 after fusion (1 kernel)
// CHECK-NEXT: knet_k0 (line [[@LINE+12]]): add, relu
// CHECK-NEXT: gradient: {{[0-9]+}} ops, {{[0-9]+}} after fusion (3 kernels)
// CHECK-NEXT: knet_k1 (line [[@LINE+10]]): add, relu
// CHECK-NEXT: knet_k2 (line [[@LINE+9]]): relu_back; reduce sum_to
// CHECK-NEXT: knet_k3 (line [[@LINE+8]]): relu_back; reduce sum_to
// CHECK-NEXT: forward for taped callers, saving {{[0-9]+}} values: 5 ops, 4 after fusion (1 kernel)
// CHECK-NEXT: knet_k4 (line [[@LINE+6]]): add, relu
// CHECK-NEXT: backward for taped callers, from the saved values: {{[0-9]+}} ops, {{[0-9]+}} after fusion (2 kernels)
// CHECK-NEXT: knet_k5 (line [[@LINE+4]]): relu_back; reduce sum_to
// CHECK-NEXT: knet_k6 (line [[@LINE+3]]): relu_back; reduce sum_to
KNET_COMPILE Tensor mlp(const Param &w1, const Param &b1, const Param &w2,
                        const Tensor &x) {
  Tensor h = relu(matmul(x, w1) + b1);
  return sum(matmul(h, w2));
}

struct State {
  Tensor h, c;
};

// CHECK: explain-fusion.cpp:[[@LINE+13]]: lstm: compiled statically
// CHECK-NEXT: forward: {{[0-9]+}} ops, {{[0-9]+}} after fusion (1 kernel)
// CHECK-NEXT: knet_k7 (line {{[0-9]+}}): sigm, mul, sigm, tanh, mul, add, sigm, tanh, mul
// The cell state's gradient (summed to c0's shape) and the gate gradients
// come out of one kernel: one pass, nothing computed twice.
// CHECK-NEXT: gradient: {{[0-9]+}} ops, {{[0-9]+}} after fusion (1 kernel)
// (Its fallback, the two kernels it merges, is not listed.)
// CHECK-NEXT: knet_k{{[0-9]+}} (line {{[0-9]+}}): {{.*}}sigm_back{{.*}}; reduce sum_to and 6 elementwise results
// CHECK-NEXT: forward for taped callers, saving {{[0-9]+}} values: {{[0-9]+}} ops, {{[0-9]+}} after fusion (1 kernel)
// CHECK-NEXT: knet_k{{[0-9]+}} (line {{[0-9]+}}): sigm, mul, sigm, tanh, mul, add, sigm, tanh, mul
// CHECK-NEXT: backward for taped callers, from the saved values: {{[0-9]+}} ops, {{[0-9]+}} after fusion (1 kernel)
// CHECK-NEXT: knet_k{{[0-9]+}} (line {{[0-9]+}}): {{.*}}sigm_back{{.*}}; reduce sum_to and 4 elementwise results
// CHECK-NOT: knet_k{{[0-9]+}} (line {{[0-9]+}}): sigm, mul, sigm, tanh
KNET_COMPILE State lstm(const Param &w, const Param &b, const Tensor &x,
                        const Tensor &h0, const Tensor &c0) {
  Tensor gates = matmul(concat({x, h0}, 1), w) + b;
  std::vector<Tensor> g = chunk(gates, 4, 1);
  Tensor c = sigm(g[1]) * c0 + sigm(g[0]) * tanh(g[3]);
  Tensor h = sigm(g[2]) * tanh(c);
  return State{h, c};
}

// NOFUSE: mlp: compiled statically
// NOFUSE-NEXT: forward: 5 ops, 5 after fusion (0 kernels)
// NOFUSE: lstm: compiled statically
// NOFUSE-NEXT: forward: {{[0-9]+}} ops, {{[0-9]+}} after fusion (0 kernels)
// NOFUSE-NEXT: gradient: {{[0-9]+}} ops, {{[0-9]+}} after fusion (0 kernels)
