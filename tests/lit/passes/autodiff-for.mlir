// knet-autodiff over scf.for: the reverse is an scf.for over the trip count
// max((ub - lb + step - 1) / step, 0); loop-carried values carry their
// adjoints in its iter_args, as do the gradients of outer values the body
// reads (w); what an iteration's adjoint reads is pushed on a knet.stack in
// the forward loop and popped by the matching reverse iteration; the
// induction variable is rebuilt (lb + (n - 1 - k) * step), not saved.
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse | FileCheck %s

// CHECK-LABEL: func.func @rnn_grad(
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<4x4xf32>, %[[X:[a-z0-9]+]]: tensor<?x4xf32>, %[[D:[a-z0-9]+]]: tensor<?x4xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C5:.*]] = arith.constant 5 : i64
// CHECK-DAG: %[[SH:.*]] = knet.stack_new : !knet.stack<tensor<?x4xf32>>
// CHECK-DAG: %[[SY:.*]] = knet.stack_new : !knet.stack<tensor<?x4xf32>>
// The forward loop saves h (matmul's adjoint reads it) and tanh's result.
// CHECK: %[[Y:.*]] = scf.for %[[I:.*]] = %[[C0]] to %[[C5]] step %[[C1]] iter_args(%[[H:.*]] = %[[X]]) -> (tensor<?x4xf32>) : i64 {
// CHECK:   knet.stack_push %[[SH]], %[[H]]
// CHECK:   %[[Z:.*]] = knet.matmul %[[H]], %[[W]]
// CHECK:   %[[T:.*]] = knet.tanh %[[Z]]
// CHECK:   knet.stack_push %[[SY]], %[[T]]
// CHECK:   scf.yield %[[T]]
// CHECK: }
// The reverse loop: 5 iterations, carrying dh and the accumulated dw.
// CHECK: %[[ZW:.*]] = knet.zeros_like %[[W]] {knet.reverse}
// CHECK: %[[R:.*]]:2 = scf.for %{{.*}} = %[[C0]] to %[[C5]] step %[[C1]] iter_args(%[[DH:.*]] = %[[D]], %[[DW:.*]] = %[[ZW]]) -> (tensor<?x4xf32>, tensor<4x4xf32>) : i64 {
// CHECK-DAG:   %[[TP:.*]] = knet.stack_pop %[[SY]]
// CHECK-DAG:   %[[HP:.*]] = knet.stack_pop %[[SH]]
// CHECK:   %[[DZ:.*]] = knet.tanh_back %[[DH]], %[[TP]]
// CHECK:   %[[WT:.*]] = knet.transpose %[[W]], -2, -1
// CHECK:   %[[DHN:.*]] = knet.matmul %[[DZ]], %[[WT]]
// CHECK:   %[[HT:.*]] = knet.transpose %[[HP]], -2, -1
// CHECK:   %[[DWI:.*]] = knet.matmul %[[HT]], %[[DZ]]
// CHECK:   %[[DWN:.*]] = knet.add %[[DW]], %[[DWI]]
// CHECK:   scf.yield %[[DHN]], %[[DWN]]
// CHECK: } {knet.reverse}
// CHECK: return %[[Y]], %[[R]]#1, %[[R]]#0
func.func @rnn(%w: tensor<4x4xf32>, %x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c5 = arith.constant 5 : i64
  %y = scf.for %i = %c0 to %c5 step %c1 iter_args(%h = %x) -> (tensor<?x4xf32>) : i64 {
    %z = knet.matmul %h, %w : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
    %t = knet.tanh %z : tensor<?x4xf32>
    scf.yield %t : tensor<?x4xf32>
  }
  return %y : tensor<?x4xf32>
}

// Dynamic bounds and step: the trip count is computed from them. A forward
// value defined outside the loop (xs) is read directly; the per-iteration
// scalar f is pushed.
// CHECK-LABEL: func.func @powers_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<3xf32>, %[[LB:[a-z0-9]+]]: index, %[[UB:[a-z0-9]+]]: index, %[[ST:[a-z0-9]+]]: index, %[[D:[a-z0-9]+]]: tensor<3xf32>)
// CHECK: %[[SF:.*]] = knet.stack_new : !knet.stack<tensor<f32>>
// CHECK: %[[XS:.*]] = knet.exp %[[X]]
// CHECK: scf.for %{{.*}} = %[[LB]] to %[[UB]] step %[[ST]]
// CHECK:   %[[F:.*]] = knet.scalar
// CHECK:   knet.stack_push %[[SF]], %[[F]]
// CHECK: %[[DIFF:.*]] = arith.subi %[[UB]], %[[LB]] {knet.reverse} : index
// CHECK: %[[SM1:.*]] = arith.subi %[[ST]], %{{.*}} {knet.reverse} : index
// CHECK: %[[UP:.*]] = arith.addi %[[DIFF]], %[[SM1]] {knet.reverse} : index
// CHECK: %[[Q:.*]] = arith.divsi %[[UP]], %[[ST]] {knet.reverse} : index
// CHECK: %[[N:.*]] = arith.maxsi %[[Q]], %{{.*}} {knet.reverse} : index
// CHECK: %[[R:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[DA:.*]] = %[[D]], %[[DXS:.*]] = %{{.*}})
// CHECK:   %[[FP:.*]] = knet.stack_pop %[[SF]]
// CHECK:   %[[G:.*]] = knet.mul %{{.*}}, %[[FP]]
// CHECK:   %[[DXSN:.*]] = knet.add %[[DXS]], %[[G]]
// CHECK: } {knet.reverse}
// CHECK: %[[DX1:.*]] = knet.mul %[[R]]#1, %[[XS]] {knet.reverse}
// CHECK: %[[DX:.*]] = knet.add %[[R]]#0, %[[DX1]] {knet.reverse}
// CHECK: return %{{.*}}, %[[DX]]
func.func @powers(%x: tensor<3xf32>, %lb: index, %ub: index, %st: index) -> tensor<3xf32> {
  %xs = knet.exp %x : tensor<3xf32>
  %y = scf.for %i = %lb to %ub step %st iter_args(%a = %x) -> (tensor<3xf32>) {
    %ii = arith.index_cast %i : index to i64
    %f = knet.scalar %ii : i64 -> tensor<f32>
    %s = knet.mul %xs, %f : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
    %m = knet.mul %a, %s : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
    scf.yield %m : tensor<3xf32>
  }
  return %y : tensor<3xf32>
}
