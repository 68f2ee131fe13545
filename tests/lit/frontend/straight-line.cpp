// Straight-line tensor code: locals, reassignment, operators with tensors
// and scalars on either side.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @mlp(
// CHECK-SAME: %[[W:.*]]: tensor<*xf32> {knet.name = "w"}, %[[X:.*]]: tensor<*xf32> {knet.name = "x"}) -> tensor<*xf32>
KNET_COMPILE Tensor mlp(Tensor w, Tensor x) {
  // CHECK: %[[M:.*]] = knet.matmul %[[X]], %[[W]] : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  Tensor h = matmul(x, w);
  // CHECK: %[[R:.*]] = knet.relu %[[M]] : tensor<*xf32>
  h = relu(h);
  // CHECK: %[[C:.*]] = knet.constant dense<2.000000e+00> : tensor<f32>
  // CHECK: %[[S:.*]] = knet.mul %[[C]], %[[R]] : tensor<f32>, tensor<*xf32> -> tensor<*xf32>
  // CHECK: %[[N:.*]] = knet.neg %[[S]] : tensor<*xf32>
  // CHECK: %[[A:.*]] = knet.add %[[N]], %[[X]] : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  // CHECK: return %[[A]] : tensor<*xf32>
  return -(2.0 * h) + x;
}

// CHECK-LABEL: func.func @scaled(
KNET_COMPILE Tensor scaled(Tensor x, float s) {
  // The float meets the tensor as the double C++ converts it to.
  // CHECK: %[[E:.*]] = arith.extf %{{.*}} : f32 to f64
  // CHECK: %[[T:.*]] = knet.scalar %[[E]] : f64 -> tensor<f32>
  // CHECK: knet.div %{{.*}}, %[[T]] : tensor<*xf32>, tensor<f32> -> tensor<*xf32>
  return x / s;
}
