// A counted for loop is scf.for over i64 with the assigned variables as
// iter_args; its bound may come from size() of a std::vector<Param>.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
#include <vector>
using namespace knet;

// CHECK-LABEL: func.func @mlp(
// CHECK-SAME: %[[WS:.*]]: !knet.list<tensor<*xf32>> {knet.name = "ws", knet.param}, %[[X:.*]]: tensor<*xf32>
KNET_COMPILE Tensor mlp(const std::vector<Param> &ws, Tensor x) {
  // CHECK: %[[LB:.*]] = arith.constant 0 : i64
  // CHECK: %[[N:.*]] = knet.list_size %[[WS]] : !knet.list<tensor<*xf32>>
  // CHECK: %[[UB:.*]] = arith.index_cast %[[N]] : index to i64
  // CHECK: %[[R:.*]] = scf.for %[[I:.*]] = %[[LB]] to %[[UB]] step %{{.*}} iter_args(%[[H:.*]] = %[[X]]) -> (tensor<*xf32>)  : i64 {
  // CHECK:   %[[II:.*]] = arith.index_cast %[[I]] : i64 to index
  // CHECK:   %[[W:.*]] = knet.list_get %[[WS]][%[[II]]] : !knet.list<tensor<*xf32>>
  // CHECK:   %[[M:.*]] = knet.matmul %[[H]], %[[W]]
  // CHECK:   %[[A:.*]] = knet.relu %[[M]]
  // CHECK:   scf.yield %[[A]] : tensor<*xf32>
  // CHECK: }
  // CHECK: return %[[R]]
  for (size_t i = 0; i < ws.size(); ++i)
    x = relu(matmul(x, ws[i]));
  return x;
}

// Steps, <= bounds, and a loop-invariant bound.
// CHECK-LABEL: func.func @steps(
KNET_COMPILE Tensor steps(Tensor x, int n) {
  // CHECK: %[[N:.*]] = arith.extsi %{{.*}} : i32 to i64
  // CHECK: %[[UB:.*]] = arith.addi %[[N]], %{{.*}} overflow<nsw> : i64
  // CHECK: %[[S:.*]] = arith.constant 2 : i64
  // CHECK: scf.for %{{.*}} = %{{.*}} to %[[UB]] step %[[S]] iter_args
  for (int i = 1; i <= n; i += 2)
    x = x + 1.0;
  return x;
}

// The induction variable is a value in the body, of its C++ type (the loop
// counts in i64).
// CHECK-LABEL: func.func @uses_index(
KNET_COMPILE double uses_index(int n) {
  double s = 0;
  // CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[S:.*]] = %{{.*}}) -> (f64)  : i64 {
  // CHECK:   %[[T:.*]] = arith.trunci %[[I]] : i64 to i32
  // CHECK:   %[[F:.*]] = arith.sitofp %[[T]] : i32 to f64
  // CHECK:   arith.addf %[[S]], %[[F]] : f64
  for (int i = 0; i < n; ++i)
    s += i;
  return s;
}
