// A break in a switch leaves the switch, not the loop around it; a continue
// there continues the loop. So a counted loop whose only break is in a
// switch stays an scf.for, a while loop carries no break flag for it, and
// the statements after the switch run on every iteration but a continued
// one.
// RUN: %knetc --emit=ir %s | FileCheck %s
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @counted(
// CHECK: scf.for %{{.*}} iter_args(%{{.*}}) -> (tensor<*xf32>)
// The case that breaks sets the switch's flag (the i1 result):
// CHECK: scf.if %{{.*}} -> (tensor<*xf32>, i1)
// CHECK: knet.mul
// CHECK: scf.if %{{.*}} -> (tensor<*xf32>)
// CHECK: knet.add
// After the switch, unconditionally:
// CHECK: } else {
// CHECK: }
// CHECK-NEXT: %[[T:.*]] = knet.tanh
// CHECK-NEXT: scf.yield %[[T]] : tensor<*xf32>
// CHECK-NOT: scf.while
// CHECK-LABEL: func.func @whiles(
KNET_COMPILE Tensor counted(const Tensor &x, int n) {
  Tensor y = x;
  for (int i = 0; i < n; ++i) {
    switch (i % 2) {
    case 0:
      y = y * 2.0;
      break;
    default:
      y = y + 1.0;
    }
    y = tanh(y);
  }
  return sum(y);
}

// The loop carries the tensor and the counter, and no break flag.
// CHECK: scf.while (%{{.*}}, %{{.*}}) : (tensor<*xf32>, i32) -> (tensor<*xf32>, i32)
// CHECK: scf.condition
// CHECK: } do {
// CHECK: %[[S:.*]]:2 = scf.if %{{.*}} -> (tensor<*xf32>, i1)
// CHECK: knet.mul
// CHECK: %[[A:.*]] = knet.add %[[S]]#0
// CHECK: %[[I:.*]] = arith.addi
// CHECK-NEXT: scf.yield %[[A]], %[[I]] : tensor<*xf32>, i32
// CHECK-LABEL: func.func @skips(
KNET_COMPILE Tensor whiles(const Tensor &x, int n) {
  Tensor y = x;
  int i = 0;
  while (i < n) {
    switch (i) {
    case 1:
      y = y * 3.0;
      break;
    default:
      break;
    }
    y = y + 1.0;
    ++i;
  }
  return sum(y);
}

// A continue in the switch: still an scf.for; what follows the switch runs
// under the loop's continue flag (not the switch's break flag).
// CHECK: scf.for %{{.*}} iter_args(%[[Y:.*]] = %{{.*}}) -> (tensor<*xf32>)
// CHECK: %[[CONT:.*]] = scf.if %{{.*}} -> (i1)
// CHECK: scf.if %{{.*}} -> (i1)
// CHECK: %[[GO:.*]] = arith.xori %[[CONT]], %true
// CHECK-NEXT: %[[R:.*]] = scf.if %[[GO]] -> (tensor<*xf32>)
// CHECK-NEXT: knet.sin %[[Y]]
// CHECK: scf.yield %[[R]] : tensor<*xf32>
KNET_COMPILE Tensor skips(const Tensor &x, int n) {
  Tensor y = x;
  for (int i = 0; i < n; ++i) {
    switch (i % 3) {
    case 0:
      continue;
    default:
      break;
    }
    y = sin(y);
  }
  return sum(y);
}
