// knet-autodiff over scf.if: the reverse of each branch runs in an scf.if on
// the same condition; values a branch defines and its reverse reads go
// through a knet.stack (pushed where defined, popped in the reverse branch).
// RUN: %knet-opt %s -knet-autodiff | FileCheck %s
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse | FileCheck %s --check-prefix=OPT

// CHECK-LABEL: func.func @branch_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<4xf32>, %[[W:[a-z0-9]+]]: tensor<4xf32>, %[[C:[a-z0-9]+]]: i1, %[[D:[a-z0-9]+]]: tensor<4xf32>)
// CHECK-SAME: -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK-SAME: knet.grad_args = array<i64: 0, 1>
// CHECK: %[[STACK:.*]] = knet.stack_new : !knet.stack<tensor<4xf32>>
// CHECK: %[[Y:.*]] = scf.if %[[C]] -> (tensor<4xf32>) {
// CHECK:   %[[E:.*]] = knet.exp %[[X]]
// CHECK:   knet.stack_push %[[STACK]], %[[E]]
// CHECK:   scf.yield %[[E]]
// CHECK: } else {
// CHECK:   %[[M:.*]] = knet.mul %[[X]], %[[W]]
// CHECK:   scf.yield %[[M]]
// CHECK: }
// The reverse: the same condition; each branch yields the accumulated
// gradients of the outer values it reads (x, w).
// CHECK: %[[G:.*]]:2 = scf.if %[[C]] -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK:   %[[EP:.*]] = knet.stack_pop %[[STACK]]
// CHECK:   %[[DE:.*]] = knet.mul %[[D]], %[[EP]]
// CHECK:   %[[ZW:.*]] = knet.zeros_like %[[W]]
// CHECK:   scf.yield %{{.*}}, %[[ZW]]
// CHECK: } else {
// CHECK:   knet.mul %[[D]], %[[W]]
// CHECK:   knet.mul %[[D]], %[[X]]
// CHECK:   scf.yield
// CHECK: } {knet.reverse}
// CHECK: return %[[Y]], %[[G]]#0, %[[G]]#1
func.func @branch(%x: tensor<4xf32>, %w: tensor<4xf32>, %c: i1) -> tensor<4xf32> {
  %y = scf.if %c -> tensor<4xf32> {
    %a = knet.exp %x : tensor<4xf32>
    scf.yield %a : tensor<4xf32>
  } else {
    %b = knet.mul %x, %w : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
    scf.yield %b : tensor<4xf32>
  }
  return %y : tensor<4xf32>
}

// A value passed through one branch, computed before the branch: the
// branch's adjoint flows into it. canonicalize merges the forward and the
// reverse scf.if (same condition) and then forwards the push to the pop, so
// no stack is left.
// OPT-LABEL: func.func @select_grad(
// OPT-SAME: %[[X:[a-z0-9]+]]: tensor<4xf32>, %[[C:[a-z0-9]+]]: i1, %[[D:[a-z0-9]+]]: tensor<4xf32>)
// OPT-NOT: knet.stack
// OPT: %[[T:.*]] = knet.tanh %[[X]]
// OPT: %[[R:.*]]:2 = scf.if %[[C]] -> (tensor<4xf32>, tensor<4xf32>) {
// OPT:   %[[Y:.*]] = knet.relu %[[T]]
// OPT:   %[[DY:.*]] = knet.relu_back %[[D]], %[[Y]]
// OPT:   scf.yield %[[Y]], %[[DY]]
// OPT: } else {
// OPT:   scf.yield %[[T]], %[[D]]
// OPT: }
// OPT: %[[DX:.*]] = knet.tanh_back %[[R]]#1, %[[T]] {knet.reverse}
// OPT: return %[[R]]#0, %[[DX]]
func.func @select(%x: tensor<4xf32>, %c: i1) -> tensor<4xf32> {
  %t = knet.tanh %x : tensor<4xf32>
  %y = scf.if %c -> tensor<4xf32> {
    %r = knet.relu %t : tensor<4xf32>
    scf.yield %r : tensor<4xf32>
  } else {
    scf.yield %t : tensor<4xf32>
  }
  return %y : tensor<4xf32>
}

// An scf.if that only picks one of two tensors is an arith.select after the
// inliner's canonicalization (an early return's slot): the picked operand
// gets the cotangent, the other zeros shaped like itself (this gradient was
// once dropped; then an early return's 0-d slot gave a 0-d gradient to the
// tensor returned on the other path).
// CHECK-LABEL: func.func @select_tensors_grad(
// CHECK-SAME: %[[C:[^:]*]]: i1, %[[A:[^:]*]]: tensor<*xf32>, %[[B:[^:]*]]: tensor<*xf32>, %[[DY:[^:]*]]: tensor<*xf32>)
// CHECK-DAG: %[[ZA:.*]] = knet.zeros_like %[[A]]
// CHECK-DAG: %[[ZB:.*]] = knet.zeros_like %[[B]]
// CHECK-DAG: %[[DA:.*]] = arith.select %[[C]], %[[DY]], %[[ZA]] {knet.reverse} : tensor<*xf32>
// CHECK-DAG: %[[DB:.*]] = arith.select %[[C]], %[[ZB]], %[[DY]] {knet.reverse} : tensor<*xf32>
// CHECK: return %{{.*}}, %[[DA]], %[[DB]]
func.func @select_tensors(%c: i1, %a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %s = arith.select %c, %a, %b : tensor<*xf32>
  return %s : tensor<*xf32>
}
