// Tensor methods: views, sizes, item and dtype conversion.
// RUN: %knetc --emit=ir %s | FileCheck %s
// The IR round-trips through knet-opt (parses and verifies).
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @views(
// CHECK-SAME: %[[X:.*]]: tensor<*xf32>
KNET_COMPILE Tensor views(Tensor x, int k) {
  // CHECK: %[[N:.*]] = knet.size %[[X]], 0 : tensor<*xf32>
  // CHECK: %[[M1:.*]] = arith.constant -1 : i64
  // CHECK: knet.reshape %[[X]](%[[N]], %[[M1]]) : tensor<*xf32> -> tensor<*xf32>
  Tensor r = x.reshape({x.size(0), -1});
  // CHECK: knet.transpose %{{.*}}, 0, 1
  // CHECK: knet.permute %{{.*}} [1, 0]
  // CHECK: knet.slice %{{.*}} dim 1 from %{{.*}} to %{{.*}} step 2
  // CHECK: knet.select %{{.*}} dim 0 index %{{.*}}
  // CHECK: knet.unsqueeze %{{.*}} dim 0
  // CHECK: knet.squeeze %{{.*}} dim 1
  Tensor v = r.transpose(0, 1).permute({1, 0}).slice(1, 0, k, 2);
  Tensor s = v.select(0, k).unsqueeze(0).squeeze(1);
  // CHECK: knet.numel
  // CHECK: knet.size %{{.*}}, 1
  double n = double(x.numel()) + x.shape()[1];
  // CHECK: knet.item %{{.*}} : tensor<*xf32> -> f32
  float first = x.item<float>();
  // The float element type stands for the run's dtype; a named float dtype
  // is the op's attribute.
  // CHECK: knet.cast %{{.*}} {dtype = "f64"} : tensor<*xf32> -> tensor<*xf32>
  Tensor d = x.to(DType::f64);
  // CHECK: knet.scalar %{{.*}} {dtype = "f64"} : f64 -> tensor<f32>
  return s * n + first + d.contiguous() + Tensor::scalar(n, DType::f64);
}
