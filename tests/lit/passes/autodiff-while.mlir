// knet-autodiff over scf.while (a data-dependent trip count): the forward
// loop counts the executions of its `do` region in an extra index iter_arg;
// the reverse first reverses the last execution of the condition region
// (the one that left the loop), then runs an scf.for over the count, each
// iteration reversing `do` and then the condition region before it.
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse | FileCheck %s

// CHECK-LABEL: func.func @grow_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<3xf32>, %[[W:[a-z0-9]+]]: tensor<3xf32>, %[[D:[a-z0-9]+]]: tensor<3xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[SA:.*]] = knet.stack_new : !knet.stack<tensor<3xf32>>
// CHECK-DAG: %[[ST:.*]] = knet.stack_new : !knet.stack<tensor<3xf32>>
// CHECK: %[[LOOP:.*]]:2 = scf.while (%[[A:.*]] = %[[X]], %[[CNT:.*]] = %[[C0]]) : (tensor<3xf32>, index) -> (tensor<3xf32>, index) {
// CHECK:   %[[T:.*]] = knet.tanh %[[A]]
// CHECK:   knet.stack_push %[[ST]], %[[T]]
// CHECK:   scf.condition(%{{.*}}) %[[T]], %[[CNT]] : tensor<3xf32>, index
// CHECK: } do {
// CHECK: ^bb0(%[[B:.*]]: tensor<3xf32>, %[[CNTB:.*]]: index):
// CHECK:   knet.stack_push %[[SA]], %[[B]]
// CHECK:   %[[E:.*]] = knet.mul %[[B]], %[[W]]
// CHECK:   %[[NEXT:.*]] = arith.addi %[[CNTB]], %[[C1]] : index
// CHECK:   scf.yield %[[E]], %[[NEXT]] : tensor<3xf32>, index
// CHECK: }
// The last condition region: tanh's adjoint from the result's cotangent.
// CHECK: %[[TL:.*]] = knet.stack_pop %[[ST]] {knet.reverse}
// CHECK: %[[DA:.*]] = knet.tanh_back %[[D]], %[[TL]] {knet.reverse}
// CHECK: %[[ZW:.*]] = knet.zeros_like %[[W]] {knet.reverse}
// CHECK: %[[R:.*]]:2 = scf.for %{{.*}} = %[[C0]] to %[[LOOP]]#1 step %[[C1]] iter_args(%[[DAI:.*]] = %[[DA]], %[[DW:.*]] = %[[ZW]]) -> (tensor<3xf32>, tensor<3xf32>) {
// CHECK:   %[[BP:.*]] = knet.stack_pop %[[SA]]
// CHECK:   %[[DB:.*]] = knet.mul %[[DAI]], %[[W]]
// CHECK:   %[[DWI:.*]] = knet.mul %[[DAI]], %[[BP]]
// CHECK:   %[[DWN:.*]] = knet.add %[[DW]], %[[DWI]]
// CHECK:   %[[TP:.*]] = knet.stack_pop %[[ST]]
// CHECK:   %[[DAN:.*]] = knet.tanh_back %[[DB]], %[[TP]]
// CHECK:   scf.yield %[[DAN]], %[[DWN]]
// CHECK: } {knet.reverse}
// CHECK: return %[[LOOP]]#0, %[[R]]#0, %[[R]]#1
func.func @grow(%x: tensor<3xf32>, %w: tensor<3xf32>) -> tensor<3xf32> {
  %lim = arith.constant 10.0 : f32
  %r = scf.while (%a = %x) : (tensor<3xf32>) -> tensor<3xf32> {
    %t = knet.tanh %a : tensor<3xf32>
    %s = knet.sum %t : tensor<3xf32> -> tensor<f32>
    %v = knet.item %s : tensor<f32> -> f32
    %c = arith.cmpf olt, %v, %lim : f32
    scf.condition(%c) %t : tensor<3xf32>
  } do {
  ^bb0(%b: tensor<3xf32>):
    %e = knet.mul %b, %w : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
    scf.yield %e : tensor<3xf32>
  }
  return %r : tensor<3xf32>
}

// A while whose result does not depend on the differentiable argument gets
// no counter and no reverse loop.
// CHECK-LABEL: func.func @inactive_grad(
// CHECK: scf.while (%{{.*}} = %{{.*}}) : (i64) -> i64
// CHECK-NOT: scf.for
// CHECK: return
func.func @inactive(%x: tensor<3xf32>, %n: i64) -> (tensor<3xf32>, i64) {
  %one = arith.constant 1 : i64
  %r = scf.while (%i = %n) : (i64) -> i64 {
    %c = arith.cmpi sgt, %i, %one : i64
    scf.condition(%c) %i : i64
  } do {
  ^bb0(%j: i64):
    %k = arith.shrsi %j, %one : i64
    scf.yield %k : i64
  }
  %y = knet.exp %x : tensor<3xf32>
  return %y, %r : tensor<3xf32>, i64
}
