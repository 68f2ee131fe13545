// knet-fuse: which elementwise ops become one knet.fused kernel, and which
// do not.
// RUN: %knet-opt %s -knet-fuse -split-input-file | FileCheck %s

// A chain over broadcast operands becomes one kernel; the replaced ops stay
// in its fallback region.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[K:.*]] = knet.fused(%[[X]], %[[B]]) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32> {
// CHECK-NEXT: ^bb0(%[[A0:.*]]: f32, %[[A1:.*]]: f32):
// CHECK-NEXT: arith.constant 0.0
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[A0]], %[[A1]] : f32
// CHECK: arith.cmpf ogt, %[[S]]
// CHECK: arith.select
// CHECK: math.tanh
// CHECK: knet.yield %{{.*}} : f32
// CHECK-NEXT: } fallback {
// CHECK-NEXT: ^bb0(%[[T0:.*]]: tensor<?x4xf32>, %[[T1:.*]]: tensor<4xf32>):
// CHECK-NEXT: knet.add %[[T0]], %[[T1]]
// CHECK-NEXT: knet.relu
// CHECK-NEXT: knet.tanh
// CHECK-NEXT: knet.yield %{{.*}} : tensor<?x4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[K]]
func.func @chain(%x: tensor<?x4xf32>, %b: tensor<4xf32>) -> tensor<?x4xf32> {
  %0 = knet.add %x, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %1 = knet.relu %0 : tensor<?x4xf32>
  %2 = knet.tanh %1 : tensor<?x4xf32>
  return %2 : tensor<?x4xf32>
}

// -----

// Not across a matmul: the chain before it and the chain after it are two
// kernels, and the matmul stays a library call between them.
// CHECK-LABEL: func.func @across_matmul
// CHECK: %[[K0:.*]]:2 = knet.fused
// CHECK: } fallback {
// CHECK: %[[M:.*]] = knet.matmul %[[K0]]#1
// CHECK: %[[K1:.*]] = knet.fused(%[[M]], %[[K0]]#0)
// CHECK: return %[[K1]]
func.func @across_matmul(%x: tensor<?x?xf32>, %w: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = knet.exp %x : tensor<?x?xf32>
  %1 = knet.sigm %0 : tensor<?x?xf32>
  %2 = knet.matmul %1, %w : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
  %3 = knet.tanh %2 : tensor<?x?xf32>
  %4 = knet.mul %3, %0 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
  return %4 : tensor<?x?xf32>
}

// -----

// A lone elementwise op is left to the runtime (nothing to fuse), and
// integer tensors are never fused.
// CHECK-LABEL: func.func @alone
// CHECK-NOT: knet.fused
// CHECK: knet.relu
// CHECK: knet.add %{{.*}}, %{{.*}} : tensor<?xi64>
// CHECK: knet.mul %{{.*}}, %{{.*}} : tensor<?xi64>
func.func @alone(%x: tensor<?xf32>, %i: tensor<?xi64>) -> (tensor<?xf32>, tensor<?xi64>) {
  %0 = knet.relu %x : tensor<?xf32>
  %1 = knet.add %i, %i : tensor<?xi64>, tensor<?xi64> -> tensor<?xi64>
  %2 = knet.mul %1, %i : tensor<?xi64>, tensor<?xi64> -> tensor<?xi64>
  return %0, %1 : tensor<?xf32>, tensor<?xi64>
}

// -----

// A reduction closes a kernel: the sum of squared differences is one
// reduction kernel; a reduction over dims keeps its dims.
// CHECK-LABEL: func.func @reductions
// CHECK: %[[R:.*]] = knet.fused(%{{.*}}, %{{.*}}) reduce sum : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32> {
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: } fallback {
// CHECK: knet.sum
// CHECK: %[[M:.*]] = knet.fused(%{{.*}}) reduce max dims [1] keepdim : (tensor<?x10xf32>) -> tensor<?x1xf32> {
// CHECK: math.exp
// CHECK: return %[[R]], %[[M]]
func.func @reductions(%x: tensor<?x10xf32>, %y: tensor<?x10xf32>) -> (tensor<f32>, tensor<?x1xf32>) {
  %0 = knet.sub %x, %y : tensor<?x10xf32>, tensor<?x10xf32> -> tensor<?x10xf32>
  %1 = knet.mul %0, %0 : tensor<?x10xf32>, tensor<?x10xf32> -> tensor<?x10xf32>
  %2 = knet.sum %1 : tensor<?x10xf32> -> tensor<f32>
  %3 = knet.exp %x : tensor<?x10xf32>
  %4 = knet.max %3 dims [1] keepdim : tensor<?x10xf32> -> tensor<?x1xf32>
  return %2, %4 : tensor<f32>, tensor<?x1xf32>
}

// -----

// A bias gradient: relu_back reduced to the bias's shape in one pass
// (reduce sum_to; the like is the last input, read for its shape only).
// CHECK-LABEL: func.func @bias_grad
// CHECK: %[[DB:.*]] = knet.fused(%[[DY:.*]], %[[Y:.*]], %[[B:.*]]) reduce sum_to : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<8xf32>) -> tensor<8xf32> {
// CHECK: knet.relu_back
// CHECK: knet.sum_to
// CHECK: return %[[DB]]
func.func @bias_grad(%dy: tensor<?x8xf32>, %y: tensor<?x8xf32>, %b: tensor<8xf32>) -> tensor<8xf32> {
  %0 = knet.relu_back %dy, %y : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  %1 = knet.sum_to %0 like %b : tensor<?x8xf32>, tensor<8xf32> -> tensor<8xf32>
  return %1 : tensor<8xf32>
}

// -----

// A sum_to inside a chain is the identity when its operand already has the
// shape of its like; the kernel says so in `checks` (inputs 0 and 1 must
// broadcast to the shape of input 1), else its fallback runs.
// CHECK-LABEL: func.func @sum_to_inside
// CHECK: knet.fused(%{{.*}}, %{{.*}}) checks [array<i64: 2, 0, 1, 1>]
// CHECK: } fallback {
// CHECK-NOT: knet.fused
// CHECK: return
func.func @sum_to_inside(%dy: tensor<*xf32>, %x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.mul %dy, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.sum_to %0 like %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %2 = knet.tanh_back %1, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %2 : tensor<*xf32>
}

// -----

// The cap on inputs per kernel (max-inputs) splits a long chain.
// RUN: %knet-opt %s -knet-fuse="max-inputs=2" -split-input-file | FileCheck %s --check-prefix=CAP
// CAP-LABEL: func.func @capped
// CAP-COUNT-2: knet.fused
func.func @capped(%a: tensor<?xf32>, %b: tensor<?xf32>, %c: tensor<?xf32>, %d: tensor<?xf32>) -> tensor<?xf32> {
  %0 = knet.add %a, %b : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32>
  %1 = knet.exp %0 : tensor<?xf32>
  %2 = knet.mul %1, %c : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32>
  %3 = knet.mul %2, %d : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32>
  %4 = knet.sin %3 : tensor<?xf32>
  return %4 : tensor<?xf32>
}

// -----

// A chain's reduction and its other uses in one kernel: relu_back's result
// (read by a matmul) and the bias gradient summed from it. The fallback is
// the two kernels it merges: the elementwise one, then the reduction.
// CHECK-LABEL: func.func @relu_back_and_bias_grad(
// CHECK: %[[K:.*]]:2 = knet.fused(%arg0, %arg1, %arg2) reduce sum_to : (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>)
// CHECK: knet.yield %[[V:.*]], %[[V]] : f32, f32
// CHECK: } fallback {
// CHECK: %[[E:.*]] = knet.fused(
// CHECK: knet.relu_back
// CHECK: %[[R:.*]] = knet.fused({{.*}}) reduce sum_to
// CHECK: knet.relu_back
// CHECK: knet.sum_to
// CHECK: knet.yield %[[R]], %[[E]] : tensor<*xf32>, tensor<*xf32>
// CHECK-NOT: knet.relu_back
// CHECK: knet.matmul %[[K]]#1,
// CHECK: return %[[K]]#0,
func.func @relu_back_and_bias_grad(%g: tensor<*xf32>, %y: tensor<*xf32>, %b: tensor<*xf32>, %w: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  %r = knet.relu_back %g, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %dw = knet.matmul %r, %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %db = knet.sum_to %r like %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %db, %dw : tensor<*xf32>, tensor<*xf32>
}

// -----

// No merge when the reduction's like belongs to another group, whose kernel
// is placed after the merged one would be (the like would not dominate it):
// the reduction stays a kernel of its own.
// CHECK-LABEL: func.func @like_in_another_group(
// CHECK: knet.fused({{.*}}) reduce sum_to {{.*}}) -> tensor<*xf32> {
// CHECK: return
func.func @like_in_another_group(%x: tensor<*xf32>, %y: tensor<*xf32>, %z: tensor<*xf32>, %w: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %l = knet.exp %x : tensor<*xf32>
  %a = knet.mul %y, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %b = knet.add %a, %z : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %l2 = knet.neg %l : tensor<*xf32>
  %u = knet.matmul %l2, %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %s = knet.sum_to %b like %l : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %v = knet.matmul %b, %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %u, %s, %v : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
