// Structs of Params, Tensors, vectors and scalars are flattened into their
// fields, as arguments and as results.
// RUN: %knetc --emit=ir %s | FileCheck %s
// The IR round-trips through knet-opt (parses and verifies).
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
#include <knet/knet.h>
#include <vector>
using namespace knet;

struct Layer {
  Param w, b;
};
struct Model {
  Layer hidden;
  std::vector<Param> rest;
  float scale = 1.0f;
};
struct Out {
  Tensor y;
  Tensor aux;
};

// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[W:.*]]: tensor<*xf32> {knet.name = "m.hidden.w", knet.param},
// CHECK-SAME: %[[B:.*]]: tensor<*xf32> {knet.name = "m.hidden.b", knet.param},
// CHECK-SAME: %[[R:.*]]: !knet.list<tensor<*xf32>> {knet.name = "m.rest", knet.param},
// CHECK-SAME: %[[S:.*]]: f32 {knet.name = "m.scale"},
// CHECK-SAME: %[[X:.*]]: tensor<*xf32> {knet.name = "x"})
// CHECK-SAME: -> (tensor<*xf32>, tensor<*xf32>)
KNET_COMPILE Out forward(const Model &m, Tensor x) {
  // CHECK: %[[L:.*]] = knet.linear %[[X]], %[[W]], %[[B]]
  Tensor h = linear(x, m.hidden.w, m.hidden.b);
  // CHECK: knet.list_get %[[R]]
  Out o;
  o.y = matmul(h, m.rest[0]);
  o.aux = h * m.scale;
  // CHECK: return %{{.*}}, %{{.*}} : tensor<*xf32>, tensor<*xf32>
  return o;
}

// A struct built with braces.
// CHECK-LABEL: func.func @pair(
// CHECK: %[[E:.*]] = knet.exp
// CHECK: %[[L:.*]] = knet.log
// CHECK: return %[[E]], %[[L]]
KNET_COMPILE Out pair(Tensor x) { return Out{exp(x), log(x)}; }
