// The ternary is an scf.if with one result; only the taken side runs.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @pick(
KNET_COMPILE Tensor pick(Tensor x, double t) {
  // CHECK: %[[C:.*]] = arith.cmpf ogt, %{{.*}}, %{{.*}} : f64
  // CHECK: %[[R:.*]] = scf.if %[[C]] -> (tensor<*xf32>) {
  // CHECK:   knet.relu
  // CHECK: } else {
  // CHECK:   knet.gelu
  // CHECK: }
  // CHECK: return %[[R]]
  return t > 0 ? relu(x) : gelu(x);
}

// CHECK-LABEL: func.func @scalar(
KNET_COMPILE double scalar(double a, double b) {
  // CHECK: scf.if %{{.*}} -> (f64)
  return a < b ? b : a;
}
