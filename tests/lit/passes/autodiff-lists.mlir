// knet-autodiff over lists: a list argument's gradient is a list of the same
// length. The adjoint of list_get adds into one element of the gradient
// list (list_get, add, list_set), starting from list_zeros_like; in a loop
// the gradient list is carried by the reverse loop.
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse | FileCheck %s

// CHECK-LABEL: func.func @pair_grad(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: !knet.list<tensor<4xf32>>, %[[D:[a-z0-9]+]]: tensor<4xf32>)
// CHECK-SAME: -> (tensor<4xf32>, !knet.list<tensor<4xf32>>)
// CHECK-SAME: knet.grad_args = array<i64: 0>
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[A:.*]] = knet.list_get %[[WS]][%[[C0]]]
// CHECK: %[[B:.*]] = knet.list_get %[[WS]][%[[C1]]]
// CHECK: %[[DA:.*]] = knet.mul %[[D]], %[[B]] {knet.reverse}
// CHECK: %[[DB:.*]] = knet.mul %[[D]], %[[A]] {knet.reverse}
// CHECK: %[[Z:.*]] = knet.list_zeros_like %[[WS]] {knet.reverse}
// CHECK: %[[L1:.*]] = knet.list_set %[[Z]][%[[C1]]], %[[DB]] {knet.reverse}
// list_get through list_set and list_zeros_like folds (canonicalize):
// CHECK: %[[A2:.*]] = knet.list_get %[[WS]][%[[C0]]] {knet.reverse}
// CHECK: %[[OLD:.*]] = knet.zeros_like %[[A2]] {knet.reverse}
// CHECK: %[[NEW:.*]] = knet.add %[[OLD]], %[[DA]] {knet.reverse}
// CHECK: %[[L2:.*]] = knet.list_set %[[L1]][%[[C0]]], %[[NEW]] {knet.reverse}
// CHECK: return %{{.*}}, %[[L2]]
func.func @pair(%ws: !knet.list<tensor<4xf32>>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = knet.list_get %ws[%c0] : !knet.list<tensor<4xf32>>
  %b = knet.list_get %ws[%c1] : !knet.list<tensor<4xf32>>
  %y = knet.mul %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// Layers as a std::vector<Param>: the loop over the list indexes it with the
// induction variable, which the reverse loop rebuilds to update the
// gradient list.
// CHECK-LABEL: func.func @layers_grad(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: !knet.list<tensor<?x?xf32>>, %[[X:[a-z0-9]+]]: tensor<?x?xf32>, %[[D:[a-z0-9]+]]: tensor<?x?xf32>)
// CHECK-SAME: -> (tensor<?x?xf32>, !knet.list<tensor<?x?xf32>>, tensor<?x?xf32>)
// CHECK: %[[N:.*]] = knet.list_size %[[WS]]
// CHECK: scf.for
// CHECK: %[[Z:.*]] = knet.list_zeros_like %[[WS]] {knet.reverse}
// CHECK: %[[R:.*]]:2 = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[DH:.*]] = %[[D]], %[[DWS:.*]] = %[[Z]])
// CHECK:   %[[LAST:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK:   %[[I:.*]] = arith.subi %[[LAST]], %[[K]] : index
// CHECK:   knet.relu_back
// CHECK:   knet.matmul
// CHECK:   %[[DW:.*]] = knet.matmul
// CHECK:   %[[OLD:.*]] = knet.list_get %[[DWS]][%[[I]]]
// CHECK:   %[[NEW:.*]] = knet.add %[[OLD]], %[[DW]]
// CHECK:   %[[UPD:.*]] = knet.list_set %[[DWS]][%[[I]]], %[[NEW]]
// CHECK:   scf.yield %{{.*}}, %[[UPD]]
// CHECK: } {knet.reverse}
// CHECK: return %{{.*}}, %[[R]]#1, %[[R]]#0
func.func @layers(%ws: !knet.list<tensor<?x?xf32>>, %x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = knet.list_size %ws : !knet.list<tensor<?x?xf32>>
  %y = scf.for %i = %c0 to %n step %c1 iter_args(%h = %x) -> (tensor<?x?xf32>) {
    %w = knet.list_get %ws[%i] : !knet.list<tensor<?x?xf32>>
    %z = knet.matmul %h, %w : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %r = knet.relu %z : tensor<?x?xf32>
    scf.yield %r : tensor<?x?xf32>
  }
  return %y : tensor<?x?xf32>
}

// A list built from values (list_make) and read back: each element's
// gradient is the matching element of the list's gradient.
// CHECK-LABEL: func.func @make_grad(
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<4xf32>, %[[B:[a-z0-9]+]]: tensor<4xf32>, %{{.*}}: index, %[[D:[a-z0-9]+]]: tensor<4xf32>)
// CHECK: %[[L:.*]] = knet.list_make %[[A]], %[[B]]
// CHECK: %[[Z:.*]] = knet.list_zeros_like %[[L]] {knet.reverse}
// CHECK: %[[DL:.*]] = knet.list_set %[[Z]][%{{.*}}], %[[D]] {knet.reverse}
// CHECK: %[[DA:.*]] = knet.list_get %[[DL]][%{{.*}}] {knet.reverse}
// CHECK: %[[DB:.*]] = knet.list_get %[[DL]][%{{.*}}] {knet.reverse}
// CHECK: return %{{.*}}, %[[DA]], %[[DB]]
func.func @make(%a: tensor<4xf32>, %b: tensor<4xf32>, %i: index) -> tensor<4xf32> {
  %l = knet.list_make %a, %b : tensor<4xf32>, tensor<4xf32> -> !knet.list<tensor<4xf32>>
  %x = knet.list_get %l[%i] : !knet.list<tensor<4xf32>>
  return %x : tensor<4xf32>
}
