// break and continue set i1 flags; what follows them runs under
// scf.if (!flag), and a loop with break is an scf.while whose condition
// checks the flag.
// RUN: %knetc --emit=ir %s | FileCheck %s
// The IR round-trips through knet-opt (parses and verifies).
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @until(
KNET_COMPILE Tensor until(Tensor x, int n) {
  // CHECK: %[[F:.*]] = arith.constant false
  // CHECK: scf.while ({{.*}}%[[BRK:arg[0-9]+]] = %[[F]]
  // CHECK:   %[[NB:.*]] = arith.xori %[[BRK]], %{{.*}} : i1
  // CHECK:   arith.andi %{{.*}}, %[[NB]] : i1
  // CHECK: } do {
  // CHECK:   %[[C:.*]] = arith.cmpf ogt
  // CHECK:   scf.if %[[C]] -> (i1)
  // CHECK:     %[[T:.*]] = arith.constant true
  // CHECK:     scf.yield %[[T]] : i1
  // CHECK:   scf.if %{{.*}} -> (tensor<*xf32>)
  // CHECK:     knet.tanh
  for (int i = 0; i < n; ++i) {
    if (max(x).item<float>() > 3.0f)
      break;
    x = tanh(x) + x;
  }
  return x;
}

// continue keeps the loop counted (scf.for) with a per-iteration flag.
// CHECK-LABEL: func.func @skip(
KNET_COMPILE Tensor skip(Tensor x, int n) {
  // CHECK: scf.for
  // CHECK:   %[[F:.*]] = arith.constant false
  // CHECK:   %[[C:.*]] = scf.if %{{.*}} -> (i1)
  // CHECK:   %[[GO:.*]] = arith.xori %[[C]], %{{.*}} : i1
  // CHECK:   scf.if %[[GO]] -> (tensor<*xf32>)
  // CHECK:     knet.sin
  for (int i = 0; i < n; ++i) {
    if (i % 2 == 1)
      continue;
    x = sin(x);
  }
  return x;
}
