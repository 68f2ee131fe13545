// Folders and canonicalizations of the knet ops.
// RUN: %knet-opt %s -canonicalize -split-input-file | FileCheck %s

// x * 1, 1 * x, x + 0, 0 + x, x - 0, x / 1 are x.
// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>)
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
  %one = knet.constant dense<1.0> : tensor<f32>
  %zero = knet.constant dense<0.0> : tensor<f32>
  %0 = knet.mul %x, %one : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %1 = knet.mul %one, %x : tensor<f32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %2 = knet.add %x, %zero : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %3 = knet.add %zero, %x : tensor<f32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %4 = knet.sub %x, %zero : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %5 = knet.div %x, %one : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// Not when the constant broadcasts x to a larger shape.
// CHECK-LABEL: func.func @broadcasting_identity
// CHECK: knet.mul
func.func @broadcasting_identity(%x: tensor<4xf32>) -> tensor<3x4xf32> {
  %one = knet.constant dense<1.0> : tensor<3x4xf32>
  %0 = knet.mul %x, %one : tensor<4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Splat constants fold; x / 0 is left to the runtime.
// CHECK-LABEL: func.func @constants
// CHECK-DAG: %[[A:.*]] = knet.constant dense<5.000000e+00> : tensor<2xf32>
// CHECK-DAG: %[[B:.*]] = knet.constant dense<-6> : tensor<3xi64>
// CHECK-DAG: %[[C:.*]] = knet.constant dense<-2.000000e+00> : tensor<f64>
// CHECK-DAG: %[[D:.*]] = knet.div
// CHECK: return %[[A]], %[[B]], %[[C]], %[[D]]
func.func @constants() -> (tensor<2xf32>, tensor<3xi64>, tensor<f64>, tensor<f32>) {
  %a = knet.constant dense<2.0> : tensor<2xf32>
  %b = knet.constant dense<3.0> : tensor<f32>
  %0 = knet.add %a, %b : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  %i = knet.constant dense<2> : tensor<3xi64>
  %j = knet.constant dense<-3> : tensor<3xi64>
  %1 = knet.mul %i, %j : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  %d = knet.constant dense<2.0> : tensor<f64>
  %2 = knet.neg %d : tensor<f64>
  %z = knet.constant dense<0.0> : tensor<f32>
  %3 = knet.div %b, %z : tensor<f32>, tensor<f32> -> tensor<f32>
  return %0, %1, %2, %3 : tensor<2xf32>, tensor<3xi64>, tensor<f64>, tensor<f32>
}

// -----

// Double transposes and negations cancel; permutes compose.
// CHECK-LABEL: func.func @involutions
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>, %[[Y:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[P:.*]] = knet.permute %[[Y]] [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[P]]
func.func @involutions(%x: tensor<3x4xf32>, %y: tensor<2x3x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<4x2x3xf32>) {
  %t = knet.transpose %x, 0, 1 : tensor<3x4xf32> -> tensor<4x3xf32>
  %0 = knet.transpose %t, 1, 0 : tensor<4x3xf32> -> tensor<3x4xf32>
  %n = knet.neg %x : tensor<3x4xf32>
  %1 = knet.neg %n : tensor<3x4xf32>
  %2 = knet.transpose %x, -1, 1 : tensor<3x4xf32> -> tensor<3x4xf32>
  %p = knet.permute %y [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %3 = knet.permute %p [1, 2, 0] : tensor<3x4x2xf32> -> tensor<4x2x3xf32>
  return %0, %1, %2, %3 : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<4x2x3xf32>
}

// -----

// sum_to, broadcast_to, reshape_like and reshape to the same shape are x.
// CHECK-LABEL: func.func @same_shape
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>, %{{.*}}: tensor<3x4xf32>, %[[D:.*]]: tensor<?x4xf32>, %{{.*}}: i64)
// CHECK: %[[S:.*]] = knet.sum_to %[[D]]
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]], %[[D]], %[[S]]
func.func @same_shape(%x: tensor<3x4xf32>, %l: tensor<3x4xf32>, %d: tensor<?x4xf32>, %n: i64) -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<?x4xf32>, tensor<4xf32>) {
  %0 = knet.sum_to %x like %l : tensor<3x4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %1 = knet.broadcast_to %x like %l : tensor<3x4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %2 = knet.reshape_like %x like %l : tensor<3x4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %3 = knet.reshape %x(%n, %n) : tensor<3x4xf32> -> tensor<3x4xf32>
  %4 = knet.sum_to %d like %d : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %b = knet.constant dense<0.0> : tensor<4xf32>
  %5 = knet.sum_to %d like %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<?x4xf32>, tensor<4xf32>
}

// -----

// Static sizes fold to constants; lists built in place fold.
// CHECK-LABEL: func.func @sizes
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>, %[[A:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[N:.*]] = knet.size %[[X]], 0
// CHECK: return %[[C4]], %[[N]], %[[C2]], %[[B]]
func.func @sizes(%x: tensor<?x4xf32>, %a: tensor<3xf32>, %b: tensor<3xf32>) -> (i64, i64, index, tensor<3xf32>) {
  %0 = knet.size %x, -1 : tensor<?x4xf32>
  %1 = knet.size %x, 0 : tensor<?x4xf32>
  %l = knet.list_make %a, %b : tensor<3xf32>, tensor<3xf32> -> !knet.list<tensor<3xf32>>
  %2 = knet.list_size %l : !knet.list<tensor<3xf32>>
  %i = arith.constant 1 : index
  %3 = knet.list_get %l[%i] : !knet.list<tensor<3xf32>>
  return %0, %1, %2, %3 : i64, i64, index, tensor<3xf32>
}

// -----

// Unused pure ops go; dropout and the stack keep their effects.
// CHECK-LABEL: func.func @effects
// CHECK-NOT: knet.relu
// CHECK: knet.dropout
// CHECK: knet.stack_push
func.func @effects(%x: tensor<4xf32>) {
  %0 = knet.relu %x : tensor<4xf32>
  %1 = knet.dropout %x p 0.5 : tensor<4xf32>
  %s = knet.stack_new : !knet.stack<tensor<4xf32>>
  knet.stack_push %s, %x : !knet.stack<tensor<4xf32>>
  return
}

// -----

// A pop right after a push of the same stack is the pushed value (the pair
// and the then unused stack go); a push followed by another use of the stack
// stays.
// CHECK-LABEL: func.func @push_pop
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[Y:.*]]: tensor<4xf32>, %[[C:.*]]: i1)
// CHECK-NEXT: %[[S:.*]] = knet.stack_new
// CHECK-NEXT: knet.stack_push %[[S]], %[[X]]
// CHECK-NEXT: scf.if %[[C]] {
// CHECK-NEXT:   knet.stack_push %[[S]], %[[Y]]
// CHECK-NEXT: }
// CHECK-NEXT: %[[P:.*]] = knet.stack_pop %[[S]]
// CHECK-NEXT: %[[R:.*]] = knet.exp %[[P]]
// CHECK-NEXT: return %[[X]], %[[R]]
func.func @push_pop(%x: tensor<4xf32>, %y: tensor<4xf32>, %c: i1) -> (tensor<4xf32>, tensor<4xf32>) {
  %s = knet.stack_new : !knet.stack<tensor<4xf32>>
  %t = knet.stack_new : !knet.stack<tensor<4xf32>>
  knet.stack_push %t, %x : !knet.stack<tensor<4xf32>>
  %a = knet.stack_pop %t : !knet.stack<tensor<4xf32>>
  knet.stack_push %s, %x : !knet.stack<tensor<4xf32>>
  scf.if %c {
    knet.stack_push %s, %y : !knet.stack<tensor<4xf32>>
  }
  %b = knet.stack_pop %s : !knet.stack<tensor<4xf32>>
  %r = knet.exp %b : tensor<4xf32>
  return %a, %r : tensor<4xf32>, tensor<4xf32>
}
