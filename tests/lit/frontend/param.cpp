// Param arguments are tensors marked knet.param; value() and the implicit
// conversion read them.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @affine(
// CHECK-SAME: %[[W:.*]]: tensor<*xf32> {knet.name = "w", knet.param}, %[[B:.*]]: tensor<*xf32> {knet.name = "b", knet.param}, %[[X:.*]]: tensor<*xf32> {knet.name = "x"})
KNET_COMPILE Tensor affine(const Param &w, const Param &b, const Tensor &x) {
  // CHECK: %[[T:.*]] = knet.transpose %[[W]], 0, 1
  // CHECK: %[[M:.*]] = knet.matmul %[[X]], %[[T]]
  // CHECK: knet.add %[[M]], %[[B]]
  return matmul(x, w.value().transpose(0, 1)) + b;
}
