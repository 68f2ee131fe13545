// while and do/while are scf.while; the carried variables are the ones the
// loop assigns.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @halve(
// CHECK-SAME: %[[X:.*]]: tensor<*xf32> {knet.name = "x"}, %[[N:.*]]: i32
KNET_COMPILE Tensor halve(Tensor x, int n) {
  int i = 0;
  // CHECK: %[[R:.*]]:2 = scf.while (%[[A:.*]] = %[[X]], %[[B:.*]] = %{{.*}}) : (tensor<*xf32>, i32) -> (tensor<*xf32>, i32) {
  // CHECK:   %[[C:.*]] = arith.cmpi slt, %[[B]], %[[N]] : i32
  // CHECK:   scf.condition(%[[C]]) %[[A]], %[[B]] : tensor<*xf32>, i32
  // CHECK: } do {
  // CHECK: ^bb0(%[[A2:.*]]: tensor<*xf32>, %[[B2:.*]]: i32):
  // CHECK:   %[[M:.*]] = knet.mul %[[A2]], %{{.*}}
  // CHECK:   %[[I:.*]] = arith.addi %[[B2]], %{{.*}} overflow<nsw> : i32
  // CHECK:   scf.yield %[[M]], %[[I]] : tensor<*xf32>, i32
  // CHECK: }
  // CHECK: return %[[R]]#0
  while (i < n) {
    x = x * 0.5;
    i = i + 1;
  }
  return x;
}

// do/while: the body runs in the before region, ahead of the condition.
// CHECK-LABEL: func.func @grow(
KNET_COMPILE Tensor grow(Tensor x) {
  // CHECK: scf.while
  // CHECK:   knet.exp
  // CHECK:   knet.sum
  // CHECK:   knet.item
  // CHECK:   scf.condition
  // CHECK: } do {
  // CHECK-NEXT: ^bb0
  // CHECK-NEXT: scf.yield
  do {
    x = exp(x);
  } while (sum(x).item<float>() < 100.0f);
  return x;
}
