// An early return sets a flag and a result slot; the rest of the function
// runs under scf.if (!returned).
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @clip(
// CHECK-SAME: %[[X:.*]]: tensor<*xf32> {knet.name = "x"}, %[[B:.*]]: i1
KNET_COMPILE Tensor clip(Tensor x, bool identity) {
  // CHECK: %[[R:.*]]:2 = scf.if %[[B]] -> (i1, tensor<*xf32>) {
  // CHECK:   scf.yield %{{.*}}, %[[X]] : i1, tensor<*xf32>
  // CHECK: } else {
  // CHECK: %[[GO:.*]] = arith.xori %[[R]]#0, %{{.*}} : i1
  // CHECK: %[[S:.*]]:2 = scf.if %[[GO]] -> (i1, tensor<*xf32>) {
  // CHECK:   knet.minimum
  // CHECK: return %[[S]]#1 : tensor<*xf32>
  if (identity)
    return x;
  return minimum(x, 1.0);
}

// A return inside a loop stops the loop (its condition checks the flag).
// CHECK-LABEL: func.func @first_big(
KNET_COMPILE Tensor first_big(Tensor x, int n) {
  // CHECK: scf.while
  // CHECK: scf.condition
  // CHECK: } do {
  // CHECK: knet.item
  // CHECK: scf.if %{{.*}} -> (i1, tensor<*xf32>)
  for (int i = 0; i < n; ++i) {
    if (sum(x).item<float>() > 10.0f)
      return x;
    x = x * 2.0;
  }
  return zeros_like(x);
}
