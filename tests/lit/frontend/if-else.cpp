// if/else: the variables either branch assigns are the results of scf.if.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @act(
// CHECK-SAME: %[[X:.*]]: tensor<*xf32> {knet.name = "x"}, %[[K:.*]]: i32 {knet.name = "kind"})
KNET_COMPILE Tensor act(Tensor x, int kind) {
  Tensor y = x;
  float scale = 1.0f;
  // CHECK: %[[C:.*]] = arith.cmpi eq, %[[K]], %{{.*}} : i32
  // CHECK: %[[R:.*]]:2 = scf.if %[[C]] -> (tensor<*xf32>, f32) {
  // CHECK:   %[[T:.*]] = knet.tanh %[[X]] : tensor<*xf32>
  // CHECK:   scf.yield %[[T]], %{{.*}} : tensor<*xf32>, f32
  // CHECK: } else {
  // CHECK:   %[[S:.*]] = knet.sigm %[[X]] : tensor<*xf32>
  // CHECK:   scf.yield %[[S]], %{{.*}} : tensor<*xf32>, f32
  // CHECK: }
  if (kind == 0) {
    y = tanh(x);
  } else {
    y = sigm(x);
    scale = 0.5f;
  }
  // CHECK: %[[E:.*]] = arith.extf %[[R]]#1 : f32 to f64
  // CHECK: knet.scalar %[[E]] : f64 -> tensor<f32>
  return y * scale;
}

// An if without else and without assignments has no results.
// CHECK-LABEL: func.func @noresult(
KNET_COMPILE Tensor noresult(Tensor x, bool b) {
  // CHECK: scf.if %{{.*}} {
  // CHECK-NEXT: knet.exp
  // CHECK-NEXT: }
  if (b) {
    Tensor unused = exp(x);
  }
  return x;
}
