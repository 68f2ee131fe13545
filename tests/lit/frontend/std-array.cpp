// std::array<Param, N> and std::array<Tensor, N> are lists, as
// std::vector: an argument of the model struct is one !knet.list (the ABI
// passes its length and elements), a default-constructed local holds N
// undefined tensors, a braced one its elements.
// RUN: %knetc --emit=ir %s | FileCheck %s
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
#include <knet/knet.h>
#include <array>
using namespace knet;

struct Deep {
  std::array<Param, 3> ws;
};

// CHECK-LABEL: func.func @deep(
// CHECK-SAME: %[[WS:[^:]*]]: !knet.list<tensor<*xf32>> {knet.name = "m.ws", knet.param}
// CHECK: scf.for
// CHECK: knet.list_get %[[WS]]
// CHECK: %[[U0:.*]] = knet.undefined : tensor<*xf32>
// CHECK: %[[U1:.*]] = knet.undefined : tensor<*xf32>
// CHECK: knet.list_make %[[U0]], %[[U1]] : tensor<*xf32>, tensor<*xf32> -> !knet.list<tensor<*xf32>>
// CHECK: knet.list_set
KNET_COMPILE Tensor deep(const Deep &m, const Tensor &x) {
  Tensor h = x;
  for (const auto &w : m.ws)
    h = tanh(matmul(h, w));
  std::array<Tensor, 2> acc;
  acc[1] = h * 2.0;
  std::array<Tensor, 2> parts{h, acc[1]};
  return sum(parts[0] + parts.back());
}
