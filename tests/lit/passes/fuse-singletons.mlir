// knet-fuse singletons=true: a lone member op, and a lone reduction of a
// value no member computes, become kernels too (the runtime's single-op
// kernels, runtime/jit/op_kernels.mlir). Without the option (DEFAULT) they
// stay runtime calls. Groups are formed as without it.
// RUN: %knet-opt %s --knet-fuse=singletons=true -split-input-file | FileCheck %s
// RUN: %knet-opt %s --knet-fuse -split-input-file | FileCheck %s --check-prefix=DEFAULT

// A lone elementwise op is a one-member kernel.
// CHECK-LABEL: func.func @lone
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[K:.*]] = knet.fused(%[[X]], %[[B]]) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1> {
// CHECK-NEXT: ^bb0(%[[A0:.*]]: f32, %[[A1:.*]]: f32):
// CHECK-NEXT: %[[C:.*]] = arith.cmpf olt, %[[A0]], %[[A1]] : f32
// CHECK-NEXT: knet.yield %[[C]] : i1
// CHECK-NEXT: } fallback {
// CHECK-NEXT: ^bb0(%[[T0:.*]]: tensor<?x4xf32>, %[[T1:.*]]: tensor<4xf32>):
// CHECK-NEXT: %[[L:.*]] = knet.lt %[[T0]], %[[T1]]
// CHECK-NEXT: knet.yield %[[L]] : tensor<?x4xi1>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[K]]
// DEFAULT-LABEL: func.func @lone
// DEFAULT-NOT: knet.fused
// DEFAULT: knet.lt
func.func @lone(%x: tensor<?x4xf32>, %b: tensor<4xf32>) -> tensor<?x4xi1> {
  %0 = knet.lt %x, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xi1>
  return %0 : tensor<?x4xi1>
}

// -----

// A reduction of a function argument (no member computes it) is a kernel of
// no members, with its dims and keepdim; so is a lone sum_to. A reduction
// of a matmul result too.
// CHECK-LABEL: func.func @lone_reductions
// CHECK: %[[S:.*]] = knet.fused(%[[X:.*]]) reduce mean dims [1] keepdim : (tensor<?x10xf32>) -> tensor<?x1xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32):
// CHECK-NEXT: knet.yield %[[A]] : f32
// CHECK-NEXT: } fallback {
// CHECK: knet.mean %{{.*}} dims [1] keepdim
// CHECK: %[[T:.*]] = knet.fused(%[[X]], %{{.*}}) reduce sum_to : (tensor<?x10xf32>, tensor<10xf32>) -> tensor<10xf32> {
// CHECK: knet.sum_to
// CHECK: %[[M:.*]] = knet.matmul
// CHECK: %[[R:.*]] = knet.fused(%[[M]]) reduce max : (tensor<?x?xf32>) -> tensor<f32> {
// CHECK: return %[[S]], %[[T]], %[[R]]
// DEFAULT-LABEL: func.func @lone_reductions
// DEFAULT-NOT: knet.fused
// DEFAULT: return
func.func @lone_reductions(%x: tensor<?x10xf32>, %b: tensor<10xf32>, %w: tensor<10x?xf32>) -> (tensor<?x1xf32>, tensor<10xf32>, tensor<f32>) {
  %0 = knet.mean %x dims [1] keepdim : tensor<?x10xf32> -> tensor<?x1xf32>
  %1 = knet.sum_to %x like %b : tensor<?x10xf32>, tensor<10xf32> -> tensor<10xf32>
  %2 = knet.matmul %x, %w : tensor<?x10xf32>, tensor<10x?xf32> -> tensor<?x?xf32>
  %3 = knet.max %2 : tensor<?x?xf32> -> tensor<f32>
  return %0, %1, %3 : tensor<?x1xf32>, tensor<10xf32>, tensor<f32>
}

// -----

// Groups are formed as without the option: a chain is one kernel, a member
// only a reduction reads is recomputed there (no kernel of its own), and
// integer tensors are never fused.
// CHECK-LABEL: func.func @groups
// CHECK: %[[K:.*]] = knet.fused(%{{.*}}, %{{.*}}) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32> {
// CHECK: } fallback {
// CHECK: knet.add
// CHECK-NEXT: knet.tanh
// CHECK: %[[R:.*]] = knet.fused(%{{.*}}) reduce sum : (tensor<?xf32>) -> tensor<f32> {
// CHECK: } fallback {
// CHECK: knet.exp
// CHECK-NEXT: knet.sum
// CHECK-NOT: knet.fused
// CHECK: knet.add %{{.*}}, %{{.*}} : tensor<?xi64>
// CHECK: return %[[K]], %[[R]]
// DEFAULT-LABEL: func.func @groups
// DEFAULT-COUNT-2: knet.fused
// DEFAULT-NOT: knet.fused
func.func @groups(%x: tensor<?xf32>, %y: tensor<?xf32>, %i: tensor<?xi64>) -> (tensor<?xf32>, tensor<f32>, tensor<?xi64>) {
  %0 = knet.add %x, %y : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32>
  %1 = knet.tanh %0 : tensor<?xf32>
  %2 = knet.exp %x : tensor<?xf32>
  %3 = knet.sum %2 : tensor<?xf32> -> tensor<f32>
  %4 = knet.add %i, %i : tensor<?xi64>, tensor<?xi64> -> tensor<?xi64>
  return %1, %3, %4 : tensor<?xf32>, tensor<f32>, tensor<?xi64>
}
