// switch: each label sets an `active` flag (its value matched, or a label
// before it did: fallthrough); `default` matches when no case does; the
// statements between labels run under scf.if (active and no break).
// RUN: %knetc --emit=ir %s | FileCheck %s
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @pick(
// CHECK-SAME: %[[K:[^:]*]]: i32
// CHECK: %[[C0:.*]] = arith.cmpi eq, %[[K]], %c0_i32
// CHECK: %[[C1:.*]] = arith.cmpi eq, %[[K]], %c1_i32
// CHECK: %[[C2:.*]] = arith.cmpi eq, %[[K]], %c2_i32
// case 0, under no break yet; it breaks (the i1 result):
// CHECK: %[[A0:.*]] = arith.ori %{{.*}}, %[[C0]]
// CHECK: %[[R0:.*]]:2 = scf.if %{{.*}} -> (tensor<*xf32>, i1)
// CHECK: knet.mul
// CHECK: scf.yield %{{.*}}, %true
// case 1 and case 2 fall through to default:
// CHECK: %[[A1:.*]] = arith.ori %[[A0]], %[[C1]]
// CHECK: %[[A2:.*]] = arith.ori %[[A1]], %[[C2]]
// CHECK: scf.if
// CHECK: knet.sin
// default: none of the cases matched
// CHECK: %[[ANY:.*]] = arith.ori %{{.*}}, %[[C2]]
// CHECK: %[[NONE:.*]] = arith.xori %[[ANY]], %true
// CHECK: arith.ori %[[A2]], %[[NONE]]
// CHECK: scf.if
// CHECK: knet.add
KNET_COMPILE Tensor pick(const Tensor &x, int k) {
  Tensor y = x;
  switch (k) {
  case 0:
    y = y * 2.0;
    break;
  case 1:
  case 2:
    y = sin(y);
    [[fallthrough]];
  default:
    y = y + 1.0;
  }
  return sum(y);
}

// A continue in a switch continues the loop around it; a return returns.
// CHECK-LABEL: func.func @in_loop(
// CHECK: scf.while
// CHECK-NOT: stays on the tape
KNET_COMPILE Tensor in_loop(const Tensor &x, int n) {
  Tensor y = x;
  for (int i = 0; i < n; ++i) {
    switch (i % 3) {
    case 0:
      continue;
    case 1:
      if (n > 5)
        return sum(y);
      break;
    }
    y = y * 1.5;
  }
  return sum(y);
}
