// knet-autodiff on straight-line code: each op's adjoint is its runtime tape
// rule (runtime/ops/*.cpp), broadcasts are summed back with knet.sum_to, a
// value used twice accumulates its gradient.
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse | FileCheck %s
// RUN: %knet-opt %s -knet-autodiff | FileCheck %s --check-prefix=RAW

// The forward function stays; @f_grad takes f's arguments and one cotangent
// per result, and returns f's results and the gradients of the float
// arguments (knet.grad_args), here not of the i64 labels.
// CHECK-LABEL: func.func @mlp(
// CHECK-LABEL: func.func @mlp_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x784xf32>, %[[W:[a-z0-9]+]]: tensor<784x64xf32>, %[[B:[a-z0-9]+]]: tensor<64xf32>, %[[L:[a-z0-9]+]]: tensor<?xi64>, %[[DL:[a-z0-9]+]]: tensor<f32>)
// CHECK-SAME: -> (tensor<f32>, tensor<?x784xf32>, tensor<784x64xf32>, tensor<64xf32>)
// CHECK-SAME: attributes {knet.grad_args = array<i64: 0, 1, 2>}
// CHECK: %[[Z:.*]] = knet.matmul %[[X]], %[[W]]
// CHECK: %[[A:.*]] = knet.add %[[Z]], %[[B]]
// CHECK: %[[Y:.*]] = knet.relu %[[A]]
// CHECK: %[[LOSS:.*]] = knet.nll %[[Y]], %[[L]]
// The reverse sweep, in reverse order, reading the forward values.
// CHECK: %[[DY:.*]] = knet.nll_back %[[DL]], %[[Y]], %[[L]] {knet.reverse}
// CHECK: %[[DA:.*]] = knet.relu_back %[[DY]], %[[Y]] {knet.reverse}
// The bias was broadcast over the batch: its gradient is summed back.
// CHECK: %[[DB:.*]] = knet.sum_to %[[DA]] like %[[B]] {knet.reverse} : tensor<?x64xf32>, tensor<64xf32> -> tensor<64xf32>
// dx = dy . w^T, dw = x^T . dy
// CHECK: %[[WT:.*]] = knet.transpose %[[W]], -2, -1
// CHECK: %[[DX:.*]] = knet.matmul %[[DA]], %[[WT]]
// CHECK: %[[XT:.*]] = knet.transpose %[[X]], -2, -1
// CHECK: %[[DW:.*]] = knet.matmul %[[XT]], %[[DA]]
// CHECK: return %[[LOSS]], %[[DX]], %[[DW]], %[[DB]]
func.func @mlp(%x: tensor<?x784xf32>, %w: tensor<784x64xf32>, %b: tensor<64xf32>, %l: tensor<?xi64>) -> tensor<f32> {
  %0 = knet.matmul %x, %w : tensor<?x784xf32>, tensor<784x64xf32> -> tensor<?x64xf32>
  %1 = knet.add %0, %b : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %2 = knet.relu %1 : tensor<?x64xf32>
  %3 = knet.nll %2, %l : tensor<?x64xf32>, tensor<?xi64> -> tensor<f32>
  return %3 : tensor<f32>
}

// Unary rules: tanh and sigm from their result, exp times its result, log
// divides by its operand.
// CHECK-LABEL: func.func @unary_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x4xf32>, %[[D:[a-z0-9]+]]: tensor<?x4xf32>)
// CHECK: %[[T:.*]] = knet.tanh %[[X]]
// CHECK: %[[S:.*]] = knet.sigm %[[T]]
// CHECK: %[[E:.*]] = knet.exp %[[S]]
// CHECK: %[[G:.*]] = knet.log %[[E]]
// CHECK: %[[D1:.*]] = knet.div %[[D]], %[[E]] {knet.reverse}
// CHECK: %[[D2:.*]] = knet.mul %[[D1]], %[[E]] {knet.reverse}
// CHECK: %[[D3:.*]] = knet.sigm_back %[[D2]], %[[S]] {knet.reverse}
// CHECK: %[[D4:.*]] = knet.tanh_back %[[D3]], %[[T]] {knet.reverse}
// CHECK: return %[[G]], %[[D4]]
func.func @unary(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = knet.tanh %x : tensor<?x4xf32>
  %1 = knet.sigm %0 : tensor<?x4xf32>
  %2 = knet.exp %1 : tensor<?x4xf32>
  %3 = knet.log %2 : tensor<?x4xf32>
  return %3 : tensor<?x4xf32>
}

// Broadcasting mul and sub: each operand's gradient is reduced to its shape;
// x is used twice, so its two contributions are added.
// CHECK-LABEL: func.func @broadcast_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x4xf32>, %[[V:[a-z0-9]+]]: tensor<4xf32>, %[[D:[a-z0-9]+]]: tensor<?x4xf32>)
// CHECK: %[[M:.*]] = knet.mul %[[X]], %[[V]]
// CHECK: %[[S:.*]] = knet.sub %[[M]], %[[X]]
// CHECK: %[[NEG:.*]] = knet.neg %[[D]] {knet.reverse}
// CHECK: %[[DXV:.*]] = knet.mul %[[D]], %[[V]] {knet.reverse}
// CHECK: %[[DVX:.*]] = knet.mul %[[D]], %[[X]] {knet.reverse}
// CHECK: %[[DV:.*]] = knet.sum_to %[[DVX]] like %[[V]] {knet.reverse} : tensor<?x4xf32>, tensor<4xf32> -> tensor<4xf32>
// CHECK: %[[DX:.*]] = knet.add %[[NEG]], %[[DXV]] {knet.reverse}
// CHECK: return %[[S]], %[[DX]], %[[DV]]
func.func @broadcast(%x: tensor<?x4xf32>, %v: tensor<4xf32>) -> tensor<?x4xf32> {
  %0 = knet.mul %x, %v : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %1 = knet.sub %0, %x : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  return %1 : tensor<?x4xf32>
}

// Without canonicalization the raw adjoint shows every sum_to (identities
// fold later) and the accumulation of a value used twice.
// RAW-LABEL: func.func @twice_grad(
// RAW-SAME: %[[X:[a-z0-9]+]]: tensor<3xf32>, %[[D:[a-z0-9]+]]: tensor<3xf32>)
// RAW: %[[Y:.*]] = knet.mul %[[X]], %[[X]]
// RAW: %[[G1:.*]] = knet.mul %[[D]], %[[X]] {knet.reverse}
// RAW: %[[S1:.*]] = knet.sum_to %[[G1]] like %[[X]] {knet.reverse}
// RAW: %[[G2:.*]] = knet.mul %[[D]], %[[X]] {knet.reverse}
// RAW: %[[S2:.*]] = knet.sum_to %[[G2]] like %[[X]] {knet.reverse}
// RAW: %[[SUM:.*]] = knet.add %[[S1]], %[[S2]] {knet.reverse}
// RAW: return %[[Y]], %[[SUM]]
func.func @twice(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = knet.mul %x, %x : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// Activity: the constant and the integer argument get no adjoint code; an
// argument that does not reach the result gets a zero gradient.
// CHECK-LABEL: func.func @activity_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<4xf32>, %[[U:[a-z0-9]+]]: tensor<4xf32>, %[[N:[a-z0-9]+]]: i64, %[[D:[a-z0-9]+]]: tensor<4xf32>)
// CHECK-NOT: knet.sin {{.*}}knet.reverse
// CHECK: %[[Z:.*]] = knet.zeros_like %[[U]] {knet.reverse}
// CHECK-NEXT: return %{{.*}}, %[[D]], %[[Z]]
func.func @activity(%x: tensor<4xf32>, %u: tensor<4xf32>, %n: i64) -> tensor<4xf32> {
  %c = knet.constant dense<2.0> : tensor<4xf32>
  %s = knet.sin %c : tensor<4xf32>
  %i = knet.scalar %n : i64 -> tensor<f32>
  %t = knet.add %s, %i : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %y = knet.add %x, %t : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %unused = knet.exp %u : tensor<4xf32>
  return %y : tensor<4xf32>
}

// Scalar code (arith and math on f64): the same rules on scalars. item reads
// a tensor's value as a number and detaches it, as on the tape: x gets a
// zero gradient.
// CHECK-LABEL: func.func @scalars_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<f32>, %[[S:[a-z0-9]+]]: f64, %[[D:[a-z0-9]+]]: f64) -> (f64, tensor<f32>, f64)
// CHECK: %[[I:.*]] = knet.item %[[X]] : tensor<f32> -> f64
// CHECK: %[[P:.*]] = arith.mulf %[[I]], %[[S]] : f64
// CHECK: %[[E:.*]] = math.exp %[[P]] : f64
// CHECK: %[[DP:.*]] = arith.mulf %[[D]], %[[E]] {knet.reverse} : f64
// CHECK: %[[DS:.*]] = arith.mulf %[[DP]], %[[I]] {knet.reverse} : f64
// CHECK: %[[DX:.*]] = knet.zeros_like %[[X]]
// CHECK: return %[[E]], %[[DX]], %[[DS]]
func.func @scalars(%x: tensor<f32>, %s: f64) -> f64 {
  %0 = knet.item %x : tensor<f32> -> f64
  %1 = arith.mulf %0, %s : f64
  %2 = math.exp %1 : f64
  return %2 : f64
}

// Functions marked knet.no_grad and @*_grad functions are left alone.
// CHECK-NOT: func.func @skipped_grad
// CHECK-NOT: func.func @already_grad_grad
func.func @skipped(%x: tensor<4xf32>) -> tensor<4xf32> attributes {knet.no_grad} {
  return %x : tensor<4xf32>
}
func.func @already_grad(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// A call of another differentiated function: the reverse sweep calls its
// @g_grad (which recomputes g's forward) with the result's cotangent.
// CHECK-LABEL: func.func @model_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<4xf32>, %[[W:[a-z0-9]+]]: tensor<4xf32>, %[[D:[a-z0-9]+]]: tensor<f32>)
// CHECK: %[[Y:.*]] = call @layer(%[[X]], %[[W]])
// CHECK: %[[DY:.*]] = knet.broadcast_to %[[D]] like %[[Y]] {knet.reverse}
// CHECK: %[[G:.*]]:3 = call @layer_grad(%[[X]], %[[W]], %[[DY]]) {knet.reverse} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: return %{{.*}}, %[[G]]#1, %[[G]]#2
func.func @layer(%x: tensor<4xf32>, %w: tensor<4xf32>) -> tensor<4xf32> {
  %0 = knet.mul %x, %w : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %1 = knet.tanh %0 : tensor<4xf32>
  return %1 : tensor<4xf32>
}
func.func @model(%x: tensor<4xf32>, %w: tensor<4xf32>) -> tensor<f32> {
  %0 = func.call @layer(%x, %w) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = knet.sum %0 : tensor<4xf32> -> tensor<f32>
  return %1 : tensor<f32>
}
