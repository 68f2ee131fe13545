// std::pair and std::tuple are flattened like structs: a pair result is two
// results, std::get<I>, .first/.second and structured bindings read its
// elements.
// RUN: %knetc --emit=ir %s | FileCheck %s
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
// RUN: %knetc %s -o %t.knet.cpp && FileCheck %s --check-prefix=REWRITE < %t.knet.cpp
#include <knet/knet.h>
#include <tuple>
#include <utility>
using namespace knet;

static std::tuple<Tensor, double, Tensor> triple(const Tensor &x) {
  return std::make_tuple(x * 3.0, 0.5, sin(x));
}

// CHECK-LABEL: func.func @both(
// CHECK-SAME: -> (tensor<*xf32>, tensor<*xf32>)
// CHECK: %[[A:.*]] = knet.mul %arg0
// CHECK: %[[S:.*]] = knet.sin %arg0
// CHECK: %[[K:.*]] = knet.constant dense<5.000000e-01>
// CHECK: %[[P:.*]] = knet.mul %[[A]], %[[K]]
// CHECK: %[[F:.*]] = knet.sum %[[P]]
// CHECK: %[[G:.*]] = knet.sum %[[S]]
// CHECK: return %[[F]], %[[G]]
// The rewritten body rebuilds the pair from the outputs.
// REWRITE: return ::std::pair<::knet::Tensor, ::knet::Tensor>{knet_out[0], knet_out[1]};
KNET_COMPILE std::pair<Tensor, Tensor> both(const Tensor &x) {
  auto [a, k, s] = triple(x);
  std::pair<Tensor, Tensor> p{a * k, s};
  return std::make_pair(sum(p.first), sum(std::get<1>(p)));
}
