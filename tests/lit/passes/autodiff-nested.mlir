// knet-autodiff over nested loops and a branch in a loop: one stack per
// saved value, created at the function's entry, so that the pushes of all
// iterations of all levels pop back in reverse order; the branch condition
// of each iteration is saved too (an i1 stack).
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse | FileCheck %s

// CHECK-LABEL: func.func @nested_grad(
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<4x4xf32>, %[[X:[a-z0-9]+]]: tensor<?x4xf32>, %[[N:[a-z0-9]+]]: i64, %[[M:[a-z0-9]+]]: i64, %[[D:[a-z0-9]+]]: tensor<f32>)
// CHECK-DAG: %[[SG:.*]] = knet.stack_new : !knet.stack<tensor<?x4xf32>>
// CHECK-DAG: %[[SS:.*]] = knet.stack_new : !knet.stack<tensor<?x4xf32>>
// CHECK-DAG: %[[SR:.*]] = knet.stack_new : !knet.stack<tensor<?x4xf32>>
// CHECK-DAG: %[[SC:.*]] = knet.stack_new : !knet.stack<i1>
// CHECK: %[[Y:.*]] = scf.for %[[I:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[H:.*]] = %[[X]])
// CHECK:   %[[Z:.*]] = scf.for %{{.*}} = %{{.*}} to %[[M]] step %{{.*}} iter_args(%[[G:.*]] = %[[H]])
// CHECK:     knet.stack_push %[[SG]], %[[G]]
// CHECK:     %[[S:.*]] = knet.sigm
// CHECK:     knet.stack_push %[[SS]], %[[S]]
// CHECK:   %[[C:.*]] = arith.cmpi eq
// CHECK:   knet.stack_push %[[SC]], %[[C]]
// CHECK:   scf.if %[[C]]
// CHECK:     %[[R:.*]] = knet.relu %[[Z]]
// CHECK:     knet.stack_push %[[SR]], %[[R]]
// CHECK: %[[L:.*]] = knet.sum %[[Y]]
// CHECK: %[[DY:.*]] = knet.broadcast_to %[[D]] like %[[Y]] {knet.reverse}
// CHECK: %[[ZW:.*]] = knet.zeros_like %[[W]] {knet.reverse}
// CHECK: %[[OUT:.*]]:2 = scf.for %{{.*}} iter_args(%[[DH:.*]] = %[[DY]], %[[DW:.*]] = %[[ZW]])
// CHECK:   %[[CP:.*]] = knet.stack_pop %[[SC]]
// CHECK:   %[[DZ:.*]] = scf.if %[[CP]] -> (tensor<?x4xf32>) {
// CHECK:     %[[RP:.*]] = knet.stack_pop %[[SR]]
// CHECK:     %[[DR:.*]] = knet.relu_back %[[DH]], %[[RP]]
// CHECK:     scf.yield %[[DR]]
// CHECK:   } else {
// CHECK:     scf.yield %[[DH]]
// CHECK:   }
// CHECK:   %[[IN:.*]]:2 = scf.for %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[DG:.*]] = %[[DZ]], %[[DWI:.*]] = %[[DW]])
// CHECK:     knet.stack_pop %[[SS]]
// CHECK:     knet.stack_pop %[[SG]]
// CHECK:     knet.sigm_back %[[DG]]
// CHECK:     knet.add %[[DWI]]
// CHECK:     scf.yield
// CHECK:   scf.yield %[[IN]]#0, %[[IN]]#1
// CHECK: } {knet.reverse}
// CHECK: return %[[L]], %[[OUT]]#1, %[[OUT]]#0
func.func @nested(%w: tensor<4x4xf32>, %x: tensor<?x4xf32>, %n: i64, %m: i64) -> tensor<f32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %y = scf.for %i = %c0 to %n step %c1 iter_args(%h = %x) -> (tensor<?x4xf32>) : i64 {
    %z = scf.for %j = %c0 to %m step %c1 iter_args(%g = %h) -> (tensor<?x4xf32>) : i64 {
      %a = knet.matmul %g, %w : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
      %s = knet.sigm %a : tensor<?x4xf32>
      scf.yield %s : tensor<?x4xf32>
    }
    %k = arith.constant 2 : i64
    %odd = arith.remsi %i, %k : i64
    %c = arith.cmpi eq, %odd, %c0 : i64
    %r = scf.if %c -> tensor<?x4xf32> {
      %t = knet.relu %z : tensor<?x4xf32>
      scf.yield %t : tensor<?x4xf32>
    } else {
      scf.yield %z : tensor<?x4xf32>
    }
    scf.yield %r : tensor<?x4xf32>
  }
  %l = knet.sum %y : tensor<?x4xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// A while loop inside a for loop: the inner trip count is a forward value
// of the outer body, pushed per outer iteration.
// CHECK-LABEL: func.func @while_in_for_grad(
// CHECK: %[[SN:.*]] = knet.stack_new : !knet.stack<index>
// CHECK: scf.for
// CHECK:   %[[INNER:.*]]:2 = scf.while
// CHECK:   knet.stack_push %[[SN]], %[[INNER]]#1
// CHECK: scf.for
// CHECK:   %[[NP:.*]] = knet.stack_pop %[[SN]]
// CHECK:   scf.for %{{.*}} = %{{.*}} to %[[NP]]
// CHECK: } {knet.reverse}
func.func @while_in_for(%x: tensor<f64>, %n: index) -> tensor<f64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %lim = arith.constant 100.0 : f64
  %y = scf.for %i = %c0 to %n step %c1 iter_args(%h = %x) -> (tensor<f64>) {
    %r = scf.while (%a = %h) : (tensor<f64>) -> tensor<f64> {
      %s = knet.item %a : tensor<f64> -> f64
      %c = arith.cmpf olt, %s, %lim : f64
      scf.condition(%c) %a : tensor<f64>
    } do {
    ^bb0(%b: tensor<f64>):
      %e = knet.mul %b, %b : tensor<f64>, tensor<f64> -> tensor<f64>
      scf.yield %e : tensor<f64>
    }
    %t = knet.sin %r : tensor<f64>
    scf.yield %t : tensor<f64>
  }
  return %y : tensor<f64>
}
