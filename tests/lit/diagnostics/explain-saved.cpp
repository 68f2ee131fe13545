// --explain lists, per compiled function, what its reverse sweep keeps from
// the forward: top-level values it reads, and values pushed per iteration.
// RUN: %knetc --explain %s -- -std=c++20 | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK: explain-saved.cpp:[[@LINE+4]]: mlp: compiled statically
// CHECK: saved for the reverse sweep: 2 values
// CHECK-NEXT: line [[@LINE+3]] (knet.relu)
// CHECK-NEXT: line [[@LINE+3]] (knet.mul)
KNET_COMPILE Tensor mlp(const Tensor &w, const Tensor &x) {
  Tensor h = relu(x);
  return sum(h * w);
}

// CHECK: explain-saved.cpp:[[@LINE+3]]: loop: compiled statically
// CHECK: saved for the reverse sweep:
// CHECK: line [[@LINE+4]] (knet.sin, pushed per iteration)
KNET_COMPILE Tensor loop(const Tensor &w, int n) {
  Tensor h = w;
  for (int i = 0; i < n; ++i)
    h = sin(h) * w;
  return sum(h);
}
