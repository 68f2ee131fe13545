// A range-for over a std::vector<Param> or std::vector<Tensor> is scf.for
// over the list's indices.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
#include <vector>
using namespace knet;

// CHECK-LABEL: func.func @chain(
// CHECK-SAME: %[[WS:.*]]: !knet.list<tensor<*xf32>> {knet.name = "ws", knet.param}, %[[X:.*]]: tensor<*xf32>
KNET_COMPILE Tensor chain(const std::vector<Param> &ws, Tensor x) {
  // CHECK: %[[N:.*]] = knet.list_size %[[WS]]
  // CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[H:.*]] = %[[X]]) -> (tensor<*xf32>) {
  // CHECK:   %[[W:.*]] = knet.list_get %[[WS]][%[[I]]]
  // CHECK:   knet.matmul %[[H]], %[[W]]
  for (const Param &w : ws)
    x = tanh(matmul(x, w));
  return x;
}

// CHECK-LABEL: func.func @total(
// CHECK-SAME: !knet.list<tensor<*xf32>> {knet.name = "xs"}
KNET_COMPILE Tensor total(const std::vector<Tensor> &xs, Tensor acc) {
  // CHECK: scf.for
  // CHECK: knet.list_get
  // CHECK: knet.add
  for (const Tensor &x : xs)
    acc = acc + x;
  return acc;
}
