// Calls to other KNET_COMPILE functions stay calls (func.call); struct
// arguments and results are flattened at the call.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

struct Model {
  Param w, b;
};

// CHECK-LABEL: func.func @predict(
// CHECK-SAME: %{{.*}}: tensor<*xf32> {knet.name = "m.w", knet.param}, %{{.*}}: tensor<*xf32> {knet.name = "m.b", knet.param}, %{{.*}}: tensor<*xf32> {knet.name = "x"}) -> tensor<*xf32>
KNET_COMPILE Tensor predict(const Model &m, Tensor x) {
  return linear(x, m.w, m.b);
}

// CHECK-LABEL: func.func @loss(
// CHECK-SAME: %[[W:[^:]*]]: tensor<*xf32> {knet.name = "m.w", knet.param}, %[[B:[^:]*]]: tensor<*xf32> {knet.name = "m.b", knet.param}, %[[X:[^:]*]]: tensor<*xf32> {knet.name = "x"}, %[[Y:[^:]*]]: tensor<*xi64> {knet.name = "y"}
KNET_COMPILE Tensor loss(const Model &m, Tensor x, Tensor y) {
  // CHECK: %[[P:.*]] = call @predict(%[[W]], %[[B]], %[[X]]) : (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  // CHECK: knet.nll %[[P]], %[[Y]]
  return nll(predict(m, x), y);
}
