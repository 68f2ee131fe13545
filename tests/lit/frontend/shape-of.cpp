// Another tensor's shape as an argument: sum_to(x, y.shape()),
// x.expand(y.shape()) and x.reshape(y.shape()) become the ops that take y
// itself (knet.sum_to, knet.broadcast_to, knet.reshape_like); any other
// Shape expression keeps the function on the tape.
// RUN: %knetc --emit=ir %s | FileCheck %s
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
// RUN: %knetc --explain %s | FileCheck %s --check-prefix=EXPLAIN
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @like(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<*xf32> {knet.name = "x"}, %[[Y:[a-z0-9]+]]: tensor<*xf32> {knet.name = "y"}
// CHECK: knet.sum_to %[[X]] like %[[Y]]
// CHECK: knet.broadcast_to %[[X]] like %[[Y]]
// CHECK: knet.reshape_like %[[X]] like %[[Y]]
// EXPLAIN: shape-of.cpp:[[@LINE+1]]: like: compiled statically
KNET_COMPILE Tensor like(Tensor x, Tensor y) {
  return sum(sum_to(x, y.shape())) + sum(x.expand(y.shape())) +
         sum(x.reshape(y.shape()));
}

// EXPLAIN: shape-of.cpp:[[@LINE+1]]: literal: stays on the tape: {{.*}}the shape of 'sum_to' must be another tensor's shape(): y.shape()
KNET_COMPILE Tensor literal(Tensor x) { return sum_to(x, Shape{3}); }
